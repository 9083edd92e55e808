"""A compact form for the user's traffic (``BenchmarkConfig.traffic``).

One dropdown picks how the traffic is given (rates, monthly figures, a trace file, an
existing endpoint's CloudWatch history); only that way's inputs show. The form's
``value`` is its plain state, so it sits in the options form like any other input;
``parse_traffic`` turns the state into a ``Traffic`` or a ``ConfigError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets

from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.traffic import Traffic, read_trace

SOURCES = [
    ("none", "none"),
    ("average and peak req/s", "rates"),
    ("monthly invocations and peak concurrency", "monthly"),
    ("trace file", "trace"),
    ("CloudWatch of an endpoint", "cloudwatch"),
]
SMALL = w.Layout(width="120px")
WIDE = w.Layout(width="260px")
DEFAULT_STATE: dict[str, Any] = {
    "source": "none",
    "average_rps": 1.0,
    "peak_rps": 10.0,
    "monthly_invocations": 1_000_000,
    "peak_concurrency": 4.0,
    "trace_path": "",
    "endpoint_name": "",
    "days": 7.0,
    "per_minute": [],
    "throttle_limit_percent": 0.1,
    "idle_window_s": 600.0,
    "probe_idle_window": False,
}


def parse_traffic(state: dict[str, Any] | None) -> Traffic | None:
    """The ``Traffic`` the form's state describes (None for "none")."""
    s = {**DEFAULT_STATE, **(state or {})}
    options = {
        "throttle_limit": float(s["throttle_limit_percent"]) / 100.0,
        "idle_window_s": float(s["idle_window_s"]),
        "probe_idle_window": bool(s["probe_idle_window"]),
    }
    source = s["source"]
    if source == "none":
        return None
    if source == "rates":
        return Traffic.rates(float(s["average_rps"]), float(s["peak_rps"]), **options)
    if source == "monthly":
        return Traffic.monthly(
            float(s["monthly_invocations"]), float(s["peak_concurrency"]), **options
        )
    if source == "trace":
        if s["trace_path"]:
            return Traffic.from_counts(read_trace(s["trace_path"]), source="trace", **options)
        if not s["per_minute"]:
            raise ConfigError("traffic.trace", "", "the path of a trace file")
        return Traffic.from_counts(s["per_minute"], source="trace", **options)
    if source == "cloudwatch":
        if not s["per_minute"]:
            raise ConfigError(
                "traffic.endpoint_name",
                s["endpoint_name"],
                "an endpoint whose CloudWatch history was read (press Read)",
            )
        return Traffic.from_counts(s["per_minute"], source="cloudwatch", **options)
    raise ConfigError("traffic.source", source, ", ".join(v for _, v in SOURCES))


def show_traffic(value: Traffic | dict[str, Any] | None) -> dict[str, Any]:
    """The form's state for a config value (a Traffic, its dict, or None)."""
    traffic = Traffic.coerce(value)
    if traffic is None:
        return {**DEFAULT_STATE, "source": "none"}
    state = {
        **DEFAULT_STATE,
        "source": traffic.source,
        "average_rps": traffic.average_rps,
        "throttle_limit_percent": traffic.throttle_limit * 100.0,
        "idle_window_s": traffic.idle_window_s,
        "probe_idle_window": traffic.probe_idle_window,
        "per_minute": list(traffic.per_minute),
    }
    if traffic.peak_rps is not None:
        state["peak_rps"] = traffic.peak_rps
    if traffic.source == "monthly":
        state["monthly_invocations"] = traffic.monthly_invocations
        state["peak_concurrency"] = traffic.peak_concurrency
    return state


