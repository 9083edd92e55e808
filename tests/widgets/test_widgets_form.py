"""Form validation: problems flagged next to their field, Run disabled while they stand."""

from __future__ import annotations

import pytest

from sm_bench_widgets.config import ConfigError


def test_valid_form_enables_run_and_builds_the_config(make_panel):
    panel = make_panel()
    assert panel.errors == []
    assert not panel.run_button.disabled
    config = panel.config
    assert config.model_name == "demo-tabular"
    assert config.memory_sizes == [1024, 2048]
    assert config.concurrency_num_clients_multiplier == [1.0, 2.0]
    assert len(config.invoke_args_examples) == 2
    assert "demo-tabular" in panel.model_picker.combo.options  # the account's models
    assert "account 123456789012" in panel.target_chooser.info.value
    assert "emulated" in panel.target_chooser.info.value.lower()


def test_out_of_range_grid_is_flagged_at_its_field(make_panel):
    panel = make_panel()
    panel.form.fields["concurrency_benchmark_max_conc"].widget.value = "2, 400"
    flagged = panel.form.fields["concurrency_benchmark_max_conc"].flagged
    assert "400" in flagged and "1 to 200" in flagged
    assert panel.run_button.disabled
    assert not panel.form.fields["memory_sizes"].flagged
    with pytest.raises(ConfigError) as err:
        _ = panel.config
    assert err.value.field == "concurrency_benchmark_max_conc"
    panel.form.fields["concurrency_benchmark_max_conc"].widget.value = "2, 4"
    assert not panel.form.fields["concurrency_benchmark_max_conc"].flagged
    assert not panel.run_button.disabled


def test_sla_without_percentile_flags_the_percentile_and_others_at_once(make_panel):
    panel = make_panel()
    fields = panel.form.fields
    fields["sla_ms"].widget.value = "250"
    fields["precision"].widget.value = 1.5
    fields["memory_sizes"].widget.value = []
    assert "sla_percentile" in fields["sla_percentile"].flagged
    assert "precision" in fields["precision"].flagged
    assert "memory_sizes" in fields["memory_sizes"].flagged
    assert not fields["sla_ms"].flagged
    assert panel.run_button.disabled
    fields["sla_percentile"].widget.value = 90
    fields["precision"].widget.value = 0.1
    fields["memory_sizes"].widget.value = [3072]
    assert panel.run_button.disabled is False
    assert panel.config.sla_percentile == 90 and panel.config.sla_ms == 250


def test_unparsable_list_and_provisioned_above_every_max_concurrency(make_panel):
    panel = make_panel()
    fields = panel.form.fields
    fields["concurrency_num_clients_multiplier"].widget.value = "1, lots"
    assert "numbers separated by commas" in fields["concurrency_num_clients_multiplier"].flagged
    fields["provisioned_concurrency"].widget.value = "3"
    assert "largest concurrency_benchmark_max_conc" in fields["provisioned_concurrency"].flagged
    assert panel.run_button.disabled


def test_missing_model_is_flagged_at_the_picker_and_free_text_works(make_panel):
    panel = make_panel(model_name="")
    panel.model_picker.combo.value = ""
    assert "model_name" in panel.model_picker.flag_html.value
    assert panel.run_button.disabled
    assert "flagged fields" not in panel.estimate_html.value  # estimate shown meanwhile
    panel.model_picker.combo.value = "my-own-model"  # not in the list: allowed
    assert panel.model_picker.flag_html.value == ""
    assert panel.config.model_name == "my-own-model"


def test_estimate_follows_the_form(make_panel):
    panel = make_panel()
    before = panel.estimate.max_invocations
    panel.form.fields["stability_benchmark_invocations"].widget.value = 600
    assert panel.estimate.max_invocations == before + 2 * 540
    assert f"{panel.estimate.max_invocations:,}" in panel.estimate_html.value
    panel.form.fields["confidence"].widget.value = 2.0
    assert "once the flagged fields are fixed" in panel.estimate_html.value
    assert panel.estimate is None  # no stale figures behind the notice


def test_unknown_default_is_refused_with_the_known_names(emulator_target):
    from sm_bench_widgets.widgets import BenchmarkPanel

    with pytest.raises(ConfigError) as err:
        BenchmarkPanel(target=emulator_target, memory_size=[1024])
    assert err.value.field == "memory_size" and "memory_sizes" in str(err.value)


def test_launch_choice_offers_a_thread_and_a_processing_job(make_panel):
    panel = make_panel()
    assert panel.launch.value == "Background thread" and not panel.launch.job
    assert panel.launch.choice.options == ("Background thread", "Processing job")
    assert panel.job_form.widget.layout.display == "none"  # the job form only for a job
    panel.launch.value = "Processing job"
    assert panel.launch.job and panel.job_form.widget.layout.display == ""
