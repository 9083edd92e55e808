"""The options form: one input per ``BenchmarkConfig`` option, grouped by what they control."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from sm_bench_widgets.config import SLA_PERCENTILES, STRATEGIES, BenchmarkConfig, ConfigError
from sm_bench_widgets.limits import MAX_CONCURRENCY_RANGE
from sm_bench_widgets.widgets.fields import (
    Field,
    MemoryPicker,
    parse_numbers,
    parse_optional,
    show_numbers,
    show_optional,
)
from sm_bench_widgets.widgets.traffic_form import TrafficForm, parse_traffic, show_traffic

_DEFAULTS = BenchmarkConfig()
# On the emulator the defaults are sized for a first run of about a minute: four memory
# sizes (the smallest shows a model that does not fit), two MaxConcurrency values; adaptive
# stopping ends most trials early. AWS keeps the config's defaults (minutes per endpoint).
EMULATOR_DEFAULTS: dict[str, Any] = {
    "memory_sizes": [1024, 2048, 3072, 4096],
    "stability_benchmark_invocations": 80,
    "concurrency_benchmark_max_conc": [2, 4],
    "concurrency_num_clients_multiplier": [1, 2],
    "concurrency_benchmark_invocations": 60,
}


def base_values(emulated: bool) -> dict[str, Any]:
    """The form's starting values: the config's defaults, sized down on the emulator."""
    values = dataclasses.asdict(_DEFAULTS)
    if emulated:
        values.update(EMULATOR_DEFAULTS)
    return values


NUMBER_WIDTH = w.Layout(width="140px")
TEXT_WIDTH = w.Layout(width="260px")


def _int(name: str, label: str, help_text: str = "") -> Field:
    return Field(name, label, w.IntText(layout=NUMBER_WIDTH), help_text=help_text)


def _float(name: str, label: str, help_text: str = "") -> Field:
    return Field(name, label, w.FloatText(layout=NUMBER_WIDTH), help_text=help_text)


def _list(name: str, label: str, kind: type, help_text: str = "") -> Field:
    return Field(
        name,
        label,
        w.Text(layout=TEXT_WIDTH),
        parse=parse_numbers(name, kind),
        show=show_numbers,
        help_text=help_text,
    )


def _optional(name: str, label: str, kind: type, help_text: str = "") -> Field:
    return Field(
        name,
        label,
        w.Text(layout=NUMBER_WIDTH, placeholder="none"),
        parse=parse_optional(name, kind),
        show=show_optional,
        help_text=help_text,
    )


def _check(name: str, label: str, help_text: str = "") -> Field:
    return Field(name, label, w.Checkbox(indent=False), help_text=help_text)


def build_sections() -> dict[str, list[Field]]:
    """The form's fields, by section title."""
    sla_options = [("none", None)] + [(f"p{p}", p) for p in SLA_PERCENTILES]
    return {
        "Configurations": [
            Field(
                "memory_sizes",
                "Memory sizes",
                MemoryPicker([]),
                help_text="Serverless memory sizes to benchmark (1 to 6 GB)",
            ),
            _int("stability_benchmark_invocations", "Invocations per memory size"),
            _int("stability_benchmark_error_thresh", "Errors before a size is dropped"),
            _check("include_concurrency_benchmark", "Concurrency benchmark"),
            _list(
                "concurrency_benchmark_max_conc",
                "Max concurrency grid",
                int,
                "MaxConcurrency values, {} to {}".format(*MAX_CONCURRENCY_RANGE),
            ),
            _list(
                "concurrency_num_clients_multiplier",
                "Client multipliers",
                float,
                "clients = max concurrency x multiplier",
            ),
            _int("concurrency_benchmark_invocations", "Invocations per concurrency trial"),
            _list(
                "provisioned_concurrency",
                "Provisioned concurrency",
                int,
                "optional ProvisionedConcurrency values, not above a max concurrency",
            ),
        ],
        "Stopping": [
            _check(
                "adaptive",
                "Adaptive stopping",
                "stop a configuration once its percentiles are known or it is dominated",
            ),
            _float("precision", "Precision (+- fraction)", "e.g. 0.05 for +-5%"),
            _float("precision_ms", "Or within (+- ms)", "e.g. 1.0; 0 for none"),
            _float("confidence", "Confidence", "e.g. 0.95"),
            _int("min_invocations", "Minimum invocations"),
            _int("cold_start_probes", "Cold-start probes"),
            _int("cold_start_delay", "Cold-start delay (s)"),
            _float("invocation_pause", "Pause between invocations (s)"),
        ],
        "Ranking": [
            Field(
                "strategy", "Strategy", w.Dropdown(options=list(STRATEGIES), layout=NUMBER_WIDTH)
            ),
            Field(
                "balanced_weight",
                "Balanced weight (0 cost .. 1 speed)",
                w.FloatSlider(min=0, max=1, step=0.05, readout_format=".2f"),
            ),
            Field(
                "sla_percentile",
                "Latency SLA percentile",
                w.Dropdown(options=sla_options, layout=NUMBER_WIDTH),
            ),
            _optional("sla_ms", "Latency SLA (ms)", float),
            _optional("max_error_rate", "Max error rate", float, "a fraction, e.g. 0.01"),
            _int("monthly_invocations", "Monthly invocations"),
            Field(
                "traffic",
                "Your traffic",
                TrafficForm(),
                parse=parse_traffic,
                show=show_traffic,
                help_text="the traffic to size MaxConcurrency and provisioned concurrency for",
            ),
            Field("comparison_instance_type", "Instance for break-even", w.Text(layout=TEXT_WIDTH)),
        ],
        "Output": [
            Field("result_save_path", "Result folder", w.Text(layout=TEXT_WIDTH)),
        ],
    }


