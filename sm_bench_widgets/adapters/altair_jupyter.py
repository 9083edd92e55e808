"""Replacing a JupyterChart's named datasets in place: the one use of Altair's internals.

Altair (5.x and 6.x) has no public way to change the data a ``JupyterChart`` shows other
than assigning ``chart``, which re-embeds the view (it flickers and resets zoom). Its front
end, though, applies each ``{"namespace": "data", "name": ..., "scope": [], "value": rows}``
put in the synced private trait ``_py_to_js_updates`` as a Vega changeset on that dataset
(Altair uses it for VegaFusion). Nothing else in the package touches these names.
"""

from __future__ import annotations

import re
from typing import Any

import altair as alt

UPDATES_TRAIT = "_py_to_js_updates"
"""JupyterChart's synced trait whose messages the front end applies to the live view."""

OFFLINE_FLAG = "_is_offline"
"""JupyterChart's class attribute set by ``enable_offline()``."""


def send_dataset_updates(
    widget: alt.JupyterChart, datasets: dict[str, list[dict[str, Any]]]
) -> None:
    """Make every view of ``widget`` show ``rows`` in each named dataset, without re-embedding."""
    setattr(
        widget,
        UPDATES_TRAIT,
        [
            {"namespace": "data", "name": name, "scope": [], "value": rows}
            for name, rows in datasets.items()
        ],
    )


def sent_dataset_updates(widget: alt.JupyterChart) -> list[dict[str, Any]]:
    """The last messages ``send_dataset_updates`` gave ``widget`` (empty before any)."""
    return list(getattr(widget, UPDATES_TRAIT, None) or [])


def is_offline() -> bool:
    """Whether JupyterChart currently inlines its JavaScript (``enable_offline()`` done)."""
    return bool(getattr(alt.JupyterChart, OFFLINE_FLAG, False))


def compatibility_problems() -> list[str]:
    """What this Altair lacks of the internals used here (empty when all is in place)."""
    problems: list[str] = []
    where = f"altair {alt.__version__}"
    trait = alt.JupyterChart.class_traits().get(UPDATES_TRAIT)
    if trait is None:
        problems.append(f"{where}: JupyterChart has no trait {UPDATES_TRAIT}")
    elif not trait.metadata.get("sync"):
        problems.append(f"{where}: JupyterChart.{UPDATES_TRAIT} is no longer synced")
    source = re.sub(r"\s+", "", str(getattr(alt.JupyterChart, "_esm", "")))  # maybe bundled
    if f"change:{UPDATES_TRAIT}" not in source or 'namespace==="data"' not in source:
        problems.append(
            f"{where}: JupyterChart's front end no longer applies data messages "
            f"sent in {UPDATES_TRAIT}"
        )
    if not isinstance(getattr(alt.JupyterChart, OFFLINE_FLAG, None), bool):
        problems.append(f"{where}: JupyterChart has no boolean {OFFLINE_FLAG}")
    return problems
