"""Model artifacts and inference code stored in the emulator's S3, unpacked for a worker.

SageMaker containers get ``ModelDataUrl`` (a ``model.tar.gz``) unpacked in
``/opt/ml/model`` and find their code at ``SAGEMAKER_SUBMIT_DIRECTORY``: an S3
``sourcedir.tar.gz``, or a folder inside the model such as ``/opt/ml/model/code``. The
emulator does the same with objects from its own (moto) S3, unpacking into a cache.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import threading
from urllib.parse import urlparse

CONTAINER_MODEL_DIR = "/opt/ml/model"

_lock = threading.Lock()


class ArtifactError(Exception):
    """An artifact cannot be fetched or unpacked; the message says which and why."""


def read_s3_object(account: str, url: str) -> bytes:
    """The bytes of ``s3://bucket/key`` in the emulator's S3 for ``account``."""
    from sm_bench_widgets.emulator import moto_adapter

    parsed = urlparse(url)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    try:
        obj = moto_adapter.s3_backend(account).get_object(bucket, key)
    except Exception as exc:
        raise ArtifactError(f"{url} cannot be read from the emulator's S3: {exc}") from exc
    if obj is None:
        raise ArtifactError(f"{url} does not exist in the emulator's S3")
    return bytes(obj.value)


def unpack(data: bytes, cache_dir: str, label: str) -> str:
    """Unpack a (gzipped) tar archive into the cache, once per content; the directory."""
    digest = hashlib.sha256(data).hexdigest()[:20]
    dest = os.path.join(cache_dir, digest)
    with _lock:
        if os.path.isdir(dest):
            return dest
        partial = dest + ".partial"
        os.makedirs(partial, exist_ok=True)
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                archive.extractall(partial, filter="data")
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise ArtifactError(f"{label} is not a readable tar archive: {exc}") from exc
        os.replace(partial, dest)
    return dest


def local_or_s3_dir(account: str, location: str, cache_dir: str) -> str | None:
    """A local directory for a path, ``file://`` URL, local tarball or S3 tarball; else None."""
    parsed = urlparse(location)
    if parsed.scheme == "s3":
        return unpack(read_s3_object(account, location), cache_dir, location)
    if parsed.scheme in ("", "file"):
        path = parsed.path if parsed.scheme == "file" else location
        if os.path.isdir(path):
            return path
        if os.path.isfile(path) and tarfile.is_tarfile(path):
            with open(path, "rb") as fh:
                return unpack(fh.read(), cache_dir, location)
    return None


def inside_model_dir(location: str, model_dir: str | None) -> str | None:
    """Map a container path under /opt/ml/model onto the unpacked model directory."""
    if model_dir is None or not location.startswith(CONTAINER_MODEL_DIR):
        return None
    rest = location[len(CONTAINER_MODEL_DIR) :].lstrip("/")
    return os.path.join(model_dir, rest) if rest else model_dir
