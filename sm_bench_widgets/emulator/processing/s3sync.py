"""A job host's S3 traffic: its inputs downloaded, its outputs uploaded (Continuous or at the end).

Both go through boto3 at the emulator's own URL, as a SageMaker host reaches S3.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sm_bench_widgets.emulator.processing.requests import split_s3_uri


class InputError(Exception):
    """An input could not be downloaded; the message is the job's FailureReason."""


def input_keys(s3: Any, uri: str) -> list[str]:
    """Every key under an S3Prefix input's URI, sorted (how ShardedByS3Key splits them)."""
    bucket, prefix = split_s3_uri(uri)
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [
                item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")
            ]
    except s3.exceptions.NoSuchBucket:
        keys = []
    if not keys:
        raise InputError(
            f"ClientError: Failed to download data. No S3 objects found under S3 URL "
            f'"{uri}" given in input data source. Please ensure that the bucket exists, '
            "and that objects exist under that S3 prefix."
        )
    return sorted(keys)


def local_name(prefix: str, key: str) -> str:
    """Where a key lands under the input's LocalPath: its part after the prefix.

    A URI naming one object (the key is the prefix) lands under the object's own name.
    """
    rest = key[len(prefix) :].lstrip("/")
    return rest or posixpath.basename(key)


def download_input(s3: Any, uri: str, keys: list[str], local: Path) -> None:
    """Download ``keys`` of an input at ``uri`` into the folder ``local``."""
    bucket, prefix = split_s3_uri(uri)
    local.mkdir(parents=True, exist_ok=True)
    for key in keys:
        target = local / local_name(prefix, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))


@dataclass
class OutputSync:
    """Uploads the files of one output folder that are new or changed since the last pass."""

    s3: Any
    local: Path
    uri: str
    continuous: bool
    _seen: dict[str, tuple[int, int]] = field(default_factory=dict)

    def sync(self) -> int:
        """Upload what changed; the number of files uploaded."""
        bucket, prefix = split_s3_uri(self.uri)
        prefix = prefix.rstrip("/")
        uploaded = 0
        if not self.local.is_dir():
            return 0
        for root, _dirs, files in os.walk(self.local):
            for name in files:
                path = Path(root) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                rel = path.relative_to(self.local).as_posix()
                mark = (stat.st_size, stat.st_mtime_ns)
                if self._seen.get(rel) == mark:
                    continue
                key = f"{prefix}/{rel}" if prefix else rel
                try:
                    self.s3.upload_file(str(path), bucket, key)
                except FileNotFoundError:
                    continue
                self._seen[rel] = mark
                uploaded += 1
        return uploaded
