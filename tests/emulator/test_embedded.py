"""The embedded emulator: its own process, reused, one per time scale, gone with its parent;
and the emulator's CloudWatch process, gone with the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from sm_bench_widgets.emulator import LocalServerless, embedded
from sm_bench_widgets.emulator.process import ServedEmulator, served
from tests.waiting import wait_until


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_embedded_runs_in_its_own_process_reused_per_time_scale():
    first = embedded(time_scale=0.05)
    assert isinstance(first, ServedEmulator) and first.running
    assert first.process.pid != os.getpid()
    assert embedded(time_scale=0.05) is first
    target = first.target()
    assert target.emulated and target.endpoint_url == first.endpoint_url
    assert target.client("sts").get_caller_identity()["Account"] == "123456789012"
    names = {m["ModelName"] for m in target.client("sagemaker").list_models()["Models"]}
    assert {"demo-tabular", "demo-nlp", "demo-mlp"} <= names
    other = embedded(time_scale=0.1)  # another scale: a process of its own at that scale
    assert other is not first and other.process.pid != first.process.pid
    assert other.time_scale == 0.1


def test_in_process_option_gives_the_emulator_itself():
    local = embedded(time_scale=1.0, in_process=True)
    assert isinstance(local, LocalServerless) and local.running
    assert embedded(in_process=True) is local
    try:
        assert local.registry.containers  # its internals are at hand
    finally:
        local.stop()


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_the_emulator_process_ends_with_its_parent(how):
    script = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from sm_bench_widgets.emulator import embedded
        print(embedded(time_scale=0.05).process.pid, flush=True)
        sys.stdin.readline()
        if {how == "is killed"!r}:
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.stdin.write("go\n")
        parent.stdin.flush()
        parent.wait(60)
        wait_until(lambda: not alive(child), 60, f"emulator {child} outlived its parent")
    finally:
        parent.kill()
        parent.wait()


def test_cloudwatch_process_ends_when_the_emulator_is_killed():
    with served(time_scale=0.05) as emulator:
        cw = emulator.target().client("cloudwatch")
        assert cw.list_metrics(Namespace="AWS/SageMaker")["Metrics"] == []
        metrics = [p.pid for p in psutil.Process(emulator.process.pid).children()]
        assert len(metrics) == 1  # CloudWatch's own process
        emulator.process.send_signal(signal.SIGKILL)
        emulator.process.wait(30)
        wait_until(
            lambda: not alive(metrics[0]), 60, "the CloudWatch process outlived its emulator"
        )
