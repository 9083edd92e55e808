"""The panel's traffic form: the optional idle-window probe is one checkbox."""

from __future__ import annotations

from sm_bench_widgets.traffic import Traffic
from sm_bench_widgets.widgets.traffic_form import parse_traffic, show_traffic


def test_idle_probe_checkbox_reaches_the_config_and_shows_a_given_one(make_panel):
    panel = make_panel()
    form = panel.form.fields["traffic"].widget
    assert form.probe_idle_window not in form.children  # no traffic: only the dropdown
    form.source.value = "rates"
    form.average_rps.value = 1.0
    form.peak_rps.value = 5.0
    form.idle_window_s.value = 300.0
    assert form.probe_idle_window in form.common.children and form.common in form.children
    assert not form.probe_idle_window.value
    assert panel.config.traffic == Traffic.rates(1.0, 5.0, idle_window_s=300.0)
    assert not panel.config.traffic.probe_idle_window

    form.probe_idle_window.value = True
    assert panel.errors == [] and not panel.run_button.disabled
    assert panel.config.traffic == Traffic.rates(
        1.0, 5.0, idle_window_s=300.0, probe_idle_window=True
    )
    # a config asking for the probe shows it ticked, and reads back the same
    given = Traffic.monthly(2_000_000, 3.0, idle_window_s=120.0, probe_idle_window=True)
    form.value = show_traffic(given)
    assert form.probe_idle_window.value and form.source.value == "monthly"
    assert parse_traffic(form.value) == given
    form.probe_idle_window.value = False
    assert not panel.config.traffic.probe_idle_window
    form.disabled = True
    assert form.probe_idle_window.disabled
