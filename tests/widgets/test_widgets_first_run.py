"""A panel built with nothing but its target: ready to run a demo model, saying what a
user's model still needs, cleaning up leftovers after a dry run, resuming a stopped run."""

from __future__ import annotations

import json

import pytest

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import RUN_TAG_KEY, TOOL_TAG_KEY, TOOL_TAG_VALUE
from sm_bench_widgets.emulator import demo_examples
from sm_bench_widgets.widgets import BenchmarkPanel
from sm_bench_widgets.widgets.form import EMULATOR_DEFAULTS
from tests.waiting import wait_until


@pytest.fixture
def bare_panel(fresh_emulator, tmp_path, monkeypatch):
    """``BenchmarkPanel()`` at an emulator holding only the demo models, as a newcomer's
    does (the session emulator holds other tests' models too), from an empty folder."""
    monkeypatch.chdir(tmp_path)
    target = fresh_emulator.target()

    def make(**defaults) -> BenchmarkPanel:
        return BenchmarkPanel(target=target, refresh_interval=0.1, **defaults)

    return make


def _status(panel: BenchmarkPanel) -> str:
    return panel.progress.status.value


@pytest.mark.parametrize("model", ["demo-tabular", "demo-nlp", "demo-mlp"])
def test_a_demo_model_gets_its_own_samples_and_run_is_enabled(bare_panel, model):
    panel = bare_panel()
    assert panel.model_picker.value in ("demo-tabular", "demo-nlp", "demo-mlp")
    panel.model_picker.combo.value = model
    assert panel.payloads.mode.value == "Inline"
    assert panel.config.invoke_args_examples == demo_examples(model)
    assert model in panel.payloads.note.value and panel.payloads.flag_html.value == ""
    assert not panel.run_button.disabled and panel.errors == []
    assert _status(panel).startswith("<span class='smb-status'>Ready: press Run (at most ")
    # sized for a first run on the emulator, and estimated with the model's own latency
    assert {k: getattr(panel.config, k) for k in EMULATOR_DEFAULTS} == EMULATOR_DEFAULTS
    assert panel.assumed_latency.value < 1000
    assert panel.estimate.duration_s <= 4 * 60


def test_the_text_classifier_is_given_text(bare_panel):
    panel = bare_panel(model_name="demo-nlp")
    bodies = [e["Body"] for e in panel.config.invoke_args_examples]
    assert all(any(c.isalpha() for c in body) for body in bodies)
    assert json.loads(bodies[0])["inputs"].startswith("The battery")


def test_a_users_model_starts_empty_and_the_status_says_what_is_missing(bare_panel):
    panel = bare_panel(model_name="my-own-model")
    assert panel.payloads.inline.value == ""
    assert panel.payloads.flag_html.value == ""  # asked for, not flagged as an error
    assert panel.run_button.disabled
    status = _status(panel)
    assert "Run needs payload examples" in status and "Ready" not in status
    assert panel.estimate is None
    assert panel.assumed_latency.value == 1000  # nothing known about this model's latency
    panel.payloads.inline.value = '{"Body": "1,2,3,4", "ContentType": "text/csv"}'
    assert not panel.run_button.disabled
    assert "Ready: press Run" in _status(panel)


def test_samples_follow_the_model_until_the_user_gives_payloads(bare_panel):
    panel = bare_panel(model_name="demo-tabular")
    panel.model_picker.combo.value = "demo-nlp"
    assert panel.config.invoke_args_examples == demo_examples("demo-nlp")
    panel.model_picker.combo.value = "my-own-model"
    assert panel.payloads.inline.value == ""  # a demo's samples are not someone's payloads
    mine = '{"Body": "hello", "ContentType": "text/plain"}'
    panel.payloads.inline.value = mine
    panel.model_picker.combo.value = "demo-nlp"
    assert panel.payloads.inline.value == mine  # what the user typed stays
    panel.model_picker.combo.value = ""
    assert "Run needs a model" in _status(panel)


def test_values_given_to_the_panel_are_kept_over_the_emulator_sizing(bare_panel):
    panel = bare_panel(model_name="demo-tabular", stability_benchmark_invocations=500)
    assert panel.config.stability_benchmark_invocations == 500
    assert panel.config.memory_sizes == EMULATOR_DEFAULTS["memory_sizes"]


