"""The panel's Processing-job mode on the emulator: the job form, a job followed live to its
card, Stop, attach by name, and a new panel that offers to reattach instead of launching."""

from __future__ import annotations

import re
import threading

import pytest

from sm_bench_widgets.api import ProcessingJobHandle
from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.widgets import job_form
from sm_bench_widgets.widgets.job_state import recalled
from tests.waiting import wait_until

JOB_S = 300  # a job's whole life on the emulator, with room for a loaded machine
ROLE_PATTERN = re.compile(r"^arn:aws:iam::\d{12}:role/sm-bench-job$")


@pytest.fixture
def folder(tmp_path):
    """The notebook folder the panels remember their job for."""
    return tmp_path / "notebooks"


@pytest.fixture
def make_job_panel(make_panel, folder):
    """A panel in Processing-job mode, reading the job every half second."""

    def make(**overrides):
        options = {
            "memory_sizes": [2048],
            "include_concurrency_benchmark": False,
            "stability_benchmark_invocations": 40,
            "job_poll_interval": 0.5,
            "state_folder": str(folder),
        }
        options.update(overrides)
        panel = make_panel(**options)
        panel.launch.value = "Processing job"
        return panel

    return make


def job_names(target) -> set[str]:
    jobs = target.client("sagemaker").list_processing_jobs(MaxResults=100)
    return {j["ProcessingJobName"] for j in jobs["ProcessingJobSummaries"]}


def test_the_job_form_flags_each_bad_value_before_anything_is_created(
    make_job_panel, emulator_target, monkeypatch
):
    panel = make_job_panel()
    form = panel.job_form
    assert form.widget.layout.display == "" and panel.attach_row.layout.display == ""
    assert ROLE_PATTERN.match(form.role.widget.value)  # a placeholder role on the emulator
    assert re.match(r"^s3://sm-bench-widgets-\d{12}/jobs$", form.s3_output_path.widget.value)
    assert not panel.run_button.disabled and panel.errors == []
    cost = form.cost_html.value
    assert "nothing on the emulator" in cost and "1 x ml.m5.large at $0.115/h" in cost

    before = job_names(emulator_target)
    bad_values = [
        ("role", "not-an-arn"),
        ("role", ""),
        ("instance_type", "m5.large"),
        ("instance_count", "0"),
        ("instance_count", "two"),
        ("instance_count", "101"),
        ("s3_output_path", "http://bucket/prefix"),
        ("clients_per_host", "0"),
        ("clients_per_host", "201"),
        ("clients_per_host", "many"),
    ]
    for name, bad in bad_values:
        field = form.fields[name]
        good = field.widget.value
        field.widget.value = bad
        assert panel.run_button.disabled, name
        assert name in field.flag_html.value, (name, field.flag_html.value)
        others = [f.flag_html.value for n, f in form.fields.items() if n != name]
        assert others == ["", "", "", ""], (name, others)
        with pytest.raises(ConfigError) as caught:
            panel.start()
        assert caught.value.field == name
        field.widget.value = good
        assert not panel.run_button.disabled and field.flag_html.value == ""

    # clients per host: blank for the first host to measure it, else the number typed
    assert form.options(emulated=True)[0].clients_per_host is None
    form.clients_per_host.widget.value = " 8 "
    assert form.options(emulated=True)[0].clients_per_host == 8
    form.clients_per_host.widget.value = ""

    form.instance_type.widget.value = "ml.m5.24xlarge"  # allowed, but not in the price table
    assert not panel.run_button.disabled
    assert "unknown price for ml.m5.24xlarge" in form.cost_html.value
    form.instance_type.widget.value = "ml.m5.large"
    form.instance_count.widget.value = "3"
    assert "3 x ml.m5.large" in form.cost_html.value

    monkeypatch.setattr(job_form, "sdk_installed", lambda: False)
    form.instance_count.widget.value = "2"
    assert panel.run_button.disabled
    assert "pip install" in form.sdk_flag.value and "sm-bench-widgets[jobs]" in form.sdk_flag.value
    monkeypatch.undo()

    panel.launch.value = "Background thread"  # the job form's problems are the job's only
    assert form.widget.layout.display == "none"
    assert job_names(emulator_target) == before  # nothing was created
    assert panel.handle is None and not panel.running


