"""Where the benchmark runs: the AWS account boto3 finds, or the embedded local emulator.

With no AWS credentials the emulator is chosen and started on its own, and the panel says
plainly that its results are emulated.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from sm_bench_widgets.aws.clients import Target, has_credentials

AWS = "AWS"
EMULATOR = "Local emulator"
EMULATED_NOTE = "Results are emulated: they come from the local emulator, not from AWS."


def has_aws_credentials() -> bool:
    """Whether boto3 would find credentials (environment, profile, role...)."""
    return has_credentials()


def describe(target: Target) -> str:
    """A one-line account and region description (``sts:GetCallerIdentity``)."""
    where = "emulator at " + str(target.endpoint_url) if target.emulated else "AWS"
    try:
        account = target.client("sts").get_caller_identity().get("Account", "?")
    except Exception as exc:  # shown to the user; the run itself reports its own errors
        return f"{where}, region {target.region_name}: account unknown ({exc})"
    return f"{where}, account {account}, region {target.region_name}"


def emulator_target(time_scale: float = 1.0) -> Target:
    """The target of the process-wide embedded emulator (started on first use)."""
    from sm_bench_widgets.emulator import embedded

    return embedded(time_scale=time_scale).target()


class TargetChooser:
    """AWS or emulator toggle with the account it resolves to; ``target()`` gives the choice."""

    def __init__(self, target: Target | None = None, emulator_time_scale: float = 1.0):
        self._given = target
        self._time_scale = emulator_time_scale
        self._targets: dict[str, Target] = {}
        self.credentials = has_aws_credentials()
        if target is not None:
            initial = EMULATOR if target.emulated else AWS
        else:
            initial = AWS if self.credentials else EMULATOR
        self.choice = w.ToggleButtons(
            options=[AWS, EMULATOR],
            value=initial,
            tooltips=["the account and region boto3 finds", "a local stand-in for AWS"],
            disabled=target is not None,
        )
        self.info = w.HTML()
        self.widget = w.VBox([self.choice, self.info])
        self._listeners: list[Callable[[], None]] = []
        self.choice.observe(self._changed, names="value")
        self._show()

    @property
    def emulated(self) -> bool:
        """Whether the chosen target is the emulator."""
        return self.choice.value == EMULATOR

    def target(self) -> Target:
        """The chosen target (the emulator is started on first call)."""
        if self._given is not None:
            return self._given
        if self.choice.value not in self._targets:
            self._targets[self.choice.value] = (
                emulator_target(self._time_scale) if self.emulated else Target.from_environment()
            )
        return self._targets[self.choice.value]

    def problem(self) -> str | None:
        """Why the chosen target cannot run a benchmark, or None."""
        if self.choice.value == AWS and self._given is None and not self.credentials:
            return "No AWS credentials found: configure a profile or choose the local emulator."
        return None

    def _changed(self, _change: Any) -> None:
        self._show()
        for listener in list(self._listeners):
            listener()

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the choice changes."""
        self._listeners.append(callback)

    def _show(self) -> None:
        problem = self.problem()
        if problem:
            self.info.value = f"<span style='color:#b00020'>&#9888; {html.escape(problem)}</span>"
            return
        target = self.target()
        if target.emulated:
            self._show_description(target, describe(target))
            return
        # AWS calls may be slow (or hang, offline): resolve the account off the main thread
        self.info.value = "<span class='smb-target'>AWS: finding the account...</span>"
        threading.Thread(
            target=lambda: self._show_description(target, describe(target)),
            name="smb-describe-target",
            daemon=True,
        ).start()

    def _show_description(self, target: Target, description: str) -> None:
        if target is not self.target():
            return
        text = html.escape(description)
        if target.emulated:
            reason = "" if self.credentials or self._given else "No AWS credentials found. "
            text += f"<br><b style='color:#8a5300'>{html.escape(reason + EMULATED_NOTE)}</b>"
        self.info.value = f"<span class='smb-target'>{text}</span>"

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock the choice (a given target stays locked)."""
        self.choice.disabled = disabled or self._given is not None