def test_a_bare_panel_runs_with_one_click(bare_panel, tmp_path):
    panel = bare_panel()
    panel.run_button.click()
    result = panel.wait(timeout=240)
    assert result is not None and result.status == "completed"
    assert result.run_dir.parent.parent == tmp_path
    assert result.recommendation is not None
    assert set(result.invocations["outcome"]) >= {"ok"}
    assert _status(panel).startswith(f"<span class='smb-status'>Run {result.run_id} completed")


def _tagged(aws_sm, name: str, tags: list[dict[str, str]] | None) -> None:
    config = {"MemorySizeInMB": 2048, "MaxConcurrency": 1}
    variant = {"VariantName": "AllTraffic", "ModelName": "demo-tabular", "ServerlessConfig": config}
    aws_sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    extra = {"Tags": tags} if tags else {}
    aws_sm.create_endpoint(EndpointName=name, EndpointConfigName=name, **extra)


def test_cleanup_lists_only_this_tools_resources_then_deletes_them_on_confirmation(
    fresh_emulator, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    target: Target = fresh_emulator.target()
    sm = target.client("sagemaker")
    ours = [{"Key": TOOL_TAG_KEY, "Value": TOOL_TAG_VALUE}, {"Key": RUN_TAG_KEY, "Value": "r1"}]
    _tagged(sm, "ours-left-behind", ours)
    _tagged(sm, "untagged-endpoint", None)
    _tagged(sm, "foreign-endpoint", [{"Key": TOOL_TAG_KEY, "Value": "another-tool"}])
    sm.add_tags(ResourceArn=_config_arn(sm, "ours-left-behind"), Tags=ours)
    panel = BenchmarkPanel(target=target, model_name="demo-tabular")

    listed = panel.cleanup.look()  # the dry run deletes nothing
    assert {(r.kind, r.name) for r in listed} == {
        ("endpoint", "ours-left-behind"),
        ("endpoint-config", "ours-left-behind"),
    }
    assert "ours-left-behind" in panel.cleanup.listing.value
    assert "foreign" not in panel.cleanup.listing.value
    assert panel.cleanup.confirm_button.layout.display == ""
    assert _endpoints(sm) == {"ours-left-behind", "foreign-endpoint", "untagged-endpoint"}

    panel.cleanup.confirm_button.click()
    assert panel.cleanup.deleted == ["ours-left-behind"]
    wait_until(
        lambda: _endpoints(sm) == {"foreign-endpoint", "untagged-endpoint"},
        30,
        "only this tool's endpoint deleted",
    )
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert configs == {"foreign-endpoint", "untagged-endpoint"}
    assert "Deleted 2 resource(s)" in panel.cleanup.listing.value
    assert panel.cleanup.look() == []
    assert "Nothing to clean up" in panel.cleanup.listing.value


def test_cleanup_cancelled_deletes_nothing(fresh_emulator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = fresh_emulator.target()
    sm = target.client("sagemaker")
    _tagged(sm, "ours-kept", [{"Key": TOOL_TAG_KEY, "Value": TOOL_TAG_VALUE}])
    panel = BenchmarkPanel(target=target, model_name="demo-tabular")
    assert [r.name for r in panel.cleanup.look()] == ["ours-kept"]
    panel.cleanup.cancel_button.click()
    assert panel.cleanup.confirm() == []
    assert _endpoints(sm) == {"ours-kept"}


def _config_arn(sm, name: str) -> str:
    return sm.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"]


def _endpoints(sm) -> set[str]:
    return {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]}


def test_a_stopped_run_in_the_result_folder_is_offered_and_resumed(bare_panel, tmp_path):
    first = bare_panel(model_name="demo-nlp", adaptive=False)
    handle = first.start()
    wait_until(lambda: handle.result.invocations.shape[0] >= 20, 120, "some invocations stored")
    first.stop()
    stopped = first.wait(timeout=120)
    assert stopped.status == "stopped"
    stored = len(stopped.invocations)

    panel = bare_panel(model_name="demo-nlp", adaptive=False)
    assert panel.resume_offer.run_dir == stopped.run_dir
    assert panel.resume_offer.widget.layout.display == ""
    assert stopped.run_id in panel.resume_offer.text.value
    panel.resume_offer.resume_button.click()
    result = panel.wait(timeout=240)
    assert result.run_id == stopped.run_id and result.status == "completed"
    assert len(result.invocations) > stored
    assert not result.invocations.duplicated(["trial_id", "start"]).any()
    assert panel.resume_offer.widget.layout.display == "none"
    assert bare_panel().resume_offer.run_dir is None  # nothing left to resume
