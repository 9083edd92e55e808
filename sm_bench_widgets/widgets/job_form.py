"""The Processing-job options of the panel: role, instances, S3 output, the clients one host
drives (blank: measured) and the job's cost.

Each input is checked against ``JobOptions`` on its own, so every bad value is flagged next
to its field (the error names the field) before anything is uploaded or created. Defaults:
the Studio execution role when there is one (looked up off the main thread) and the SDK
session's default bucket on AWS; on the emulator a well-formed placeholder role and a bucket
the panel creates there at launch.
"""

from __future__ import annotations

import html
import importlib.util
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import ipywidgets as w

from sm_bench_widgets.api import (
    JobOptions,
    estimate_job_cost,
    priced_processing_types,
)
from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.jobs import sdk
from sm_bench_widgets.jobs.options import DEFAULT_INSTANCE_TYPE
from sm_bench_widgets.widgets.estimate import format_duration
from sm_bench_widgets.widgets.fields import LABEL_WIDTH, flag_markup

SDK_FIELD = "sdk"
EMULATOR_ROLE = "arn:aws:iam::{account}:role/sm-bench-job"
EMULATOR_OUTPUT = "s3://sm-bench-widgets-{account}/jobs"
AWS_OUTPUT_HINT = "blank: the SageMaker default bucket (s3://sagemaker-<region>-<account>/...)"
PER_HOST_HINT = "blank: measured by the first host"
FIELDS = ("role", "instance_type", "instance_count", "s3_output_path", "clients_per_host")


def sdk_installed() -> bool:
    """Whether the sagemaker SDK is importable, without importing it (that takes seconds)."""
    try:
        return importlib.util.find_spec("sagemaker.core") is not None
    except (ImportError, ValueError):
        return False


def job_cost_html(
    instance_type: str, count: int, duration_s: float, region: str | None, emulated: bool
) -> str:
    """The job's own cost: hourly price x instance count x the run's estimated duration."""
    cost = estimate_job_cost(instance_type, count, duration_s, region)
    if cost.usd is None:
        money = (
            f"unknown price for {instance_type} ({count} x {format_duration(duration_s)}); "
            f"priced types: {', '.join(priced_processing_types())}"
        )
    else:
        money = (
            f"at most ${cost.usd:,.4f} ({count} x {instance_type} at ${cost.hourly_usd:g}/h "
            f"for at most {format_duration(duration_s)}; price as of {cost.as_of})"
        )
    if emulated:
        money = f"nothing on the emulator; on AWS {money}"
    title = html.escape(cost.source)
    return (
        f"<span class='smb-job-cost' title='{title}'><b>Job instances</b>: "
        f"{html.escape(money)}</span>"
    )


class _JobField:
    """One labelled text input of the job form with its flag."""

    def __init__(self, name: str, label: str, widget: w.DOMWidget, help_text: str):
        self.name = name
        self.widget = widget
        self.flag_html = w.HTML(layout=w.Layout(margin="0 0 0 8px"))
        label_widget = w.HTML(
            f"<span title='{html.escape(help_text)}'>{html.escape(label)}</span>",
            layout=w.Layout(width=LABEL_WIDTH),
        )
        self.box = w.HBox([label_widget, widget, self.flag_html])

    def flag(self, message: str | None) -> None:
        self.flag_html.value = flag_markup(message)


