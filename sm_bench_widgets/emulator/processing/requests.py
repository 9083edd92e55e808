"""CreateProcessingJob requests: AWS's constraint checks, and what the local runner supports.

Constraint failures are worded as SageMaker words them ("1 validation error detected:
Value null at 'processingJobName' failed to satisfy constraint: Member must not be
null"); features the local runner cannot run are refused with a ValidationException that
says so, before any job exists.
"""

from __future__ import annotations

import re
from typing import Any

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
S3_URI_PATTERN = r"^(https|s3)://([^/]+)/?(.*)$"
MAX_INSTANCES = 100
MAX_VOLUME_GB = 16384
MAX_RUNTIME_S = 777600
OPT_ML = "/opt/ml/"
UNSUPPORTED = "is not supported by the local emulator"


class RequestError(Exception):
    """A request SageMaker would refuse: its error code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _null(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def _bad(value: Any, path: str, constraint: str) -> str:
    return f"Value '{value}' at '{path}' failed to satisfy constraint: Member must {constraint}"


def _range_problem(value: Any, path: str, low: int, high: int) -> str | None:
    """AWS's words for an integer member outside ``low``..``high`` (None when inside)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return _bad(value, path, "be an integer")
    if number < low:
        return _bad(value, path, f"have value greater than or equal to {low}")
    if number > high:
        return _bad(value, path, f"have value less than or equal to {high}")
    return None


def constraint_problems(req: dict[str, Any]) -> list[str]:
    """The AWS constraint failures of a CreateProcessingJob request, in AWS's words."""
    problems: list[str] = []
    name = req.get("ProcessingJobName")
    if name is None:
        problems.append(_null("processingJobName"))
    elif not re.fullmatch(NAME_PATTERN, str(name)):
        problems.append(
            _bad(name, "processingJobName", f"satisfy regular expression pattern: {NAME_PATTERN}")
        )
    cluster = (req.get("ProcessingResources") or {}).get("ClusterConfig")
    if req.get("ProcessingResources") is None:
        problems.append(_null("processingResources"))
    elif cluster is None:
        problems.append(_null("processingResources.clusterConfig"))
    else:
        for member, path, high in (
            ("InstanceCount", "instanceCount", MAX_INSTANCES),
            ("VolumeSizeInGB", "volumeSizeInGB", MAX_VOLUME_GB),
        ):
            where = f"processingResources.clusterConfig.{path}"
            if cluster.get(member) is None:
                problems.append(_null(where))
            elif problem := _range_problem(cluster[member], where, 1, high):
                problems.append(problem)
        if cluster.get("InstanceType") is None:
            problems.append(_null("processingResources.clusterConfig.instanceType"))
    app = req.get("AppSpecification")
    if app is None:
        problems.append(_null("appSpecification"))
    elif app.get("ImageUri") is None:
        problems.append(_null("appSpecification.imageUri"))
    if req.get("RoleArn") is None:
        problems.append(_null("roleArn"))
    runtime = (req.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    if req.get("StoppingCondition") is not None and runtime is None:
        problems.append(_null("stoppingCondition.maxRuntimeInSeconds"))
    elif runtime is not None and (
        problem := _range_problem(
            runtime, "stoppingCondition.maxRuntimeInSeconds", 1, MAX_RUNTIME_S
        )
    ):
        problems.append(problem)
    for i, item in enumerate(req.get("ProcessingInputs") or [], 1):
        if item.get("InputName") is None:
            problems.append(_null(f"processingInputs.{i}.member.inputName"))
    for i, item in enumerate((req.get("ProcessingOutputConfig") or {}).get("Outputs") or [], 1):
        if item.get("OutputName") is None:
            problems.append(_null(f"processingOutputConfig.outputs.{i}.member.outputName"))
    return problems


def local_problem(req: dict[str, Any]) -> str | None:
    """Why the local runner cannot run this job (None when it can)."""
    entrypoint = (req.get("AppSpecification") or {}).get("ContainerEntrypoint")
    if not entrypoint:
        return (
            "A processing job without AppSpecification.ContainerEntrypoint "
            + UNSUPPORTED
            + ": it runs the job's command as a local process, not the image's default "
            "entrypoint."
        )
    for item in req.get("ProcessingInputs") or []:
        s3 = item.get("S3Input")
        where = f"ProcessingInput {item.get('InputName')}"
        if s3 is None:
            return f"{where}: an input other than S3Input {UNSUPPORTED}."
        if s3.get("S3InputMode", "File") != "File":
            return f"{where}: S3InputMode {s3['S3InputMode']} {UNSUPPORTED}."
        if s3.get("S3DataType") != "S3Prefix":
            return f"{where}: S3DataType {s3.get('S3DataType')} {UNSUPPORTED}."
        if s3.get("S3CompressionType", "None") != "None":
            return f"{where}: S3CompressionType {s3['S3CompressionType']} {UNSUPPORTED}."
        problem = _path_problem(where, s3.get("LocalPath")) or _uri_problem(where, s3.get("S3Uri"))
        if problem:
            return problem
    for item in (req.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        s3 = item.get("S3Output")
        where = f"ProcessingOutput {item.get('OutputName')}"
        if s3 is None:
            return f"{where}: an output other than S3Output {UNSUPPORTED}."
        problem = _path_problem(where, s3.get("LocalPath")) or _uri_problem(where, s3.get("S3Uri"))
        if problem:
            return problem
    return None


def _path_problem(where: str, path: str | None) -> str | None:
    if not path or not path.startswith(OPT_ML) or ".." in path.split("/"):
        return f"{where}: LocalPath {path!r} outside {OPT_ML} {UNSUPPORTED}."
    return None


def _uri_problem(where: str, uri: str | None) -> str | None:
    if not uri or not str(uri).startswith("s3://") or not split_s3_uri(uri)[0]:
        return f"{where}: S3Uri {uri!r} is not an s3:// URI the local emulator can read."
    return None


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` as (bucket, key prefix)."""
    match = re.match(S3_URI_PATTERN, uri)
    if not match:
        return "", ""
    return match.group(2), match.group(3)


def with_defaults(req: dict[str, Any]) -> dict[str, Any]:
    """The request with the defaults SageMaker fills in and describes back."""
    out = {k: v for k, v in req.items() if k not in ("Tags",)}
    for item in out.get("ProcessingInputs") or []:
        s3 = item.get("S3Input")
        if s3 is not None:
            s3.setdefault("S3InputMode", "File")
            s3.setdefault("S3DataDistributionType", "FullyReplicated")
            s3.setdefault("S3CompressionType", "None")
        item.setdefault("AppManaged", False)
    for item in (out.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        s3 = item.get("S3Output")
        if s3 is not None:
            s3.setdefault("S3UploadMode", "EndOfJob")
        item.setdefault("AppManaged", False)
    return out
