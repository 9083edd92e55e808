"""The offer to resume an interrupted run found in the panel's result folder.

A run that was stopped, failed or killed (its process gone), or that completed with
trials a retry may cure (an endpoint that could not be created, a trial that raised),
can be carried on with
``api.resume_benchmark``; the panel looks in its result folder when it is built and when
the folder changes, and offers the newest such run. Dismissing it hides the offer.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path

import ipywidgets as w

from sm_bench_widgets import api


def describe_run(run_dir: Path) -> str:
    """One line about a run to carry on: its id, status and invocations stored (and, for
    a completed run, how many failed trials a resume retries)."""
    status = api.run_status(run_dir)
    state = str(status.get("status") or "unknown")
    if state == "running":
        state = "interrupted"  # its process is gone: nobody holds the directory
    elif state == "completed":
        state = f"completed, {len(api.runs_again(run_dir))} failed trial(s) to retry"
    count = int(status.get("invocations") or 0)
    return f"{run_dir.name} ({state}, {count:,} invocations stored)"


class ResumeOffer:
    """'A run in the result folder to carry on: Resume it / Dismiss'."""

    def __init__(self, on_resume: Callable[[Path], None]):
        self.run_dir: Path | None = None
        self._dismissed: set[Path] = set()
        self.text = w.HTML()
        self.resume_button = w.Button(
            description="Resume it",
            button_style="info",
            icon="play",
            tooltip="Carry on this run: only what is still needed is redeployed",
        )
        self.dismiss_button = w.Button(description="Dismiss", tooltip="Start afresh instead")
        self.resume_button.on_click(lambda _b: self.run_dir and on_resume(self.run_dir))
        self.dismiss_button.on_click(lambda _b: self.dismiss())
        self.widget = w.HBox(
            [self.text, self.resume_button, self.dismiss_button], layout=w.Layout(display="none")
        )
        self.widget.add_class("smb-resume")

    def look(self, result_save_path: str | os.PathLike[str]) -> Path | None:
        """Offer the newest interrupted run under ``result_save_path``; the one offered."""
        try:
            runs = api.interrupted_runs(result_save_path)
        except OSError:  # an unreadable folder: nothing to offer
            runs = []
        runs = [r for r in runs if r not in self._dismissed]
        self.run_dir = runs[0] if runs else None
        if self.run_dir is None:
            self.widget.layout.display = "none"
            return None
        self.text.value = (
            "<span class='smb-resume-text'>A run in the result folder to carry on: "
            f"<b>{html.escape(describe_run(self.run_dir))}</b>&nbsp;</span>"
        )
        self.widget.layout.display = ""
        return self.run_dir

    def dismiss(self) -> None:
        """Hide the offer for this run."""
        if self.run_dir is not None:
            self._dismissed.add(self.run_dir)
        self.run_dir = None
        self.widget.layout.display = "none"

    def set_disabled(self, disabled: bool) -> None:
        """Locked while a run goes on."""
        self.resume_button.disabled = self.dismiss_button.disabled = disabled