class JobForm:
    """Role ARN, instance type and count, S3 output, clients per host and the job's cost."""

    def __init__(self) -> None:
        self.role = _JobField(
            "role",
            "Role ARN",
            w.Text(
                layout=w.Layout(width="420px"), placeholder="arn:aws:iam::<account>:role/<name>"
            ),
            "The IAM role the job runs as",
        )
        self.instance_type = _JobField(
            "instance_type",
            "Instance type",
            w.Combobox(
                value=DEFAULT_INSTANCE_TYPE,
                options=priced_processing_types(),
                ensure_option=False,
                layout=w.Layout(width="200px"),
            ),
            "The Processing instance type of each client host",
        )
        self.instance_count = _JobField(
            "instance_count",
            "Instance count",
            w.Text(value="1", layout=w.Layout(width="100px")),
            "Client hosts: each runs its share of the trials",
        )
        self.s3_output_path = _JobField(
            "s3_output_path",
            "S3 output",
            w.Text(layout=w.Layout(width="420px"), placeholder=AWS_OUTPUT_HINT),
            "Where the job's code, inputs and streamed results go",
        )
        self.clients_per_host = _JobField(
            "clients_per_host",
            "Clients per host",
            w.Text(layout=w.Layout(width="260px"), placeholder=PER_HOST_HINT),
            "With more than one instance: a concurrency trial with more clients than one "
            "host drives (1 to 200) is split over the hosts in one time window",
        )
        self.fields = {
            f.name: f
            for f in (
                self.role,
                self.instance_type,
                self.instance_count,
                self.s3_output_path,
                self.clients_per_host,
            )
        }
        self.sdk_flag = w.HTML()
        self.cost_html = w.HTML()
        self.widget = w.VBox(
            [
                w.HTML("<b>Processing job</b>"),
                *(f.box for f in self.fields.values()),
                self.sdk_flag,
                self.cost_html,
            ],
            layout=w.Layout(display="none", margin="4px 0"),
        )
        self.widget.add_class("smb-job-form")
        self._listeners: list[Callable[[], None]] = []
        self._prefilled_for: Any = None
        for f in self.fields.values():
            f.widget.observe(lambda _c: self._changed(), names="value")

    # -- defaults -------------------------------------------------------------------------
    def prefill(self, target: Any) -> None:
        """Fill blank role and output with the defaults of ``target`` (once per target)."""
        if self._prefilled_for is target:
            return
        self._prefilled_for = target
        if target.emulated:
            account = _account(target)
            if not self.role.widget.value:
                self.role.widget.value = EMULATOR_ROLE.format(account=account)
            if not self.s3_output_path.widget.value:
                self.s3_output_path.widget.value = EMULATOR_OUTPUT.format(account=account)
            return
        self.s3_output_path.widget.placeholder = AWS_OUTPUT_HINT
        if sdk.in_studio() and sdk_installed() and not self.role.widget.value:
            threading.Thread(
                target=self._studio_role, args=(target,), name="smb-studio-role", daemon=True
            ).start()

    def _studio_role(self, target: Any) -> None:
        """The Studio execution role, looked up with the SDK (seconds: never on the kernel)."""
        try:
            role = sdk.default_role(sdk.sdk_session(target))
        except Exception as exc:  # shown as the field's hint; the user can type one
            self.role.widget.placeholder = f"Studio execution role unknown ({exc})"
            return
        if not self.role.widget.value:
            self.role.widget.value = role

    # -- values ---------------------------------------------------------------------------
    def options(self, emulated: bool) -> tuple[JobOptions | None, dict[str, ConfigError]]:
        """The ``JobOptions`` the inputs stand for, or None and every problem by field."""
        values: dict[str, Any] = {
            "role": self.role.widget.value.strip() or None,
            "instance_type": self.instance_type.widget.value.strip(),
            "s3_output_path": self.s3_output_path.widget.value.strip() or None,
        }
        errors: dict[str, ConfigError] = {}
        values["instance_count"] = _whole(self.instance_count.widget.value)
        per_host = self.clients_per_host.widget.value.strip()
        values["clients_per_host"] = _whole(per_host) if per_host else None  # blank: measured
        for name, value in values.items():
            try:
                JobOptions(**{name: value})
            except ConfigError as exc:
                errors[name] = exc
        if values["role"] is None and (emulated or not sdk.in_studio()):
            errors["role"] = ConfigError(
                "role",
                None,
                "an IAM role ARN, arn:aws:iam::<account>:role/<name> "
                "(required outside SageMaker Studio)",
            )
        if not sdk_installed():
            errors[SDK_FIELD] = ConfigError(
                SDK_FIELD, None, f"the sagemaker SDK for Processing jobs: {sdk.INSTALL_COMMAND}"
            )
        if errors:
            return None, errors
        return JobOptions(**values), {}

    @property
    def count(self) -> int | None:
        """The instance count typed, when it is a whole number."""
        try:
            return int(self.instance_count.widget.value.strip())
        except ValueError:
            return None

    def flag(self, errors: dict[str, Any]) -> None:
        """Show each field's problem next to it (and clear the others)."""
        for name, field in self.fields.items():
            problem = errors.get(name)
            field.flag(str(problem) if problem is not None else None)
        problem = errors.get(SDK_FIELD)
        self.sdk_flag.value = flag_markup(str(problem) if problem is not None else None)

    def show_cost(self, duration_s: float | None, region: str | None, emulated: bool) -> None:
        """The job's cost for the run's estimated duration (None: the form is invalid)."""
        count = self.count
        if duration_s is None or count is None or count < 1:
            self.cost_html.value = ""
            return
        instance_type = self.instance_type.widget.value.strip()
        self.cost_html.value = job_cost_html(instance_type, count, duration_s, region, emulated)

    # -- plumbing ---------------------------------------------------------------------------
    def show(self, visible: bool) -> None:
        """Show the form (Processing job chosen) or hide it."""
        self.widget.layout.display = "" if visible else "none"

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when an input changes."""
        self._listeners.append(callback)

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock the inputs."""
        for field in self.fields.values():
            field.widget.disabled = disabled


def _whole(text: str) -> int | str:
    """``text`` as a whole number, or the text itself (stripped) for the check to name."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


def _account(target: Any) -> str:
    """The target's account id (the emulator's STS answers at once)."""
    try:
        return str(target.client("sts").get_caller_identity()["Account"])
    except Exception:  # a placeholder is still well formed
        return "123456789012"


def ensure_bucket(target: Any, uri: str) -> None:
    """Create the bucket of ``uri`` on the emulator when it is missing."""
    bucket = urlparse(uri).netloc
    s3 = target.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if target.region_name and target.region_name != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region_name}
        s3.create_bucket(**kwargs)
