"""The inference.py host: real worker processes serving real scripts, including demo-mlp."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from sm_bench_widgets.emulator.handler_host import (
    HandlerInvokeError,
    HandlerOutOfMemory,
    HandlerStartError,
    HandlerTimeout,
    HandlerWorker,
)
from sm_bench_widgets.emulator.server import DEMO_MLP_DIR
from tests.waiting import wait_until

CSV = "text/csv"
JSON = "application/json"


def script_dir(tmp_path: Path, source: str, **siblings: str) -> str:
    """A directory holding inference.py (and any sibling modules) with the given source."""
    (tmp_path / "inference.py").write_text(textwrap.dedent(source))
    for name, text in siblings.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
    return str(tmp_path)


def gone(pid: int) -> bool:
    """True once the process no longer runs (exited, or a zombie awaiting its reaper)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pid: int) -> None:
    """Wait until process ``pid`` has ended; fail the test if it still runs after 30 s."""
    wait_until(lambda: gone(pid), 30, f"process {pid} still runs")


def mlp_reference(x: np.ndarray) -> np.ndarray:
    """demo-mlp's forward pass computed here, straight from the shipped weights."""
    with np.load(DEMO_MLP_DIR / "weights.npz") as w:
        z = (x - w["x_mean"]) / w["x_std"]
        h1 = np.tanh(z @ w["w1"] + w["b1"])
        h2 = np.tanh(h1 @ w["w2"] + w["b2"])
        return (h2 @ w["w3"] + w["b3"])[:, 0] * w["y_std"] + w["y_mean"]


@pytest.fixture(scope="module")
def mlp() -> HandlerWorker:
    worker = HandlerWorker.start(str(DEMO_MLP_DIR))
    yield worker
    worker.close()


ROWS = np.random.default_rng(3).normal(size=(7, 4))


def test_demo_mlp_csv_matches_numpy(mlp: HandlerWorker) -> None:
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in ROWS).encode()
    out, out_type = mlp.invoke(body, CSV, "*/*")
    assert out_type == CSV
    lines = out.decode().splitlines()
    assert len(lines) == len(ROWS)
    np.testing.assert_allclose([float(v) for v in lines], mlp_reference(ROWS), rtol=1e-12)


def test_demo_mlp_json_matches_numpy(mlp: HandlerWorker) -> None:
    body = json.dumps({"instances": ROWS.tolist()}).encode()
    out, out_type = mlp.invoke(body, JSON, "")
    assert out_type == JSON
    predictions = json.loads(out)["predictions"]
    np.testing.assert_allclose(predictions, mlp_reference(ROWS), rtol=1e-12)


def test_demo_mlp_honours_accept(mlp: HandlerWorker) -> None:
    out, out_type = mlp.invoke(b"0,0,0,0\n1,1,1,1\n", CSV, JSON)
    assert out_type == JSON
    assert len(json.loads(out)["predictions"]) == 2


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        (b"1,2,3\n", CSV, 400, "expected 4 features per row, got 3 in row 1"),
        (b'{"instances": [[1, 2, 3, 4], [5]]}', JSON, 400, "expected 4 features per row, got 1"),
        (b"1,2,x,4\n", CSV, 400, "row 1 is not numeric"),
        (b"1,2,3,4", "application/x-npy", 415, "not supported"),
    ],
)
def test_demo_mlp_bad_input_is_a_clear_error(
    mlp: HandlerWorker, body: bytes, content_type: str, status: int, fragment: str
) -> None:
    with pytest.raises(HandlerInvokeError) as info:
        mlp.invoke(body, content_type, "")
    assert info.value.status_code == status
    assert fragment in info.value.message
    assert mlp.alive
    assert mlp.invoke(b"1,2,3,4\n", CSV, "")[1] == CSV


def test_demo_mlp_measurements(mlp: HandlerWorker) -> None:
    assert mlp.setup_seconds > 0
    rss = psutil.Process(mlp.pid).memory_info().rss / 2**20
    assert 5 < mlp.footprint_mb < 1024
    assert mlp.footprint_mb == pytest.approx(rss, rel=0.5)
    assert mlp.peak_mb >= mlp.footprint_mb


