"""Driving a JupyterLab page in headless Chromium: launch, open, run, inspect outputs.

The page is cut off from everything but 127.0.0.1; requests elsewhere are aborted and
recorded, so a chart that renders proves it needed no internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from lab_server import JupyterLab
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"  # screenshots and server logs (gitignored)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
VEGA_SELECTOR = ".vega-embed svg.marks, .vega-embed canvas.marks"

# Every output of every code cell of the notebook in the main area, as nbformat dicts.
_OUTPUTS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  const result = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      result.push({cell: i, output: cell.outputs.get(j).toJSON()});
    }
  }
  return result;
}"""

_ALL_EXECUTED_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext.session) return false;
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code' && cell.sharedModel.getSource().trim()
        && typeof cell.executionCount !== 'number') return false;
  }
  return panel.sessionContext.session.kernel.status === 'idle';
}"""


def launch_chromium(playwright: Playwright, executable: str) -> Browser:
    """Headless Debian Chromium with background networking and first-run noise off."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


class OfflineContext:
    """A browser context whose requests may only reach 127.0.0.1; others are recorded."""

    def __init__(self, browser: Browser, width: int = 1400, height: int = 1100):
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.console_warnings: list[str] = []
        self.context: BrowserContext = browser.new_context(
            viewport={"width": width, "height": height}
        )
        self.context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def new_page(self) -> Page:
        """A page in this context, its console errors and warnings collected."""
        page = self.context.new_page()
        page.on("console", self._console)
        return page

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)
        elif message.type == "warning":
            self.console_warnings.append(message.text)

    def close(self) -> None:
        """Close the context and its pages."""
        self.context.close()


def open_notebook(page: Page, lab: JupyterLab, notebook: str, timeout: float = 90.0) -> None:
    """Open ``notebook`` in JupyterLab and wait for its kernel to be idle."""
    page.goto(lab.lab_url(notebook))
    page.wait_for_function(
        """() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                   return !!(p && p.sessionContext && p.sessionContext.session
                             && p.sessionContext.session.kernel
                             && p.sessionContext.session.kernel.status === 'idle'); }""",
        timeout=timeout * 1000,
    )


def click_menu(page: Page, menu: str, item: str) -> None:
    """Click ``item`` in the main menu ``menu`` (e.g. Run > Run All Cells)."""
    page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def run_all_cells(page: Page) -> None:
    """Run > Run All Cells, as a user would."""
    click_menu(page, "Run", "Run All Cells")


def wait_all_executed(page: Page, timeout: float = 120.0) -> None:
    """Wait until every non-empty code cell has an execution count and the kernel is idle."""
    page.wait_for_function(_ALL_EXECUTED_JS, timeout=timeout * 1000, polling=250)


def outputs(page: Page) -> list[dict[str, Any]]:
    """Every output of the current notebook: ``{"cell": index, "output": nbformat dict}``."""
    return page.evaluate(_OUTPUTS_JS)


def error_outputs(page: Page) -> list[str]:
    """Error outputs (exceptions) and widget-rendering failures, as readable lines."""
    errors = [
        f"cell {o['cell']}: {o['output'].get('ename')}: {o['output'].get('evalue')}"
        for o in outputs(page)
        if o["output"].get("output_type") == "error"
    ]
    errors += page.locator(
        ".jp-OutputArea-output:has-text('Error displaying widget')"
    ).all_inner_texts()
    return errors


def vega_views(page: Page) -> int:
    """How many Vega views have drawn marks (SVG or canvas) on the page."""
    return page.locator(VEGA_SELECTOR).count()


def cell_index(page: Page, tag: str) -> int:
    """The index of the first cell carrying metadata tag ``tag`` (ValueError if none)."""
    index = page.evaluate(
        """(tag) => {
          const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
          for (let i = 0; i < cells.length; i++) {
            if ((cells.get(i).getMetadata('tags') || []).includes(tag)) return i;
          }
          return -1;
        }""",
        tag,
    )
    if index < 0:
        raise ValueError(f"no cell is tagged {tag!r}")
    return index


def select_cell(page: Page, index: int) -> None:
    """Select cell ``index`` by clicking its input prompt, as a user would."""
    page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-InputPrompt").click()


def wait_cells_executed(page: Page, upto: int, timeout: float = 120.0) -> None:
    """Wait until code cells ``0..upto`` have execution counts and the kernel is idle."""
    page.wait_for_function(
        """(upto) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const cells = panel.content.model.cells;
          for (let i = 0; i <= upto; i++) {
            const cell = cells.get(i);
            if (cell.type === 'code' && typeof cell.executionCount !== 'number') return false;
          }
          return panel.sessionContext.session.kernel.status === 'idle';
        }""",
        arg=upto,
        timeout=timeout * 1000,
        polling=250,
    )


def run_to_tagged_cell(page: Page, tag: str, timeout: float = 180.0) -> int:
    """Run every cell up to and including the one tagged ``tag``, through the Run menu as a
    user would, and wait until they ran; returns that cell's index."""
    index = cell_index(page, tag)
    select_cell(page, index)
    click_menu(page, "Run", "Run All Above Selected Cell")
    click_menu(page, "Run", "Run Selected Cell and Do not Advance")
    wait_cells_executed(page, index, timeout=timeout)
    return index


def progress_fractions(page: Page, scope: str) -> list[float]:
    """The fill (0 to 1) of every ipywidgets progress bar inside ``scope``."""
    return page.evaluate(
        """(scope) => [...document.querySelectorAll(
             scope + ' .widget-hprogress .progress-bar')].map(
             e => parseFloat(e.style.width || '0') / 100)""",
        scope,
    )


def vega_mark_counts(page: Page, scope: str) -> list[int]:
    """Per Vega view inside ``scope``: how many data mark items (not axes) it drew."""
    return page.evaluate(
        """(scope) => [...document.querySelectorAll(scope + ' .vega-embed')].map(
             e => e.querySelectorAll('g.role-mark > *').length)""",
        scope,
    )
