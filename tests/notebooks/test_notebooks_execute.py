"""Every notebook in notebooks/ runs top to bottom headlessly, against the emulator."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbrun import NOTEBOOKS, copy_notebook, execute, problems

ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
# Parameters a headless run needs beyond the notebook's own: real_endpoint waits for a
# click on Run unless told to start by itself.
PARAMETERS = {"real_endpoint.ipynb": {"AUTO_RUN": True}}


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(
        "".join(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for o in _outputs(nb)
    )


def _widgets(nb: nbformat.NotebookNode) -> int:
    return sum(WIDGET in o.get("data", {}) for o in _outputs(nb))


def _check_quickstart(nb: nbformat.NotebookNode, where: Path) -> None:
    text = _text(nb)
    assert re.search(r"Deploy (2048|4096|6144) MB, max concurrency [24]", text)  # 1024 MB fails
    assert "<Recommendation Deploy " in text
    assert "stability-m" in text  # the invocations table
    assert _widgets(nb) >= 2  # the panel and the final charts
    assert list((where / "quickstart-results").rglob("invocations*"))


def _check_real_endpoint(nb: nbformat.NotebookNode, where: Path) -> None:
    text = _text(nb)
    assert re.search(r"Account \d{12}, region us-east-1 at http://127\.0\.0\.1:\d+", text)
    assert "Benchmarking demo-" in text
    assert "Deploy " in text and "ModelLatency" in text
    assert list((where / "real-endpoint-results").glob("*-report.html"))
    assert list((where / "real-endpoint-results").glob("*-csv/invocations.csv"))


def _check_compare_runs(nb: nbformat.NotebookNode, where: Path) -> None:
    text = _text(nb)
    for run in ("A: one-row-per-request", "B: 16-rows-per-request"):
        assert re.search(rf"{run} \(emulated\): \d+ invocations, completed", text), run
    assert _widgets(nb) >= 2  # the two comparison charts
    saved = where / "compare-runs-results"
    assert (saved / "one-row-per-request" / "meta.json").exists()
    assert (saved / "16-rows-per-request" / "meta.json").exists()


def _check_processing_job(nb: nbformat.NotebookNode, where: Path) -> None:
    text = _text(nb)
    assert "Emulated: us-east-1" in text
    assert re.search(r"Completed - \d+ invocations", text)
    assert re.search(r"concurrency-m\d+-c4-n8: \d+", text)  # both phases, all trials
    assert "Deploy " in text and "stability-m4096" in text
    assert "run " in text and " completed" in text  # the job's log tail


CHECKS: dict[str, Callable[[nbformat.NotebookNode, Path], None]] = {
    "processing_job.ipynb": _check_processing_job,
    "quickstart.ipynb": _check_quickstart,
    "real_endpoint.ipynb": _check_real_endpoint,
    "compare_runs.ipynb": _check_compare_runs,
}


def test_the_notebooks_are_there():
    assert set(CHECKS) <= set(ALL)


def test_notebooks_are_stored_valid_and_without_outputs():
    for name in ALL:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
        assert dirty == [], f"{name}: cells {dirty} were committed with outputs"
        assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", ALL)
def test_notebook_runs_without_errors(name, python3_kernel, aws_env, tmp_path):
    path = copy_notebook(NOTEBOOKS / name, tmp_path)
    nb = execute(
        path,
        kernel_name=python3_kernel,
        env=aws_env,
        timeout=300,
        parameters=PARAMETERS.get(name),
    )
    assert problems(nb) == [], f"executed notebook kept at {path}"
    code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code_cells)
    if name in CHECKS:
        CHECKS[name](nb, tmp_path)
