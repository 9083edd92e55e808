"""S3 paths of a job and a folder mirror of an S3 prefix (how a handle reads a job's results)."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` as ``("bucket", "key/prefix")``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def join(uri: str, *parts: str) -> str:
    """``uri`` with ``parts`` appended, one slash between each."""
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts if p)])


def upload_folder(s3: Any, folder: Path, uri: str, extra_args: dict[str, str] | None) -> list[str]:
    """Upload every file under ``folder`` to ``uri`` (relative keys kept); the URIs written."""
    bucket, prefix = split_uri(uri)
    written = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = "/".join(filter(None, [prefix.rstrip("/"), path.relative_to(folder).as_posix()]))
        s3.upload_file(str(path), bucket, key, ExtraArgs=extra_args or None)
        written.append(f"s3://{bucket}/{key}")
    return written


def list_keys(s3: Any, uri: str) -> dict[str, tuple[str, int]]:
    """Every key under ``uri`` with its (ETag, size)."""
    bucket, prefix = split_uri(uri)
    found: dict[str, tuple[str, int]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["ETag"], int(item["Size"]))
    return found


def child_folders(s3: Any, uri: str) -> list[str]:
    """The names of the folders directly under ``uri``."""
    bucket, prefix = split_uri(uri)
    prefix = prefix.rstrip("/") + "/"
    names = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            names.append(common["Prefix"][len(prefix) :].strip("/"))
    return sorted(names)


class Mirror:
    """A local folder kept equal to an S3 prefix: ``sync()`` fetches what is new or changed.

    Files are replaced atomically, so a reader never sees half a download.
    """

    def __init__(self, s3: Any, uri: str, folder: Path):
        self._s3 = s3
        self.uri = uri.rstrip("/") + "/"
        self.folder = Path(folder)
        self._seen: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def sync(self) -> int:
        """Download the objects that are new or changed since the last sync; how many."""
        bucket, prefix = split_uri(self.uri)
        with self._lock:
            fetched = 0
            for key, tag in list_keys(self._s3, self.uri).items():
                if self._seen.get(key) == tag or key.endswith("/"):
                    continue
                path = self.folder / key[len(prefix) :]
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
                os.close(handle)
                try:
                    self._s3.download_file(bucket, key, partial)
                    os.replace(partial, path)
                finally:
                    if os.path.exists(partial):
                        os.unlink(partial)
                self._seen[key] = tag
                fetched += 1
            return fetched
