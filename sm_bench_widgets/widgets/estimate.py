"""The benchmark's estimate as the panel shows it (the figures come from ``estimate``)."""

from __future__ import annotations

import html

from sm_bench_widgets.estimate import Estimate


def format_duration(seconds: float) -> str:
    """A short human duration such as ``2 h 05 min`` or ``45 s``."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def estimate_html(est: Estimate, emulated: bool = False) -> str:
    """The estimate as a compact HTML block for the panel."""
    money = (
        f"at most ${est.total_usd:,.4f} (compute ${est.compute_usd:,.4f}, data "
        f"${est.data_usd:,.4f}, provisioned ${est.provisioned_usd:,.4f})"
    )
    if emulated:
        money = f"nothing on the emulator; on AWS {money}"
    rows = [
        ("Endpoints", f"{est.endpoints} ({est.trials} trials)"),
        ("Invocations", f"at most {est.max_invocations:,}"),
        (
            "Billed compute",
            f"at most {est.compute_gb_s:,.0f} GB-s when invocations take up to "
            f"{est.latency_ms:,.0f} ms (at the 60 s limit: ${est.timeout_compute_usd:,.2f})",
        ),
        ("Cost of the benchmark", money),
        ("Duration", f"at most {format_duration(est.duration_s)}"),
    ]
    body = "".join(
        f"<tr><td style='padding-right:1em'><b>{html.escape(k)}</b></td>"
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table class='smb-estimate'>{body}</table>"
