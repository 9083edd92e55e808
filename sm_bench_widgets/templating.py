"""The package's HTML templates (``templates/*.html``), rendered by jinja2 with autoescape.

Every value placed in a template is HTML-escaped unless it is ``markupsafe.Markup``: only
HTML built by a trusted library (pandas tables, vl-convert SVG, the Vega JavaScript bundle)
is wrapped in it. JSON inside ``<script>`` goes through the ``tojson`` filter, which escapes
``<``, ``>``, ``&`` and ``'`` so a value cannot close the script element.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment: package templates, autoescape on, undefined names fail."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sm_bench_widgets", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.policies["json.dumps_kwargs"] = {"allow_nan": False, "default": str}
    return env


def render(name: str, **context: Any) -> str:
    """The template ``name`` (a file under ``templates/``) rendered with ``context``."""
    return environment().get_template(name).render(**context)
