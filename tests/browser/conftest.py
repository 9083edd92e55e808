"""Fixtures for browser tests: Debian Chromium, Playwright, a JupyterLab server, offline pages.

Chromium is installed with apt-get when missing and we are root; otherwise the tests skip
with the reason, except under CI (``CI`` set) where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_page import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI where every browser test must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _install_chromium() -> str | None:
    """Install Debian's chromium with apt-get; the reason it could not, or None."""
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return f"{CHROMIUM} is missing and installing it needs root"
    if shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and apt-get is not available to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}"
    return None if os.path.exists(CHROMIUM) else f"apt-get installed no {CHROMIUM}"


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The path of Debian's Chromium, installed first if needed and possible."""
    if not os.path.exists(CHROMIUM):
        reason = _install_chromium()
        if reason:
            _unavailable(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[object]:
    """A headless Chromium driven by Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install '.[test]')")
    from lab_page import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, chromium_executable)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory the JupyterLab server serves; tests copy notebooks into it."""
    return tmp_path_factory.mktemp("lab-root")


@pytest.fixture(scope="session")
def lab(lab_root: Path) -> Iterator[object]:
    """A JupyterLab server on 127.0.0.1 with a token, stopped at the end of the session."""
    from lab_server import JupyterLab

    server = JupyterLab(lab_root)
    server.start()
    yield server
    server.stop()
    (ARTIFACTS / "jupyterlab-server.log").parent.mkdir(exist_ok=True)
    (ARTIFACTS / "jupyterlab-server.log").write_text(server.log_text())
    server.cleanup()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Remember each phase's report on the item so fixtures can see a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def offline(browser: object) -> Iterator[object]:
    """A browser context that can reach only 127.0.0.1."""
    from lab_page import OfflineContext

    context = OfflineContext(browser)
    yield context
    context.close()


@pytest.fixture
def page(offline: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A page in the offline context; a screenshot is kept in test-artifacts/ on failure."""
    page = offline.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
