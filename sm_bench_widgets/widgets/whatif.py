"""What-if controls after a run: re-rank the measured configurations under other choices.

Monthly invocations, strategy, balanced weight and the latency SLA feed
``BenchmarkResult.rerank``; nothing is re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from sm_bench_widgets.config import SLA_PERCENTILES, STRATEGIES, ConfigError
from sm_bench_widgets.widgets.fields import flag_markup, parse_optional, show_optional

SMALL = w.Layout(width="140px")


class WhatIf:
    """Re-ranking inputs bound to one result; ``on_rerank(rec, costs)`` gets each new pick
    with the cost table it was ranked on (monthly invocations change the costs)."""

    def __init__(self, on_rerank: Callable[[Any, Any], None]):
        self._on_rerank = on_rerank
        self.result: Any = None
        style = {"description_width": "170px"}
        self.monthly = w.IntText(description="Monthly invocations", style=style, layout=SMALL)
        self.monthly.layout.width = "320px"
        self.strategy = w.Dropdown(options=list(STRATEGIES), description="Strategy", style=style)
        self.weight = w.FloatSlider(
            min=0,
            max=1,
            step=0.05,
            description="Weight (0 cost, 1 speed)",
            readout_format=".2f",
            style=style,
        )
        self.sla_percentile = w.Dropdown(
            options=[("none", None)] + [(f"p{p}", p) for p in SLA_PERCENTILES],
            description="SLA percentile",
            style=style,
        )
        self.sla_ms = w.Text(description="SLA (ms)", placeholder="none", style=style)
        self.message = w.HTML()
        self._inputs = (self.monthly, self.strategy, self.weight, self.sla_percentile, self.sla_ms)
        self.widget = w.VBox(
            [
                w.HTML("<b>What if</b>: re-rank the measured configurations (no new run)"),
                *self._inputs,
                self.message,
            ],
            layout=w.Layout(display="none"),
        )
        self._binding = False
        for widget in self._inputs:
            widget.observe(self._changed, names="value")

    def bind(self, result: Any) -> None:
        """Start from ``result``'s configured choices and show the controls."""
        self._binding = True
        try:
            c = result.config
            self.monthly.value = getattr(result, "monthly_invocations", c.monthly_invocations)
            self.strategy.value = c.strategy
            self.weight.value = c.balanced_weight
            self.sla_percentile.value = c.sla_percentile
            self.sla_ms.value = show_optional(c.sla_ms)
        finally:
            self._binding = False
        self.result = result
        self.message.value = ""
        self.widget.layout.display = ""

    def hide(self) -> None:
        """Hide the controls (a new run starts)."""
        self.result = None
        self.widget.layout.display = "none"

    def choices(self) -> dict[str, Any]:
        """The ``rerank`` arguments the inputs stand for (``ConfigError`` when unusable)."""
        sla_ms = parse_optional("sla_ms", float)(self.sla_ms.value)
        percentile = self.sla_percentile.value
        if sla_ms is not None and percentile is None:
            raise ConfigError("sla_percentile", None, "a percentile for the SLA in ms")
        return {
            "monthly_invocations": int(self.monthly.value),
            "strategy": self.strategy.value,
            "weight": float(self.weight.value),
            "sla_percentile": percentile if sla_ms is not None else None,
            "sla_ms": sla_ms,
        }

    def rerank(self) -> Any:
        """The recommendation under the current inputs (also passed to ``on_rerank``)."""
        choices = self.choices()
        rec = self.result.rerank(**choices)
        self._on_rerank(rec, self.result.costs_at(choices["monthly_invocations"]))
        return rec

    def _changed(self, _change: Any) -> None:
        if self._binding or self.result is None:
            return
        try:
            rec = self.rerank()
        except ConfigError as exc:
            self.message.value = flag_markup(str(exc))
            return
        self.message.value = (
            "<span style='color:#555'>Re-ranked: no configuration meets these choices.</span>"
            if rec is None
            else ""
        )