def test_the_demo_script_imports_no_emulator_server() -> None:
    """demo-mlp imports its CSV parser from the package: its cold start must not load moto."""
    probe = "import sys, sm_bench_widgets.emulator.demo_io; print('moto' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_invoke_from_several_threads(mlp: HandlerWorker) -> None:
    results: dict[int, bytes] = {}

    def call(i: int) -> None:
        results[i] = mlp.invoke(f"{i},0,0,0\n".encode(), CSV, "")[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    expected = mlp_reference(np.array([[i, 0, 0, 0] for i in range(6)], dtype=float))
    got = [float(results[i]) for i in range(6)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_setup_seconds_is_a_real_cold_start(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        import time

        def model_fn(model_dir):
            time.sleep(0.3)
            return "ready"

        def predict_fn(data, model):
            return [model]
        """,
    )
    first = HandlerWorker.start(source)
    second = HandlerWorker.start(source)
    try:
        assert first.setup_seconds >= 0.3
        assert second.setup_seconds >= 0.3
        assert first.pid != second.pid
        assert first.invoke(b"[]", JSON, "") == (b'["ready"]', JSON)
    finally:
        first.close()
        second.close()


def test_default_handlers_with_only_model_fn(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        class RowSum:
            def predict(self, data):
                return data.sum(axis=1)

        def model_fn(model_dir):
            return RowSum()
        """,
    )
    with HandlerWorker.start(source) as worker:
        assert worker.invoke(b"[[1, 2], [3, 4]]", JSON, "*/*") == (b"[3, 7]", JSON)
        assert worker.invoke(b"[[1.5, 2], [3, 4]]", JSON, "") == (b"[3.5, 7.0]", JSON)
        assert worker.invoke(b"1,2\n3,4\n", CSV, "") == (b"3.0\n7.0\n", CSV)
        out, out_type = worker.invoke(b"1,2\n3,4\n", CSV, "application/x-npy")
        assert out_type == "application/x-npy"
        np.testing.assert_array_equal(np.load(io.BytesIO(out)), [3.0, 7.0])
        with pytest.raises(HandlerInvokeError) as info:
            worker.invoke(b"\x00", "application/octet-stream", "")
        assert info.value.status_code == 415


def test_user_exception_becomes_invoke_error(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        def model_fn(model_dir):
            return None

        def input_fn(body, content_type):
            return body

        def predict_fn(data, model):
            if data == "fail":
                raise ValueError("cannot score 'fail'")
            return data.upper()

        def output_fn(prediction, accept):
            return prediction, "text/plain"
        """,
    )
    with HandlerWorker.start(source) as worker:
        with pytest.raises(HandlerInvokeError) as info:
            worker.invoke(b"fail", CSV, "")
        assert info.value.status_code == 500
        assert info.value.message == "ValueError: cannot score 'fail'"
        assert "predict_fn" in info.value.traceback
        assert worker.alive
        assert worker.invoke(b"ok", CSV, "") == (b"OK", "text/plain")


def test_model_fn_failure_is_a_start_error(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        def model_fn(model_dir):
            raise FileNotFoundError("model.pt is missing")
        """,
    )
    with pytest.raises(HandlerStartError) as info:
        HandlerWorker.start(source)
    assert not info.value.out_of_memory
    assert "FileNotFoundError: model.pt is missing" in info.value.message


def test_start_timeout_kills_a_slow_model_fn(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        import time

        def model_fn(model_dir):
            time.sleep(60)
        """,
    )
    started = time.monotonic()
    with pytest.raises(HandlerStartError, match="did not load within 0.5 s") as info:
        HandlerWorker.start(source, start_timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert not info.value.out_of_memory


def test_missing_program_fails_before_starting(tmp_path: Path) -> None:
    with pytest.raises(HandlerStartError, match="serve.py"):
        HandlerWorker.start(str(tmp_path), program="serve.py")


def test_env_model_dir_siblings_and_prints(tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "answer.txt").write_text("42")
    code = tmp_path / "code"
    code.mkdir()
    source = script_dir(
        code,
        """
        import os
        import helper

        def model_fn(model_dir):
            print("loading from", model_dir)
            with open(os.path.join(model_dir, "answer.txt")) as f:
                return {"answer": f.read(), "flavour": os.environ["FLAVOUR"]}

        def transform_fn(model, data, content_type, accept):
            print("serving", data)
            return helper.render(model), "application/json"
        """,
        helper="""
        import json

        def render(model):
            return json.dumps(model)
        """,
    )
    env = {"FLAVOUR": "vanilla", "SM_MODEL_DIR": str(weights)}
    with HandlerWorker.start(source, env=env) as worker:
        out, out_type = worker.invoke(b"[1]", JSON, "")
        assert json.loads(out) == {"answer": "42", "flavour": "vanilla"}
        assert out_type == JSON
        wait_until(
            lambda: any("serving" in line for line in worker.stderr_tail),
            30,
            "the worker's 'serving' line did not reach stderr_tail",
        )
        assert any(f"loading from {weights}" in line for line in worker.stderr_tail)


def test_six_megabyte_bodies_pass_unchanged(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        def model_fn(model_dir):
            return None

        def transform_fn(model, data, content_type, accept):
            return bytes(reversed(data)), "application/octet-stream"
        """,
    )
    body = os.urandom(6 * 2**20)
    with HandlerWorker.start(source) as worker:
        out, _ = worker.invoke(body, "application/octet-stream", "")
        assert out == body[::-1]


def test_timeout_kills_the_worker(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        import time

        def model_fn(model_dir):
            return None

        def transform_fn(model, data, content_type, accept):
            time.sleep(60)
        """,
    )
    worker = HandlerWorker.start(source)
    started = time.monotonic()
    with pytest.raises(HandlerTimeout):
        worker.invoke(b"x", CSV, "", timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert not worker.alive
    wait_gone(worker.pid)
    worker.close()


def test_memory_limit_at_start(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        import numpy as np

        def model_fn(model_dir):
            return np.ones(300 * 2**20 // 8)
        """,
    )
    with pytest.raises(HandlerStartError) as info:
        HandlerWorker.start(source, memory_limit_mb=200)
    assert info.value.out_of_memory
    assert "insufficient memory" in info.value.message
    assert "200 MB" in info.value.message


MEMORY_HOG = """
import time
import numpy as np

def model_fn(model_dir):
    return None

def transform_fn(model, data, content_type, accept):
    block = np.ones(300 * 2**20 // 8)
    if data == "hold":
        time.sleep(30)
    return str(block.size)
"""


def test_memory_limit_while_serving_kills_the_worker(tmp_path: Path) -> None:
    worker = HandlerWorker.start(script_dir(tmp_path, MEMORY_HOG), memory_limit_mb=200)
    assert worker.footprint_mb < 200
    started = time.monotonic()
    with pytest.raises(HandlerOutOfMemory) as info:
        worker.invoke(b"hold", CSV, "")
    assert time.monotonic() - started < 10
    assert info.value.peak_mb > 200
    assert "insufficient memory" in info.value.message
    assert not worker.alive
    wait_gone(worker.pid)
    worker.close()


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak RSS needs Linux /proc")
def test_short_memory_spike_is_caught(tmp_path: Path) -> None:
    worker = HandlerWorker.start(script_dir(tmp_path, MEMORY_HOG), memory_limit_mb=200)
    with pytest.raises(HandlerOutOfMemory):
        worker.invoke(b"spike", CSV, "")
    assert not worker.alive
    worker.close()


def test_close_kills_the_worker_and_its_children(tmp_path: Path) -> None:
    source = script_dir(
        tmp_path,
        """
        import subprocess
        import sys

        def model_fn(model_dir):
            return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

        def transform_fn(model, data, content_type, accept):
            return str(model.pid)
        """,
    )
    worker = HandlerWorker.start(source)
    child = int(worker.invoke(b"", CSV, "")[0])
    assert worker.alive and not gone(child)
    worker.close()
    assert not worker.alive
    wait_gone(worker.pid)
    wait_gone(child)
    worker.close()
    with pytest.raises(HandlerInvokeError):
        worker.invoke(b"", CSV, "")
