"""How responsive the notebook stays while a benchmark runs, and how fresh its live charts are.

Measured in a real browser: JupyterLab on 127.0.0.1 and headless Chromium (Debian's
``/usr/bin/chromium``), offline. A notebook displays a ``BenchmarkPanel`` on a local
emulator; the panel's Run button is clicked, and while the run goes on:

* a trivial cell (``1+1``) is executed again and again from the page (the ``notebook:run-cell``
  command, i.e. the Run button of the toolbar) and timed in the page from the command to its
  reply, against the same cell with no run going on;
* every invocation's delay from finishing (its ``end`` time) to its appearance in the chart
  data is taken twice: in the kernel, when the panel has applied it to the live charts (the
  panel's ``chart_observers`` hook), and in the browser, when the chart-data message
  carrying it arrives over the kernel's websocket (the kernel stamps each message with its
  send time; the page records the arrival).

Two runs: demo-tabular on the emulator in real time (``time_scale`` 1.0), and the same with
the emulator's clock 20 times faster (``time_scale`` 0.05), so the invocation rate is as
high as the emulator can serve. Usage::

    python benchmarks/notebook_latency.py [--samples 30] [--invocations 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

from lab_page import OfflineContext, launch_chromium, open_notebook  # noqa: E402
from lab_server import JupyterLab  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SCENARIOS = {"real time": 1.0, "clock x20": 0.05}

SETUP = """\
import json, time
from sm_bench_widgets import BenchmarkPanel
from sm_bench_widgets.emulator import LocalServerless

def make_panel(name, time_scale, invocations, folder):
    \"\"\"A panel on a fresh emulator whose chart updates are recorded to <name>.json.\"\"\"
    emulator = LocalServerless(time_scale=time_scale, seed=1).start()
    panel = BenchmarkPanel(
        target=emulator.target(),
        model_name="demo-tabular",
        invoke_args_examples=[{"Body": "1,2,3,4", "ContentType": "text/csv"}],
        memory_sizes=[1024, 2048, 3072],
        stability_benchmark_invocations=invocations,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_benchmark_invocations=invocations,
        concurrency_num_clients_multiplier=[1, 2],
        adaptive=False,
        result_save_path=folder,
    )
    records = []
    panel.chart_observers.append(
        lambda rows, applied: records.append([applied, [r["end"] for r in rows]]))
    panel.records = records
    return panel

def save_records(panel, name):
    with open(f"{name}.json", "w") as f:
        json.dump({"records": panel.records, "invocations": len(panel.result.invocations),
                   "start": float(panel.result.invocations["start"].min()),
                   "end": float(panel.result.invocations["end"].max())}, f)
