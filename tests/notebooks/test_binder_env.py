"""The Binder environment: built from binder/ alone in a fresh virtual environment, it runs
the quickstart.

mybinder.org (repo2docker) clones the repository, installs ``binder/requirements.txt``
with pip from the repository root (after ``runtime.txt`` chose the Python), runs
``binder/postBuild`` if there is one, and serves Jupyter from the same environment. This test
does the same in a venv, then executes the quickstart with a kernel from that venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbrun import NOTEBOOKS, REPO, execute, problems

BINDER = REPO / "binder"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

PROBE = """\
import sys, sm_bench_widgets
print("prefix:", sys.prefix)
print("package:", sm_bench_widgets.__file__)"""


def _runtime_python() -> str:
    """An interpreter of the version binder/runtime.txt asks for (this one if it matches)."""
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-"), runtime
    wanted = runtime.removeprefix("python-")
    if ".".join(map(str, sys.version_info[:2])) == wanted:
        return sys.executable
    found = shutil.which(f"python{wanted}")
    if found is None:
        pytest.skip(f"binder/runtime.txt asks for Python {wanted}, not installed here")
    return found


def _copy_repository(dest: Path) -> Path:
    """The repository as a clone would have it: tracked and new, not ignored, files."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1500)
    output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{output}"


def test_binder_files_build_an_environment_that_runs_the_quickstart(tmp_path, monkeypatch):
    assert (BINDER / "requirements.txt").exists()
    repo = _copy_repository(tmp_path / "repo")
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    _run([_runtime_python(), "-m", "venv", str(venv)], tmp_path, env)
    # What repo2docker does, in its order; the pip cache is reused to keep this quick.
    _run([str(python), "-m", "pip", "install", "-r", "binder/requirements.txt"], repo, env)
    if (BINDER / "postBuild").exists():
        _run(["bash", "binder/postBuild"], repo, env)

    kernels = tmp_path / "jupyter" / "kernels" / "binder-venv"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Binder venv",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    path = work / "quickstart.ipynb"
    nbformat.write(nb, path)

    env["HOME"] = str(tmp_path / "home")  # no AWS profile or config from this machine
    ran = execute(path, kernel_name="binder-venv", env=env, timeout=600)
    assert problems(ran) == [], f"executed notebook kept at {path}"
    probe = "".join(o.get("text", "") for o in ran.cells[-1].outputs)
    assert f"prefix: {venv}" in probe
    assert f"package: {venv}" in probe  # installed from the repository, not this checkout
    text = "".join(o.get("text", "") for c in ran.cells for o in c.get("outputs", []))
    assert "Deploy " in text
