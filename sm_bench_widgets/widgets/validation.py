"""Check form values against ``BenchmarkConfig`` and say which field each problem belongs to.

``BenchmarkConfig`` stops at the first invalid field; the form wants every problem at
once, so a failing field is set back to its default and the check repeated.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sm_bench_widgets.api import check_config
from sm_bench_widgets.config import BenchmarkConfig, ConfigError

PAYLOAD_FIELD = "invoke_args_examples_file"
_PAYLOAD_NAMES = ("invoke_args_examples", "invoke_args_examples_file", "payload_weights")
# fields reset together when one of them is flagged
_LINKED = {
    "sla_ms": ("sla_ms", "sla_percentile"),
    "sla_percentile": ("sla_ms", "sla_percentile"),
    PAYLOAD_FIELD: _PAYLOAD_NAMES,
}
_DEFAULTS = {
    f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
    for f in dataclasses.fields(BenchmarkConfig)
}


def widget_field(error_field: str) -> str:
    """The form field a ``ConfigError.field`` belongs to (``x[3].Body`` -> payloads)."""
    base = re.split(r"[\[.:]", error_field, maxsplit=1)[0]
    if base in _PAYLOAD_NAMES or base not in _DEFAULTS:
        return PAYLOAD_FIELD
    return base


def check_values(
    values: dict[str, Any], runnable: bool = True, max_rounds: int = 20
) -> tuple[BenchmarkConfig | None, dict[str, ConfigError]]:
    """The config built from ``values`` (None when invalid) and every error by form field.

    With ``runnable`` the model name and payload examples are required too, as Run needs.
    """
    values = dict(values)
    errors: dict[str, ConfigError] = {}
    config: BenchmarkConfig | None = None
    for _ in range(max_rounds):
        try:
            config = BenchmarkConfig(**values)
            check_config(config, runnable=False)
        except ConfigError as exc:
            config = None
            name = widget_field(exc.field)
            if name in errors:
                break
            errors[name] = exc
            for reset in _LINKED.get(name, (name,)):
                if reset in _DEFAULTS:
                    values[reset] = _DEFAULTS[reset]
                else:
                    values.pop(reset, None)
            continue
        break
    if errors:
        return None, errors
    if runnable and config is not None:
        return runnable_errors(config)
    return config, {}


Checked = tuple[BenchmarkConfig | None, dict[str, ConfigError]]


def runnable_errors(config: BenchmarkConfig) -> Checked:
    """``config`` when Run may use it, else what it lacks (model name, payloads) by field."""
    errors: dict[str, ConfigError] = {}
    probe = config
    for _ in range(2):
        try:
            probe.require_runnable()
        except ConfigError as exc:
            errors[widget_field(exc.field)] = exc
            if exc.field != "model_name":
                break
            probe = probe.replace(model_name="-")
            continue
        break
    return (None, errors) if errors else (config, {})
