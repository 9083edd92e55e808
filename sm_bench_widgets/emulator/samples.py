"""Sample payloads of the emulator's demo models, and how long their invocations take.

The panel fills these in when a demo model is picked, so a first run needs no typing; the
``sm-bench demo`` command benchmarks with them too. Each is an InvokeEndpoint example the
model really reads (see ``demo_io`` and ``models/demo_mlp/inference.py``).
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from sm_bench_widgets.emulator.profiles import DEMO_PROFILES

_CSV_ROWS = ["5.1,3.5,1.4,0.2", "6.2,2.9,4.3,1.3", "7.7,3.0,6.1,2.3", "5.8,2.7,5.1,1.9"]
_NUMERIC = [
    *({"Body": row, "ContentType": "text/csv", "Accept": "text/csv"} for row in _CSV_ROWS),
    {
        "Body": json.dumps({"instances": [[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]]}),
        "ContentType": "application/json",
        "Accept": "application/json",
    },
]


def _text(inputs: str | list[str]) -> dict[str, Any]:
    return {
        "Body": json.dumps({"inputs": inputs}),
        "ContentType": "application/json",
        "Accept": "application/json",
    }


DEMO_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "demo-tabular": _NUMERIC,
    "demo-mlp": _NUMERIC,
    "demo-nlp": [
        _text("The battery lasts all day and the screen is gorgeous."),
        _text("Stopped working after a week, and support never answered my emails."),
        _text("Decent value for the price, though the manual is confusing."),
        _text(
            [
                "Fast delivery, exactly as described. I would recommend this seller.",
                "The box arrived crushed and two parts were missing.",
            ]
        ),
        {
            "Body": "Setup took five minutes and it has been reliable since.",
            "ContentType": "text/plain",
            "Accept": "application/json",
        },
    ],
}
# demo-mlp computes for real (a numpy MLP): its answers take a few milliseconds
_HANDLER_LATENCY_MS = {"demo-mlp": 50.0}


def demo_examples(model_name: str) -> list[dict[str, Any]] | None:
    """A copy of the sample payloads of demo model ``model_name``; None for other models."""
    examples = DEMO_EXAMPLES.get(model_name)
    return copy.deepcopy(examples) if examples is not None else None


def demo_latency_bound_ms(model_name: str, memory_sizes: list[int]) -> float | None:
    """How long one invocation of a sample payload may take at most (emulated ms) at the
    memory sizes that fit the model; None for models that are not demo models."""
    if model_name in _HANDLER_LATENCY_MS:
        return _HANDLER_LATENCY_MS[model_name]
    profile = DEMO_PROFILES.get(model_name)
    if profile is None or model_name not in DEMO_EXAMPLES:
        return None
    fitting = [m for m in memory_sizes if profile.fits(m)] or [min(memory_sizes or [1024])]
    slowest = max(profile.median_service_ms(m, rows=2) for m in fitting)
    return math.ceil(slowest * math.exp(3 * profile.sigma) / 10) * 10
