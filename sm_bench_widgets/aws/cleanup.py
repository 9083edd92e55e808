"""Sweep: delete endpoints and endpoint configs this tool left behind, found by tag only."""

from __future__ import annotations

from collections.abc import Callable, Collection

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import (
    CleanupError,
    delete_endpoint_config,
    delete_endpoint_only,
    find_leftover_resources,
)


def sweep(
    target: Target,
    run_id: str | None = None,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
    only: Collection[str] | None = None,
) -> list[str]:
    """Delete (or with ``dry_run`` only list) resources carrying the tool tag; return names.

    Only resources tagged ``sm-bench-widgets:tool`` (and ``sm-bench-widgets:run-id`` equal
    to ``run_id`` when given) are touched, and with ``only`` just those of these names (a
    list confirmed after a dry run). Endpoints go first, then configs. Every failure
    is collected and raised together as ``CleanupError`` after trying the rest.
    """
    leftovers = find_leftover_resources(target, run_id)
    if only is not None:
        leftovers = [r for r in leftovers if r.name in set(only)]
    scope = f" for run {run_id}" if run_id else ""
    if not leftovers:
        out(f"nothing to clean up{scope}")
        return []
    failures: dict[str, str] = {}
    for res in sorted(leftovers, key=lambda r: (r.kind != "endpoint", r.name)):
        label = f"{res.kind} {res.name} (run {res.run_id or '?'})"
        if dry_run:
            out(f"would delete {label}")
            continue
        try:
            if res.kind == "endpoint":
                delete_endpoint_only(target, res.name)
            else:
                delete_endpoint_config(target, res.name)
        except Exception as exc:
            failures[f"{res.kind} {res.name}"] = str(exc)
            out(f"FAILED to delete {label}: {exc}")
            continue
        out(f"deleted {label}")
    if failures:
        raise CleanupError(failures)
    return sorted({r.name for r in leftovers})
