"""The job monitor: a Processing job's name, status, elapsed time and the tail of its log.

``poll(job)`` asks SageMaker and CloudWatch Logs (a few requests), so the panel calls it
from its refresher thread every few seconds, never from the kernel's main thread.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import ipywidgets as w

from sm_bench_widgets.widgets.estimate import format_duration

LOG_TAIL = 8
TERMINAL = ("Completed", "Failed", "Stopped")
STATUS_COLOURS = {"Completed": "#1b7f3b", "Failed": "#b00020", "Stopped": "#8a5300"}


def elapsed_seconds(job: dict[str, Any], now: dt.datetime | None = None) -> float:
    """Seconds since the job started (or was created), up to its end once it is over."""
    start = job.get("ProcessingStartTime") or job.get("CreationTime")
    if start is None:
        return 0.0
    end = job.get("ProcessingEndTime")
    if end is None and job.get("ProcessingJobStatus") in TERMINAL:
        end = job.get("LastModifiedTime")
    end = end or now or dt.datetime.now(start.tzinfo or dt.UTC)
    return max(0.0, (end - start).total_seconds())


class JobMonitor:
    """What the panel shows of a running Processing job; hidden for thread runs."""

    def __init__(self, tail: int = LOG_TAIL) -> None:
        self.tail = tail
        self.summary = w.HTML()
        self.log_html = w.HTML()
        self.widget = w.VBox(
            [w.HTML("<b>Job</b>"), self.summary, self.log_html],
            layout=w.Layout(display="none", margin="4px 0"),
        )
        self.widget.add_class("smb-job-monitor")
        self.job_name: str | None = None
        self.status: str | None = None
        self.statuses: list[str] = []  # every status seen, in order
        self.lines: list[str] = []
        self.polls = 0

    def watch(self, job_name: str) -> None:
        """Show the monitor for ``job_name`` (nothing known of it yet)."""
        self.job_name, self.status, self.statuses, self.lines = job_name, None, [], []
        self.widget.layout.display = ""
        self._show("Starting", 0.0, None)
        self.log_html.value = ""

    def hide(self) -> None:
        """Hide the monitor (a thread run, or a result loaded from disk)."""
        self.widget.layout.display = "none"
        self.job_name = None

    def poll(self, job: Any) -> str:
        """Read the job's description and log tail and show them; its status."""
        description = job.describe()
        status = str(description.get("ProcessingJobStatus", "?"))
        lines = job.logs(tail=self.tail)
        self.polls += 1
        if not self.statuses or self.statuses[-1] != status:
            self.statuses.append(status)
        self.status = status
        self.lines = lines
        self._show(status, elapsed_seconds(description), description.get("FailureReason"))
        body = html.escape("\n".join(lines)) if lines else "(no log lines yet)"
        self.log_html.value = (
            "<pre class='smb-job-log' style='font-size:11px;max-height:12em;overflow:auto;"
            f"background:#f6f6f6;padding:4px;margin:2px 0'>{body}</pre>"
        )
        return status

    def _show(self, status: str, elapsed_s: float, failure: str | None) -> None:
        colour = STATUS_COLOURS.get(status, "#1a5fb4")
        reason = f" &mdash; {html.escape(failure)}" if failure else ""
        self.summary.value = (
            f"<span class='smb-job'>{html.escape(self.job_name or '')}: "
            f"<b class='smb-job-status' style='color:{colour}'>{html.escape(status)}</b>, "
            f"<span class='smb-job-elapsed'>{format_duration(elapsed_s)}</span> elapsed"
            f"{reason}</span>"
        )
