"""Execute a notebook headlessly with nbclient and list what went wrong in its outputs.

A notebook "went wrong" when a cell raised (an ``error`` output) or something wrote a
traceback to stderr: exceptions in background threads end up there, and they must not
pass unnoticed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
STDERR_PROBLEM = re.compile(r"Traceback \(most recent call last\)|Exception in thread|Error:")


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Error outputs and tracebacks on stderr, as ``cell N: ...`` lines."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif kind == "stream" and output.get("name") == "stderr":
                text = "".join(output.get("text", ""))
                if STDERR_PROBLEM.search(text):
                    found.append(f"cell {index}: stderr: {text.strip()[-2000:]}")
    return found


def copy_notebook(source: Path, directory: Path) -> Path:
    """Copy ``source`` into ``directory`` (where it will run and write its results)."""
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, directory / source.name))


def execute(
    path: Path,
    *,
    kernel_name: str = "python3",
    env: dict[str, str] | None = None,
    timeout: int = 300,
    parameters: dict[str, Any] | None = None,
) -> nbformat.NotebookNode:
    """Run every cell of the notebook at ``path`` in its own directory; save and return it.

    ``parameters`` replace assignments in the cell tagged ``parameters`` (e.g. a smaller
    run); the executed notebook is written back so a failure can be inspected.
    """
    nb = nbformat.read(path, as_version=4)
    if parameters:
        set_parameters(nb, parameters)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=timeout,
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=dict(os.environ if env is None else env))
    nbformat.write(nb, path)
    return nb


def set_parameters(nb: nbformat.NotebookNode, values: dict[str, Any]) -> None:
    """Rewrite ``NAME = ...`` lines of the ``parameters`` cell with the given values."""
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected one cell tagged 'parameters', found {len(cells)}")
    lines = cells[0].source.splitlines()
    missing = set(values)
    for i, line in enumerate(lines):
        name = line.split("=", 1)[0].strip()
        if "=" in line and name in values:
            lines[i] = f"{name} = {values[name]!r}"
            missing.discard(name)
    if missing:
        raise ValueError(f"the parameters cell does not assign {sorted(missing)}")
    cells[0].source = "\n".join(lines)