def test_a_job_from_the_panel_completes_with_the_card_filled_and_reattaches(
    make_job_panel, emulator_target, folder
):
    panel = make_job_panel()
    polls: list[tuple[str, str]] = []  # (thread, status) of each monitor refresh
    poll = panel.job_monitor.poll

    def recorded_poll(job):
        status = poll(job)
        polls.append((threading.current_thread().name, status))
        return status

    panel.job_monitor.poll = recorded_poll
    job = panel.start()
    assert isinstance(job, ProcessingJobHandle) and panel.handle is job and panel.job is job
    assert panel.run_button.disabled and not panel.stop_button.disabled
    assert recalled(folder)["job_name"] == job.name  # remembered for a new panel
    assert panel.job_monitor.widget.layout.display == ""
    assert job.name in panel.job_monitor.summary.value

    result = panel.wait(timeout=JOB_S)
    assert result is not None, f"the job did not end within {JOB_S} s: {job.status()}"
    assert job.status() == "Completed", job.failure_reason
    assert result.status == "completed" and result.run_id == job.run_id and result.emulated
    monitor = panel.job_monitor
    assert monitor.statuses[-1] == "Completed" and monitor.polls >= 2
    assert "Completed" in monitor.summary.value and "elapsed" in monitor.summary.value
    assert any(f"run {result.run_id} completed" in line for line in monitor.lines)
    assert "smb-job-log" in monitor.log_html.value
    running = [thread for thread, status in polls if status not in ("Completed",)]
    assert running and "MainThread" not in running  # refreshed off the kernel's thread

    counts = panel.dashboard.charts["timeline"].datasets()["timeline_counts"]
    assert sum(r["count"] for r in counts) == len(result.invocations) == 40
    rec = result.recommendation
    card = panel.card.html.value
    assert f"{rec.memory_size} MB, max concurrency {rec.max_concurrency}" in card
    assert "Emulated" in card
    assert "completed (emulated)" in panel.progress.status.value
    assert not panel.run_button.disabled and panel.stop_button.disabled
    assert find_leftovers(emulator_target, result.run_id) == []

    # a new panel (the cell re-run) offers the finished job; it does not block a new one
    other = make_job_panel()
    assert other.reattach_offer.layout.display == ""
    assert other.reattach_button.description == f"Reattach to {job.name} (Completed)"
    assert not other.run_button.disabled
    again = other.attach(job.name)
    assert again.name == job.name and other.launch.job
    attached = other.wait(timeout=120)
    assert attached.status == "completed" and attached.run_id == result.run_id
    assert attached.invocations.equals(result.invocations)
    assert f"{rec.memory_size} MB, max concurrency {rec.max_concurrency}" in other.card.html.value
    assert other.job_monitor.statuses == ["Completed"]
    assert other.reattach_offer.layout.display == "none"


def test_stop_stops_the_job_and_a_second_panel_reattaches_instead_of_launching(
    make_job_panel, emulator_target, folder
):
    panel = make_job_panel(adaptive=False, stability_benchmark_invocations=100_000)
    job = panel.start()
    # the charts fill from the streamed results while the job runs
    wait_until(lambda: panel.dashboard.row_count >= 20, JOB_S, "no 20 rows reached the panel")
    assert job.status() == "InProgress" and panel.running
    wait_until(
        lambda: panel.job_monitor.status == "InProgress", 60, "the monitor did not show InProgress"
    )

    before = job_names(emulator_target)
    second = make_job_panel()  # the cell re-run: no second job, an offer to reattach
    assert second.reattach_offer.layout.display == ""
    assert second.reattach_button.description == f"Reattach to {job.name} (InProgress)"
    assert second.run_button.disabled and job.name in second.run_button.tooltip
    with pytest.raises(RuntimeError, match="reattach"):
        second.start()
    assert job_names(emulator_target) == before

    third = make_job_panel()  # "Forget it": launching another job is allowed again
    assert third.run_button.disabled
    third.forget_button.click()
    assert third.reattach_offer.layout.display == "none" and not third.run_button.disabled
    assert recalled(folder) is None

    second.reattach_button.click()  # attaches in a thread: the kernel does not wait
    wait_until(lambda: second.job is not None, 60, "the reattach button attached no job")
    assert second.job.name == job.name
    wait_until(lambda: second.dashboard.row_count >= 20, 120, "the reattached panel got no rows")

    panel.stop()
    assert "Stopping job" in panel.progress.status.value
    result = panel.wait(timeout=JOB_S)
    assert result is not None and job.status() == "Stopped"
    assert result.status == "stopped" and 20 <= len(result.invocations) < 100_000
    assert panel.job_monitor.statuses[-1] == "Stopped"
    assert find_leftovers(emulator_target, result.run_id) == []
    assert panel.card.widget.layout.display == ""  # the partial result is shown

    followed = second.wait(timeout=120)
    assert followed.status == "stopped" and len(followed.invocations) == len(result.invocations)
    assert recalled(folder)["job_name"] == job.name  # attaching remembered it again
    assert not second.running and not second.run_button.disabled  # the job is over