"""

TRIVIAL = "1+1"

# Records when each chart-data message (ipywidgets state with _py_to_js_updates) arrives,
# and the send time the kernel put in its header.
TAP_WEBSOCKET = """
(() => {
  window.__chartFrames = [];
  const Native = window.WebSocket;
  class Tapped extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const arrival = performance.timeOrigin + performance.now();
        let text = null;
        if (typeof event.data === 'string') text = event.data;
        else if (event.data instanceof ArrayBuffer) text = new TextDecoder().decode(event.data);
        if (text === null || text.indexOf('_py_to_js_updates') < 0) return;
        const date = text.match(/"date":\\s*"([^"]+)"/);
        window.__chartFrames.push({arrival: arrival, date: date ? date[1] : null,
                                   timeline: text.indexOf('timeline_points') >= 0});
      });
    }
  }
  window.WebSocket = Tapped;
})();
"""

RUN_CELL = """async (index) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  panel.content.activeCellIndex = index;
  const before = panel.content.model.cells.get(index).executionCount;
  const t0 = performance.now();
  await app.commands.execute('notebook:run-cell');
  const elapsed = performance.now() - t0;
  const cell = panel.content.model.cells.get(index);
  const out = cell.outputs.length ? cell.outputs.get(0).toJSON() : {};
  const errors = [];
  for (let i = 0; i < cell.outputs.length; i++) {
    const o = cell.outputs.get(i).toJSON();
    if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  }
  return {elapsed: elapsed, ran: cell.executionCount !== before, errors: errors,
          text: out.data ? out.data['text/plain'] : (out.text || '')};
}"""


def build_notebook(path: Path, invocations: int) -> dict[str, int]:
    """The notebook: setup, one panel cell and one save cell per run, the trivial cell."""
    cells = [nbformat.v4.new_code_cell(SETUP)]
    index = {"setup": 0}
    for name, scale in SCENARIOS.items():
        key = name.replace(" ", "_")
        index[f"panel:{name}"] = len(cells)
        cells.append(
            nbformat.v4.new_code_cell(
                f"panel_{key} = make_panel({key!r}, {scale}, {invocations}, 'results')\npanel_{key}"
            )
        )
        index[f"save:{name}"] = len(cells)
        cells.append(nbformat.v4.new_code_cell(f"save_records(panel_{key}, {key!r})"))
    index["trivial"] = len(cells)
    cells.append(nbformat.v4.new_code_cell(TRIVIAL))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return index


def run_cell(page, index: int) -> dict:
    """Execute cell ``index`` from the page; elapsed ms from command to reply."""
    result = page.evaluate(RUN_CELL, index)
    if result["errors"]:
        raise RuntimeError(f"cell {index} failed: {result['errors']}")
    return result


def time_trivial(page, index: int) -> float:
    """One execution of the trivial cell, in ms; checks it answered 2."""
    result = run_cell(page, index)
    if not result["ran"] or result["text"] != "2":
        raise RuntimeError(f"the trivial cell did not answer 2: {result}")
    return result["elapsed"]


def quantiles(values: list[float]) -> dict[str, float]:
    """Median, p90 and max of ``values`` (NaN when empty)."""
    if not values:
        return {"n": 0, "median": float("nan"), "p90": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {"n": len(values), "median": statistics.median(values), "p90": p90, "max": ordered[-1]}


def _epoch_ms(iso: str) -> float:
    stamp = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp() * 1000


def chart_delays(records: list, frames: list[dict]) -> dict[str, list[float]]:
    """Per invocation: end -> applied in the kernel, and end -> arrived in the browser (ms).

    A refresh's timeline message was sent after the previous refresh was applied and before
    this one was (the panel stamps ``applied`` after sending); its arrival in the page is
    when that refresh's invocations reached the browser's chart data.
    """
    kernel, browser, transport = [], [], []
    timeline = sorted(
        (_epoch_ms(f["date"]), f["arrival"]) for f in frames if f["timeline"] and f["date"]
    )
    transport = [arrival - sent for sent, arrival in timeline]
    previous = 0.0
    for applied, ends in sorted(records, key=lambda r: r[0]):
        applied_ms = applied * 1000
        kernel.extend(applied_ms - end * 1000 for end in ends)
        sent = [a for s, a in timeline if previous < s <= applied_ms]
        if sent:
            browser.extend(sent[0] - end * 1000 for end in ends)
        previous = applied_ms
    return {"kernel": kernel, "browser": browser, "transport": transport}


def measure(samples: int, invocations: int) -> dict:
    """Run everything; the figures by scenario."""
    from playwright.sync_api import sync_playwright

    figures: dict = {}
    with (
        tempfile.TemporaryDirectory(prefix="nb-latency-") as root,
        JupyterLab(root) as lab,
        sync_playwright() as playwright,
    ):
        index = build_notebook(Path(root) / "latency.ipynb", invocations)
        browser = launch_chromium(playwright, CHROMIUM)
        context = OfflineContext(browser, 1400, 2000)
        context.context.add_init_script(TAP_WEBSOCKET)
        page = context.new_page()
        open_notebook(page, lab, "latency.ipynb")
        run_cell(page, index["setup"])
        time_trivial(page, index["trivial"])  # warm up
        figures["idle"] = {
            "trivial": [time_trivial(page, index["trivial"]) for _ in range(samples)]
        }
        for number, name in enumerate(SCENARIOS):
            run_cell(page, index[f"panel:{name}"])
            panel = page.locator(".smb-panel").nth(number)
            panel.locator("button:text-is('Run')").click()
            page.evaluate("() => { window.__chartFrames = []; }")
            started = time.monotonic()
            trivial = []
            card = panel.locator(".smb-card")
            page.wait_for_timeout(300)
            while not (card.count() and card.first.is_visible()):
                trivial.append(time_trivial(page, index["trivial"]))
                page.wait_for_timeout(100)
                if time.monotonic() - started > 900:
                    raise TimeoutError(f"{name}: the run did not end within 900 s")
            frames = page.evaluate("() => window.__chartFrames")
            run_cell(page, index[f"save:{name}"])
            saved = json.loads((Path(root) / f"{name.replace(' ', '_')}.json").read_text())
            delays = chart_delays(saved["records"], frames)
            span = saved["end"] - saved["start"]
            figures[name] = {
                "trivial": trivial,
                **delays,
                "invocations": saved["invocations"],
                "span_s": span,
                "rate": saved["invocations"] / span if span > 0 else 0.0,
            }
        page.wait_for_timeout(2000)  # let the last refreshes and endpoint deletions settle
        figures["idle after"] = {
            "trivial": [time_trivial(page, index["trivial"]) for _ in range(samples)]
        }
        browser.close()
    return figures


def report(figures: dict) -> str:
    """The figures as a table: rows by measure, columns no run (before, after) and each run."""
    runs = list(SCENARIOS)
    lines = [f"{'':44}{'no run':>10}{'no run after':>14}" + "".join(f"{c:>18}" for c in runs)]
    idle = quantiles(figures["idle"]["trivial"])
    after = quantiles(figures["idle after"]["trivial"])
    for stat in ("median", "p90", "max"):
        row = f"{'trivial cell 1+1, ' + stat + ' (ms)':44}{idle[stat]:>10.1f}{after[stat]:>14.1f}"
        for run in runs:
            q = quantiles(figures[run]["trivial"])
            row += f"{q[stat]:>10.1f} (x{q[stat] / idle[stat]:.1f})"
        lines.append(row)
    lines.append(
        f"{'trivial cell samples':44}{idle['n']:>10}{after['n']:>14}"
        + "".join(f"{len(figures[r]['trivial']):>18}" for r in runs)
    )
    blank = f"{'-':>10}{'-':>14}"
    lines.append(
        f"{'invocations / s during the run':44}{blank}"
        + "".join(f"{figures[r]['rate']:>18.0f}" for r in runs)
    )
    for key, title in (
        ("kernel", "end -> chart data in kernel"),
        ("browser", "end -> chart data in browser"),
        ("transport", "chart update kernel -> browser"),
    ):
        for stat in ("median", "p90", "max"):
            row = f"{title + ', ' + stat + ' (ms)':44}{blank}"
            row += "".join(f"{quantiles(figures[r][key])[stat]:>18.0f}" for r in runs)
            lines.append(row)
    lines.append(
        f"{'invocations timed to the browser':44}{blank}"
        + "".join(f"{len(figures[r]['browser']):>18}" for r in runs)
    )
    lines.append("(x: ratio to the trivial cell with no run before; ms of wall clock)")
    return "\n".join(lines)


def main() -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--samples",
        type=int,
        default=30,
        help="executions of the trivial cell with no run (default 30)",
    )
    parser.add_argument(
        "--invocations",
        type=int,
        default=300,
        help="invocations per trial of each run (default 300)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    figures = measure(args.samples, args.invocations)
    print(report(figures))
    print(f"(measured in JupyterLab + headless Chromium in {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
