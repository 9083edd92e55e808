"""Which SageMaker Models the emulator can run, and how it seeds its own into moto.

A SageMaker Model is hostable when its container environment says what to run:
- ``SM_BENCH_EMULATOR_PROFILE=<name>``: a registered ``ModelProfile`` (the demo models);
- ``SAGEMAKER_PROGRAM`` and ``SAGEMAKER_SUBMIT_DIRECTORY`` (a local path, ``file://`` URL,
  S3 tarball or folder of ``ModelDataUrl``), as the SageMaker inference toolkit reads them:
  a real ``inference.py`` handler.
Registered models are created as SageMaker Models in every region a client talks to.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sm_bench_widgets.emulator import artifacts, moto_adapter
from sm_bench_widgets.emulator.profiles import ModelProfile
from sm_bench_widgets.emulator.runtimes import HandlerSpec, ModelSpec, ProfileSpec

PROFILE_ENV = "SM_BENCH_EMULATOR_PROFILE"
PROGRAM_ENV = "SAGEMAKER_PROGRAM"
SUBMIT_DIR_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"
PROFILE_IMAGE = "sm-bench-widgets/emulated-profile:latest"
HANDLER_IMAGE = "sm-bench-widgets/inference-toolkit:latest"
EXECUTION_ROLE = "arn:aws:iam::{account}:role/sm-bench-emulator"
SEEDED_ATTR = "_sm_bench_seeded_models"


class CannotHost(Exception):
    """The model cannot be run by the emulator; the message is the endpoint FailureReason."""


def handler_spec(
    name: str, env: dict[str, str], model_data_url: str | None, account: str, cache_dir: str
) -> HandlerSpec:
    """A handler spec from SageMaker's container environment; ``CannotHost`` if unusable.

    The code is at ``SAGEMAKER_SUBMIT_DIRECTORY``: a local path or ``file://`` URL, an S3
    ``sourcedir.tar.gz`` in the emulator's S3, or a folder under ``/opt/ml/model`` of the
    unpacked ``ModelDataUrl``.
    """
    program = env.get(PROGRAM_ENV) or "inference.py"
    location = env.get(SUBMIT_DIR_ENV, "")
    try:
        model_dir = (
            artifacts.local_or_s3_dir(account, model_data_url, cache_dir)
            if model_data_url
            else None
        )
        directory = artifacts.inside_model_dir(location, model_dir) or (
            artifacts.local_or_s3_dir(account, location, cache_dir) if location else model_dir
        )
    except artifacts.ArtifactError as exc:
        raise CannotHost(str(exc)) from exc
    if directory is None and location and urlparse(location).scheme in ("", "file"):
        raise CannotHost(f"{SUBMIT_DIR_ENV}={location!r}: the directory does not exist")
    if directory is None:
        raise CannotHost(
            f"{SUBMIT_DIR_ENV}={location!r}: the local emulator runs inference code from a "
            "local directory (a path or file:// URL), an S3 tar.gz in its own S3, or a "
            "folder of the ModelDataUrl archive"
        )
    path = os.path.join(directory, program)
    if not os.path.isfile(path):
        raise CannotHost(f"{SUBMIT_DIR_ENV}={location!r}: {path} does not exist")
    worker_env = dict(env)
    if model_dir is not None:
        worker_env["SM_MODEL_DIR"] = model_dir
    return HandlerSpec(
        name=name, source_dir=os.path.abspath(directory), program=program, env=worker_env
    )


@dataclass
class ModelRegistry:
    """Profiles and models registered with one emulator."""

    profiles: dict[str, ModelProfile] = field(default_factory=dict)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache_dir: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_profile_model(self, name: str, profile: ModelProfile) -> None:
        """Register a profile and a SageMaker Model ``name`` that runs it."""
        if not isinstance(profile, ModelProfile):
            raise TypeError(f"profile: expected a ModelProfile, got {type(profile).__name__}")
        with self._lock:
            self.profiles[name] = profile
            self.containers[name] = {
                "Image": PROFILE_IMAGE,
                "Environment": {PROFILE_ENV: name},
            }

    def add_handler_model(self, name: str, source_dir: str, program: str = "inference.py") -> None:
        """Register a SageMaker Model ``name`` served by ``source_dir/program``."""
        directory = os.path.abspath(os.fspath(source_dir))
        if not os.path.isfile(os.path.join(directory, program)):
            raise FileNotFoundError(f"source_dir={source_dir!r}: no {program} in {directory}")
        with self._lock:
            self.containers[name] = {
                "Image": HANDLER_IMAGE,
                "Environment": {
                    PROGRAM_ENV: program,
                    SUBMIT_DIR_ENV: "file://" + directory,
                },
            }

    def seed(self, backend: Any, account: str) -> None:
        """Create the registered models in a moto sagemaker backend, once per backend.

        The backend object remembers what it was given, so a backend that moto recreated
        (after a reset) is seeded again.
        """
        with self._lock:
            done = backend.__dict__.setdefault(SEEDED_ATTR, set())
            todo = [(n, c) for n, c in self.containers.items() if n not in done]
            done.update(n for n, _ in todo)
        for name, container in todo:
            if name in moto_adapter.sagemaker_models(backend):
                continue
            backend.create_model(
                model_name=name,
                execution_role_arn=EXECUTION_ROLE.format(account=account),
                primary_container=container,
                vpc_config=None,
                containers=None,
                tags=[{"Key": "sm-bench-widgets:emulated", "Value": "true"}],
            )

    def artifact_cache(self) -> str:
        """The directory unpacked artifacts go to (created on first use)."""
        with self._lock:
            if self.cache_dir is None:
                self.cache_dir = tempfile.mkdtemp(prefix="sm-bench-emulator-")
            return self.cache_dir

    def cleanup(self) -> None:
        """Remove unpacked artifacts."""
        with self._lock:
            path, self.cache_dir = self.cache_dir, None
        if path:
            shutil.rmtree(path, ignore_errors=True)

    def resolve(self, model_name: str, model: Any, account: str) -> ModelSpec:
        """The runnable spec of a moto SageMaker Model, or ``CannotHost`` saying why."""
        container = model.primary_container or (model.containers or [{}])[0]
        env = dict(container.get("Environment") or {})
        if PROFILE_ENV in env:
            profile_name = env[PROFILE_ENV]
            profile = self.profiles.get(profile_name)
            if profile is None:
                known = ", ".join(sorted(self.profiles)) or "none"
                raise CannotHost(
                    f"{PROFILE_ENV}={profile_name!r} is not a registered emulator profile "
                    f"(registered: {known})"
                )
            return ProfileSpec(name=model_name, profile=profile)
        if SUBMIT_DIR_ENV in env or PROGRAM_ENV in env:
            return handler_spec(
                model_name, env, container.get("ModelDataUrl"), account, self.artifact_cache()
            )
        raise CannotHost(
            f"The local emulator cannot run model {model_name}: its container image is not "
            f"runnable here. Use a registered model, or set {PROGRAM_ENV} and "
            f"{SUBMIT_DIR_ENV} (a local directory with inference.py) in the container "
            "Environment."
        )