class TrafficForm(w.VBox):
    """The traffic inputs; ``value`` is the plain state (see ``parse_traffic``)."""

    value = traitlets.Dict()
    disabled = traitlets.Bool(False)

    def __init__(self, target: Callable[[], Any] | None = None, **kwargs: Any):
        self.target = target
        self.source = w.Dropdown(options=SOURCES, value="none", layout=WIDE)
        self.average_rps = w.FloatText(description="avg req/s", layout=SMALL)
        self.peak_rps = w.FloatText(description="peak req/s", layout=SMALL)
        self.monthly_invocations = w.IntText(description="per month", layout=SMALL)
        self.peak_concurrency = w.FloatText(description="peak in flight", layout=SMALL)
        self.trace_path = w.Text(placeholder="trace.csv: timestamps or minute,count", layout=WIDE)
        self.endpoint_name = w.Text(placeholder="existing endpoint name", layout=WIDE)
        self.days = w.FloatText(description="days", layout=SMALL)
        self.read = w.Button(description="Read", layout=w.Layout(width="70px"))
        self.throttle_limit_percent = w.FloatText(description="max throttled %", layout=SMALL)
        self.idle_window_s = w.FloatText(description="idle window s", layout=SMALL)
        # measures the window in the run: idle gaps doubling from a minute up to 4 times
        # the window above, so it adds that long (hours on AWS)
        self.probe_idle_window = w.Checkbox(
            description="probe it (slow: idle gaps up to 4x the window)",
            indent=False,
            layout=WIDE,
        )
        self.status = w.HTML()
        for widget in (self.average_rps, self.peak_rps, self.monthly_invocations):
            widget.style.description_width = "70px"
        for widget in (self.peak_concurrency, self.days):
            widget.style.description_width = "90px"
        for widget in (self.throttle_limit_percent, self.idle_window_s):
            widget.style.description_width = "100px"
        self.rows = {
            "rates": w.HBox([self.average_rps, self.peak_rps]),
            "monthly": w.HBox([self.monthly_invocations, self.peak_concurrency]),
            "trace": w.HBox([self.trace_path]),
            "cloudwatch": w.HBox([self.endpoint_name, self.days, self.read]),
        }
        self.common = w.HBox(
            [self.throttle_limit_percent, self.idle_window_s, self.probe_idle_window]
        )
        self._per_minute: list[float] = []
        self._showing = False
        super().__init__(**kwargs)
        self._inputs = [
            self.source,
            self.average_rps,
            self.peak_rps,
            self.monthly_invocations,
            self.peak_concurrency,
            self.trace_path,
            self.endpoint_name,
            self.days,
            self.throttle_limit_percent,
            self.idle_window_s,
            self.probe_idle_window,
        ]
        for widget in self._inputs:
            widget.observe(self._changed, names="value")
        self.read.on_click(lambda _b: self.read_cloudwatch())
        self.value = show_traffic(None)

    @traitlets.observe("value")
    def _show(self, change: dict[str, Any]) -> None:
        state = {**DEFAULT_STATE, **(change["new"] or {})}
        self._showing = True
        try:
            for name in DEFAULT_STATE:
                widget = getattr(self, name, None)
                if isinstance(widget, w.ValueWidget) and widget.value != state[name]:
                    widget.value = state[name]
            self._per_minute = list(state["per_minute"])
        finally:
            self._showing = False
        self._layout(state["source"])

    @traitlets.observe("disabled")
    def _lock(self, change: dict[str, Any]) -> None:
        for widget in [*self._inputs, self.read]:
            widget.disabled = change["new"]

    def _layout(self, source: str) -> None:
        shown = [self.source]
        if source in self.rows:
            shown += [self.rows[source], self.common, self.status]
        self.children = shown

    def _state(self) -> dict[str, Any]:
        state = {name: getattr(self, name).value for name in DEFAULT_STATE if hasattr(self, name)}
        state["per_minute"] = list(self._per_minute)
        return state

    def _changed(self, change: dict[str, Any]) -> None:
        if self._showing:
            return
        if change["owner"] in (self.endpoint_name, self.days, self.trace_path, self.source):
            self._per_minute = []  # other counts asked for: read again
            self.status.value = ""
        self.value = self._state()

    def read_cloudwatch(self) -> Traffic | None:
        """Read the endpoint's Invocations from CloudWatch into the form; the traffic, or
        None with the problem shown."""
        from sm_bench_widgets.aws.clients import Target

        target = self.target() if self.target is not None else Target.from_environment()
        try:
            traffic = Traffic.from_cloudwatch(
                target, self.endpoint_name.value.strip(), float(self.days.value)
            )
        except ConfigError as exc:
            self.status.value = f"<span style='color:#b00020'>{exc}</span>"
            return None
        self._per_minute = list(traffic.per_minute)
        self.status.value = traffic.describe()
        self.value = self._state()
        return traffic