class ConfigForm:
    """The options inputs, with a flag next to each and change notification."""

    def __init__(self, defaults: dict[str, Any] | None = None, emulated: bool = False):
        self.sections = build_sections()
        self.fields: dict[str, Field] = {
            f.name: f for fields in self.sections.values() for f in fields
        }
        self._given = set(defaults or {})
        self.emulated = emulated
        base = base_values(emulated)
        for name, field in self.fields.items():
            field.set(base[name])
        for name, value in (defaults or {}).items():
            if name in self.fields:
                self.fields[name].set(value)
        self.widget = w.Accordion(
            children=[w.VBox([f.box for f in fields]) for fields in self.sections.values()],
            titles=tuple(self.sections),
        )
        self.widget.selected_index = 0

    def retarget(self, emulated: bool) -> None:
        """Switch the starting values to the emulator's or AWS's, for the fields that still
        hold the other target's (values given or typed by the user stay)."""
        if emulated == self.emulated:
            return
        old, new = base_values(self.emulated), base_values(emulated)
        self.emulated = emulated
        for name in EMULATOR_DEFAULTS:
            field = self.fields[name]
            try:
                current = field.get()
            except ConfigError:
                continue
            if name not in self._given and current == old[name]:
                field.set(new[name])

    def values(self) -> tuple[dict[str, Any], dict[str, ConfigError]]:
        """The parsed config values, and the fields whose text does not parse."""
        values: dict[str, Any] = {}
        errors: dict[str, ConfigError] = {}
        for name, field in self.fields.items():
            try:
                values[name] = field.get()
            except ConfigError as exc:
                errors[name] = exc
        return values, errors

    def flag(self, errors: dict[str, Any]) -> None:
        """Flag the fields named in ``errors`` (messages or exceptions), clear the others."""
        for name, field in self.fields.items():
            problem = errors.get(name)
            field.flag(str(problem) if problem is not None else None)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever any input changes."""
        for field in self.fields.values():
            field.observe(lambda _change: callback())

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock every input (locked while a run goes on)."""
        for field in self.fields.values():
            inputs = (
                field.widget.buttons.values()
                if isinstance(field.widget, MemoryPicker)
                else [field.widget]
            )
            for widget in inputs:
                widget.disabled = disabled
