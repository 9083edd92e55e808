"""The one place that builds boto3 clients.

Real AWS and the local emulator differ only in the endpoint URL: a ``Target`` carries it
when the user or the emulator asks for one, and otherwise leaves it to botocore, whose own
resolution honours ``AWS_ENDPOINT_URL``, service-specific variables such as
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` and the config file's ``services`` sections. Nothing
else in the package needs to know which one it talks to.
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


def user_retries(session: boto3.session.Session) -> bool:
    """Whether the user set botocore's retry settings (environment or config file)."""
    core = session._session
    scoped = core.get_scoped_config()
    return (
        core.get_config_variable("max_attempts") is not None
        or "AWS_RETRY_MODE" in os.environ
        or "retry_mode" in scoped
    )


@dataclass
class Target:
    """Where AWS calls go: a region and profile, and optionally an endpoint URL.

    ``endpoint_url`` is passed to every client only when ``endpoint_explicit`` (a URL the
    user or the emulator gave); one read from ``AWS_ENDPOINT_URL`` describes the target but
    is left to botocore, so a service-specific setting still wins over it for its service.
    ``emulated`` marks a target that is the local emulator, so results can be labelled.
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    emulated: bool = False
    max_pool_connections: int = 64
    endpoint_explicit: bool = True
    _session: boto3.session.Session | None = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_environment(cls) -> Target:
        """The target boto3 would use: region, profile and endpoints as botocore resolves
        them (``endpoint_url`` tells ``AWS_ENDPOINT_URL``, for labels only)."""
        return cls(endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, endpoint_explicit=False)

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
        return self._client(service, self.max_pool_connections)

    def runtime_client(self, in_flight: int) -> Any:
        """The ``sagemaker-runtime`` client, its connection pool holding at least
        ``in_flight`` connections (one per client in flight, so none waits for a socket)."""
        return self._client("sagemaker-runtime", max(self.max_pool_connections, in_flight))

    def endpoint_for(self, service: str) -> str:
        """The URL calls to ``service`` go to, as this target resolves it."""
        return self.client(service).meta.endpoint_url

    def _client(self, service: str, pool: int) -> Any:
        with self._lock:
            cached = self._clients.get(service)
        if cached is not None and cached.meta.config.max_pool_connections >= pool:
            return cached
        options: dict[str, Any] = {"max_pool_connections": pool, "read_timeout": 70}
        if not user_retries(self.session):
            # by default invocations are never retried: a throttle is a measurement, not a
            # glitch; a user's own retry settings (AWS_MAX_ATTEMPTS, retry_mode) are kept
            options["retries"] = (
                {"total_max_attempts": 1, "mode": "standard"}
                if service == "sagemaker-runtime"
                else {"max_attempts": 5, "mode": "standard"}
            )
        kwargs: dict[str, Any] = {"config": Config(**options)}
        if self.endpoint_url and self.endpoint_explicit:
            kwargs["endpoint_url"] = self.endpoint_url
        client = self.session.client(service, **kwargs)
        with self._lock:
            cached = self._clients.get(service)
            if cached is None or cached.meta.config.max_pool_connections < pool:
                self._clients[service] = client
            return self._clients[service]
