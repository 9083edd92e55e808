"""The one place that builds boto3 clients.

Real AWS and the local emulator differ only in the endpoint URL: a ``Target`` carries it
(or leaves it to boto3, which honours ``AWS_ENDPOINT_URL``), so nothing else in the
package needs to know which one it talks to.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"


def has_credentials(profile: str | None = None) -> bool:
    """Whether boto3 would find AWS credentials (environment, profile, role, ...)."""
    return boto3.session.Session(profile_name=profile).get_credentials() is not None


@dataclass
class Target:
    """Where AWS calls go: a region and profile, and optionally an endpoint URL.

    ``emulated`` marks a target that is the local emulator, so results can be labelled.
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    emulated: bool = False
    max_pool_connections: int = 64
    _session: boto3.session.Session | None = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_environment(cls) -> Target:
        """The target boto3 would use: ``AWS_REGION``/profile/``AWS_ENDPOINT_URL``."""
        return cls(endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)

    @classmethod
    def for_emulator(cls, endpoint_url: str, region: str = DEFAULT_REGION) -> Target:
        """A target for a local emulator at ``endpoint_url`` with dummy credentials."""
        return cls(region=region, endpoint_url=endpoint_url, emulated=True)

    @property
    def session(self) -> boto3.session.Session:
        """The boto3 session, created once."""
        with self._lock:
            if self._session is None:
                kwargs: dict[str, Any] = {}
                if self.profile:
                    kwargs["profile_name"] = self.profile
                if self.region:
                    kwargs["region_name"] = self.region
                if self.emulated:
                    kwargs["aws_access_key_id"] = "emulated"
                    kwargs["aws_secret_access_key"] = "emulated"
                session = boto3.session.Session(**kwargs)
                if session.region_name is None:
                    session = boto3.session.Session(region_name=DEFAULT_REGION, **kwargs)
                self._session = session
            return self._session

    @property
    def region_name(self) -> str:
        """The region calls go to."""
        return self.session.region_name or DEFAULT_REGION

    def client(self, service: str) -> Any:
        """A cached, thread-safe boto3 client for ``service`` at this target."""
        with self._lock:
            cached = self._clients.get(service)
        if cached is not None:
            return cached
        config = Config(
            max_pool_connections=self.max_pool_connections,
            # invocations are never retried: a throttle is a measurement, not a glitch
            retries=(
                {"total_max_attempts": 1, "mode": "standard"}
                if service == "sagemaker-runtime"
                else {"max_attempts": 5, "mode": "standard"}
            ),
            read_timeout=70,
        )
        kwargs: dict[str, Any] = {"config": config}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        client = self.session.client(service, **kwargs)
        with self._lock:
            return self._clients.setdefault(service, client)
