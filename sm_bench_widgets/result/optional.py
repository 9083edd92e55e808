"""Optional dependencies of saving and exporting: checked where used, named in the error."""

from __future__ import annotations

import importlib.util


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def require(module: str, what: str) -> None:
    """Raise an ImportError that says how to install ``module`` when it is missing."""
    if not available(module):
        raise ImportError(f"{what} needs {module}: pip install {module}")
