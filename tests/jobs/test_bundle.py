"""The job's code: wheels built from the installed package install offline and run alone."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from sm_bench_widgets.jobs.bundle import build_code

PIP = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet"]


def isolated(site: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    """``code`` run with ``site`` first and site-packages read without its .pth files, so the
    editable install of this checkout cannot stand in for the wheel."""
    purelib = sysconfig.get_paths()["purelib"]
    prelude = f"import sys; sys.path.insert(0, {str(site)!r}); sys.path.append({purelib!r})\n"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=site,
    )


def test_the_wheels_install_offline_and_the_entrypoint_runs_from_them_alone(tmp_path):
    files = build_code(tmp_path / "code")
    wheels = sorted((tmp_path / "code" / "wheels").glob("*.whl"))
    assert tmp_path / "code" / "bootstrap.py" in files
    assert {w.name.split("-")[0] for w in wheels} == {"sm_bench_widgets", "Jinja2", "MarkupSafe"}
    for wheel in wheels:
        names = zipfile.ZipFile(wheel).namelist()
        assert not any(n.endswith((".so", ".pyd", ".pyc")) for n in names)
        assert {"METADATA", "WHEEL", "RECORD"} <= {n.rsplit("/", 1)[-1] for n in names}

    site = tmp_path / "site"
    done = subprocess.run(
        [*PIP, "--target", str(site), *map(str, wheels)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (site / "sm_bench_widgets" / "emulator" / "models").is_dir()

    check = isolated(
        site,
        "import sm_bench_widgets, sm_bench_widgets.api, sm_bench_widgets.result, markupsafe\n"
        "print(sm_bench_widgets.__file__); print(markupsafe.escape('<b>'))",
    )
    assert check.returncode == 0, check.stderr
    module_file, escaped = check.stdout.split()
    assert Path(module_file).is_relative_to(site) and escaped == "&lt;b&gt;"

    run = isolated(
        site,
        "import runpy, sys; sys.argv[0] = 'entrypoint'\n"
        "runpy.run_module('sm_bench_widgets.jobs.entrypoint', run_name='__main__')",
        "--help",
    )
    assert run.returncode == 0, run.stderr
    assert "usage: sm-bench-job" in run.stdout


def test_bootstrap_installs_the_wheels_and_runs_the_entrypoint_with_its_arguments(tmp_path):
    build_code(tmp_path / "code")
    done = subprocess.run(
        [sys.executable, str(tmp_path / "code" / "bootstrap.py"), "--input", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2  # the entrypoint's exit status: a bad input
    assert "sm-bench job: error: input=" in done.stderr


def test_bootstrap_without_wheels_fails_clearly(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "bootstrap.py").write_bytes((Path(build_code(tmp_path / "full")[0])).read_bytes())
    done = subprocess.run(
        [sys.executable, str(code / "bootstrap.py")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "no wheels" in done.stderr
