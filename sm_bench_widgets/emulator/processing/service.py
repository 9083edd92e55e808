"""The Processing-job actions of one emulator: Create, Describe, List and Stop.

CreateProcessingJob is checked here (AWS's constraints, then what the local runner can
run), stored by moto as well (so tags and the tagging API see the job), and started as a
``JobRun``. Describe, List and Stop answer from the runs, in SageMaker's shapes.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sm_bench_widgets.emulator.processing.requests import (
    RequestError,
    constraint_problems,
    local_problem,
    with_defaults,
)
from sm_bench_widgets.emulator.processing.runner import JobRun

ACTIONS = (
    "CreateProcessingJob",
    "DescribeProcessingJob",
    "ListProcessingJobs",
    "StopProcessingJob",
)
DEFAULT_STOP_GRACE_S = 120.0  # SageMaker's time between SIGTERM and SIGKILL
# at a small time scale the scaled grace would be a second or two, yet what a stopping job
# does (deleting its endpoints, writing its results) takes real time: never less than this
MIN_STOP_GRACE_S = 30.0
SORT_KEYS = {
    "CreationTime": lambda run: run.creation_time,
    "Name": lambda run: run.name,
    "Status": lambda run: run.status,
}
STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
MAX_RESULTS = 100
DEFAULT_MAX_RESULTS = 10


def _validation(problems: list[str]) -> RequestError:
    n = len(problems)
    return RequestError(
        "ValidationException",
        f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(problems),
    )


def _arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:processing-job/{name}"


class ProcessingJobs:
    """Every Processing job of one emulator, by region and name."""

    def __init__(
        self,
        account: str,
        endpoint_url: Callable[[], str],
        stop_grace_s: float = DEFAULT_STOP_GRACE_S,
    ):
        self.account = account
        self.endpoint_url = endpoint_url
        self.stop_grace_s = float(stop_grace_s)
        self._runs: dict[tuple[str, str], JobRun] = {}
        self._lock = threading.Lock()

    # -- actions -----------------------------------------------------------------------
    def handle(
        self, action: str, region: str, params: dict[str, Any], store: Callable[[], bool]
    ) -> dict[str, Any]:
        """Answer one action; ``store`` has moto record a created job (False if it refused).

        Raises ``RequestError`` for a request SageMaker would refuse.
        """
        if action == "CreateProcessingJob":
            return self.create(region, params, store)
        if action == "DescribeProcessingJob":
            return self.describe(region, params.get("ProcessingJobName"))
        if action == "ListProcessingJobs":
            return self.list(region, params)
        if action == "StopProcessingJob":
            self.stop(region, params.get("ProcessingJobName"))
            return {}
        raise RequestError("UnknownOperationException", f"{action} is not a Processing action")

    def create(
        self, region: str, params: dict[str, Any], store: Callable[[], bool]
    ) -> dict[str, Any]:
        """CreateProcessingJob: check, store, start; the job's ARN."""
        problems = constraint_problems(params)
        if problems:
            raise _validation(problems)
        problem = local_problem(params)
        if problem:
            raise RequestError("ValidationException", problem)
        name = params["ProcessingJobName"]
        arn = _arn(self.account, region, name)
        with self._lock:
            if (region, name) in self._runs:
                raise RequestError(
                    "ResourceInUse",
                    "Job name must be unique within an AWS account and region, and a job "
                    f"with this name already exists ({arn})",
                )
            run = JobRun(
                with_defaults(copy.deepcopy(params)),
                arn,
                region,
                self.endpoint_url(),
                self.stop_grace_s,
            )
            self._runs[(region, name)] = run
        if not store():
            with self._lock:
                self._runs.pop((region, name), None)
            raise RequestError("InternalFailure", "the emulator could not store the job")
        run.start()
        return {"ProcessingJobArn": arn}

    def describe(self, region: str, name: str | None) -> dict[str, Any]:
        """DescribeProcessingJob."""
        run = self._get(region, name)
        out = copy.deepcopy(run.request)
        out["ProcessingJobArn"] = run.arn
        out.update(run.snapshot())
        return out

    def list(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """ListProcessingJobs, with its filters, sorting and paging."""
        problems = _list_problems(params)
        if problems:
            raise _validation(problems)
        with self._lock:
            runs = [run for (r, _), run in self._runs.items() if r == region]
        runs = [run for run in runs if _matches(run, params)]
        runs.sort(
            key=SORT_KEYS[params.get("SortBy") or "CreationTime"],
            reverse=(params.get("SortOrder") or "Ascending") == "Descending",
        )
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or DEFAULT_MAX_RESULTS)
        page = runs[start : start + size]
        out: dict[str, Any] = {"ProcessingJobSummaries": [_summary(run) for run in page]}
        if start + size < len(runs):
            out["NextToken"] = str(start + size)
        return out

    def stop(self, region: str, name: str | None) -> None:
        """StopProcessingJob: refused unless the job is InProgress."""
        run = self._get(region, name)
        if not run.stop():
            raise RequestError(
                "ValidationException",
                f"The request was rejected because the processing job is in status {run.status}.",
            )

    def _get(self, region: str, name: str | None) -> JobRun:
        with self._lock:
            run = self._runs.get((region, name or ""))
        if run is None:
            arn = _arn(self.account, region, name or "")
            raise RequestError("ValidationException", f"Could not find processing job '{arn}'.")
        return run

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop every job, remove their folders and forget them (the emulator stops or resets)."""
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        closers = [threading.Thread(target=run.close, daemon=True) for run in runs]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(30)


def _list_problems(params: dict[str, Any]) -> list[str]:
    problems = []
    size = params.get("MaxResults")
    if size is not None and not 1 <= int(size) <= MAX_RESULTS:
        problems.append(
            f"Value '{size}' at 'maxResults' failed to satisfy constraint: Member must have "
            f"value {'greater' if int(size) < 1 else 'less'} than or equal to "
            f"{1 if int(size) < 1 else MAX_RESULTS}"
        )
    for key, allowed in (
        ("SortBy", tuple(SORT_KEYS)),
        ("SortOrder", ("Ascending", "Descending")),
        ("StatusEquals", STATUSES),
    ):
        value = params.get(key)
        if value is not None and value not in allowed:
            problems.append(
                f"Value '{value}' at '{key[0].lower() + key[1:]}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
    token = params.get("NextToken")
    if token is not None and not str(token).isdigit():
        problems.append(f'Invalid pagination token because "{token}".')
    return problems


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(float(value), UTC)


def _matches(run: JobRun, params: dict[str, Any]) -> bool:
    contains = params.get("NameContains")
    if contains and contains not in run.name:
        return False
    status = params.get("StatusEquals")
    if status and run.status != status:
        return False
    bounds = (
        ("CreationTimeAfter", run.creation_time, 1),
        ("CreationTimeBefore", run.creation_time, -1),
        ("LastModifiedTimeAfter", run.last_modified_time, 1),
        ("LastModifiedTimeBefore", run.last_modified_time, -1),
    )
    for key, value, sign in bounds:
        bound = _time(params.get(key))
        if bound is not None and (value - bound).total_seconds() * sign <= 0:
            return False
    return True


def _summary(run: JobRun) -> dict[str, Any]:
    snap = run.snapshot()
    out = {"ProcessingJobName": run.name, "ProcessingJobArn": run.arn}
    for key in (
        "CreationTime",
        "ProcessingEndTime",
        "LastModifiedTime",
        "ProcessingJobStatus",
        "FailureReason",
    ):
        if key in snap:
            out[key] = snap[key]
    return out
