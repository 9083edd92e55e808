"""The recommendation card: what to deploy, what it costs, why, and how to create it.

``card_html`` (from ``templates/card.html``), ``figures_html`` (one configuration's
figures, ``templates/figures.html``) and ``boto3_snippet`` are pure and reusable for any
configuration (e.g. one selected in a chart);
``RecommendationCard`` shows them, the snippet in a read-only text area so it can be
selected and copied.
"""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import Any

import ipywidgets as w
import pandas as pd
from markupsafe import Markup

from sm_bench_widgets.analysis.recommend import NO_MATH
from sm_bench_widgets.templating import render


def _number(value: Any, template: str) -> str:
    """``template`` filled with ``value`` as a float, or ``n/a`` for a missing figure."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return template.format(number) if math.isfinite(number) else "n/a"


def _ms(value: Any) -> str:
    return _number(value, "{:,.1f} ms")


def _usd(value: Any) -> str:
    return _number(value, "${:,.4f}")


def _month(value: Any) -> str:
    return _number(value, "${:,.2f}")


def config_label(rec: Any) -> str:
    """``2048 MB, max concurrency 4`` (with provisioned concurrency when there is some)."""
    text = f"{rec.memory_size} MB, max concurrency {rec.max_concurrency}"
    if rec.provisioned_concurrency:
        text += f", provisioned concurrency {rec.provisioned_concurrency}"
    return text


def _name(model_name: str, suffix: str) -> str:
    base = re.sub(r"[^A-Za-z0-9-]+", "-", model_name or "model").strip("-") or "model"
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def endpoint_config_name(model_name: str, rec: Any) -> str:
    """A valid endpoint config name for the recommended configuration (<= 63 chars)."""
    suffix = f"-serverless-{rec.memory_size}-c{rec.max_concurrency}"
    if rec.provisioned_concurrency:
        suffix += f"-p{rec.provisioned_concurrency}"
    return _name(model_name, suffix)


def boto3_snippet(rec: Any, model_name: str, region: str | None = None) -> str:
    """Python that creates the recommended serverless endpoint config and endpoint."""
    name = endpoint_config_name(model_name, rec)
    serverless = [
        f'            "MemorySizeInMB": {int(rec.memory_size)},',
        f'            "MaxConcurrency": {int(rec.max_concurrency)},',
    ]
    if rec.provisioned_concurrency:
        serverless.append(
            f'            "ProvisionedConcurrency": {int(rec.provisioned_concurrency)},'
        )
    region_arg = f', region_name="{region}"' if region else ""
    endpoint = _name(model_name, "-serverless")
    return "\n".join(
        [
            "import boto3",
            "",
            f'sagemaker = boto3.client("sagemaker"{region_arg})',
            "sagemaker.create_endpoint_config(",
            f'    EndpointConfigName="{name}",',
            "    ProductionVariants=[{",
            '        "VariantName": "AllTraffic",',
            f'        "ModelName": "{model_name}",',
            '        "ServerlessConfig": {',
            *serverless,
            "        },",
            "    }],",
            ")",
            f'sagemaker.create_endpoint(EndpointName="{endpoint}", EndpointConfigName="{name}")',
        ]
    )


def break_even_text(break_even: pd.DataFrame | None, rec: Any) -> str:
    """When an instance endpoint becomes cheaper than the recommended configuration."""
    if break_even is None or not len(break_even):
        return "no break-even figure"
    rows = break_even[
        (break_even["memory_size"] == rec.memory_size)
        & (break_even["max_concurrency"] == rec.max_concurrency)
        & (break_even["provisioned_concurrency"].fillna(0) == (rec.provisioned_concurrency or 0))
    ]
    if not len(rows):
        rows = break_even[break_even["memory_size"] == rec.memory_size]
    if not len(rows):
        return "no break-even figure"
    row = rows.iloc[0]
    monthly = float(row["break_even_monthly_invocations"])
    where = f"from {monthly:,.0f} invocations a month" if math.isfinite(monthly) else "at no volume"
    return (
        f"an always-on {row['instance_type']} endpoint "
        f"({_usd(row['instance_monthly_usd'])} a month) is cheaper {where}"
    )


def figures_html(
    rec: Any, monthly_usd: float | None = None, monthly_invocations: int = 0
) -> Markup:
    """One configuration's expected latency and cost (``templates/figures.html``): the
    card's figures, reusable for any configuration with ``p50_ms``/``p90_ms``/``p99_ms`` and
    ``cost_per_1m_usd``; the monthly cost is shown when ``monthly_usd`` is given."""
    return Markup(
        render(
            "figures.html",
            rec=rec,
            monthly_usd=monthly_usd,
            monthly_invocations=monthly_invocations,
            ms=_ms,
            usd=_usd,
            month=_month,
        )
    )


def _figures_with_month(rec: Any) -> Markup:
    """The figures, with the monthly cost when the recommendation knows its volume."""
    volume = getattr(rec, "monthly_invocations", None)
    if volume is None:
        return figures_html(rec)
    return figures_html(rec, rec.monthly_cost_usd, volume)


def card_html(
    rec: Any,
    break_even: pd.DataFrame | None = None,
    emulated: bool = False,
    model_name: str = "",
    reason: str = "",
    time_scale: float | None = None,
) -> str:
    """The card's HTML for a ``Recommendation`` (a notice with ``reason`` when it is None).

    Rendered from ``templates/card.html`` with autoescape: every text is escaped. The card
    carries MathJax's ignore classes, so JupyterLab does not read its "$" as LaTeX.
    """
    return render(
        "card.html",
        rec=rec,
        no_math=NO_MATH,
        emulated=emulated,
        time_scale=time_scale,
        model_name=model_name,
        reason=reason,
        figures=_figures_with_month(rec) if rec is not None else "",
        break_even=break_even_text(break_even, rec) if rec is not None else "",
        config_label=config_label,
        ms=_ms,
        usd=_usd,
    )


class RecommendationCard:
    """The card and its copyable snippet; hidden until a result is shown."""

    def __init__(self) -> None:
        self.html = w.HTML()
        self.snippet = w.Textarea(rows=14, layout=w.Layout(width="720px"))
        self.snippet.add_class("smb-snippet")
        self.snippet_label = w.HTML("<b>Create it with boto3</b> (select and copy):")
        self.widget = w.VBox(
            [self.html, self.snippet_label, self.snippet], layout=w.Layout(display="none")
        )

    def show(self, rec: Any, result: Any, model_name: str, break_even: Any = None) -> None:
        """Show ``rec`` (the result's recommendation or a re-ranked one) for ``result``."""
        reason = getattr(result, "recommendation_reason", "") if rec is None else ""
        self.html.value = card_html(
            rec,
            result.break_even if break_even is None else break_even,
            bool(getattr(result, "emulated", False)),
            model_name,
            reason,
            getattr(result, "time_scale", None),
        )
        # with traffic given, the snippet deploys what the traffic needs
        deploy = SimpleNamespace(**rec.traffic) if rec is not None and rec.traffic else rec
        self.snippet.value = (
            boto3_snippet(deploy, model_name, getattr(result, "region", None)) if rec else ""
        )
        has_snippet = "" if rec is not None else "none"
        self.snippet.layout.display = has_snippet
        self.snippet_label.layout.display = has_snippet
        self.widget.layout.display = ""

    def hide(self) -> None:
        """Hide the card (a new run starts)."""
        self.widget.layout.display = "none"
