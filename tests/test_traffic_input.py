"""The traffic input: rates, monthly figures, trace files, CloudWatch history, bad values."""

from __future__ import annotations

import datetime as dt

import pytest

from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.traffic import Traffic


def test_rates_and_monthly_figures():
    t = Traffic.rates(5, 40)
    assert t.needs(100.0).peak_rps == 40 and t.monthly_invocations == 5 * 730 * 3600
    m = Traffic.monthly(2_628_000, peak_concurrency=4)
    assert m.average_rps == pytest.approx(1.0)
    # 4 requests in flight at 200 ms each: 20 requests a second (Little's law)
    assert m.needs(200.0).peak_rps == pytest.approx(20.0)
    assert "monthly" in m.describe() and "4 requests in flight" in m.describe()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"average_rps": -1, "peak_rps": 3}, "traffic.average_rps"),
        ({"average_rps": 5, "peak_rps": 3}, "traffic.peak_rps"),
        ({"average_rps": 5}, "traffic.peak_rps"),
        ({"average_rps": 5, "peak_rps": 6, "peak_concurrency": 2}, "traffic.peak_rps"),
        ({"average_rps": 5, "peak_rps": 6, "throttle_limit": 0}, "traffic.throttle_limit"),
        ({"average_rps": 5, "peak_rps": 6, "idle_window_s": 0}, "traffic.idle_window_s"),
        ({"average_rps": 5, "peak_concurrency": 0}, "traffic.peak_concurrency"),
    ],
)
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(ConfigError) as err:
        Traffic(**kwargs)
    assert err.value.field == field


def test_trace_of_timestamps_counts_requests_per_minute(tmp_path):
    path = tmp_path / "trace.txt"
    base = 1_700_000_000 - 1_700_000_000 % 60
    stamps = [base + 1, base + 2, base + 3, base + 130, base + 131.5]  # minutes 0 and 2
    path.write_text("timestamp\n" + "\n".join(str(s) for s in stamps) + "\n")
    t = Traffic.from_trace(path)
    assert t.per_minute == (3.0, 0.0, 2.0)
    assert t.peak_rps == pytest.approx(3 / 60) and t.average_rps == pytest.approx(5 / 180)
    iso = tmp_path / "iso.txt"
    iso.write_text("2026-11-27T10:00:05Z\n2026-11-27T10:00:09Z\n2026-11-27T10:01:00Z\n")
    assert Traffic.from_trace(iso).per_minute == (2.0, 1.0)


def test_trace_of_counts_per_minute(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(
        "minute,count\n2026-11-27T10:00Z,120\n2026-11-27T10:01Z,600\n2026-11-27T10:03Z,60\n"
    )
    t = Traffic.from_trace(path, idle_window_s=300)
    assert t.per_minute == (120.0, 600.0, 0.0, 60.0)
    assert t.peak_rps == pytest.approx(10.0) and t.average_rps == pytest.approx(780 / 240)
    assert t.idle_window_s == 300 and t.source == "trace"


def test_a_bad_trace_names_the_field(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("2026-11-27T10:00:05Z\nyesterday\n")
    with pytest.raises(ConfigError) as err:
        Traffic.from_trace(path)
    assert err.value.field == "traffic.trace" and err.value.value == "yesterday"
    with pytest.raises(ConfigError, match="traffic.trace"):
        Traffic.from_trace(tmp_path / "missing.txt")


def test_config_takes_traffic_as_object_or_dict_and_round_trips(tmp_path):
    t = Traffic.rates(2, 20, idle_window_s=120)
    config = BenchmarkConfig(traffic=t, result_save_path=str(tmp_path))
    assert config.traffic == t
    again = BenchmarkConfig.from_dict(BenchmarkConfig(traffic=t.to_dict()).to_dict())
    assert again.traffic == t
    with pytest.raises(ConfigError) as err:
        BenchmarkConfig(traffic={"average_rps": 2, "peak_rps": 1})
    assert err.value.field == "traffic.peak_rps"
    with pytest.raises(ConfigError) as err:
        BenchmarkConfig(traffic="40 rps")
    assert err.value.field == "traffic"


def test_cloudwatch_invocations_of_an_existing_endpoint(emulator_target):
    cw = emulator_target.client("cloudwatch")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    dims = [
        {"Name": "EndpointName", "Value": "traffic-history"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    counts = {30: 120.0, 20: 1200.0, 10: 60.0}  # minutes ago: invocations in that minute
    for ago, value in counts.items():
        cw.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dims,
                    "Timestamp": now - dt.timedelta(minutes=ago),
                    "Value": value,
                    "Unit": "Count",
                }
            ],
        )
    t = Traffic.from_cloudwatch(emulator_target, "traffic-history", days=1, now=now)
    assert t.source == "cloudwatch" and len(t.per_minute) == 24 * 60
    assert sum(t.per_minute) == pytest.approx(1380.0)
    assert t.peak_rps == pytest.approx(20.0)
    assert t.average_rps == pytest.approx(1380.0 / 86400)
    with pytest.raises(ConfigError) as err:
        Traffic.from_cloudwatch(emulator_target, "no-such-endpoint", days=1, now=now)
    assert err.value.field == "traffic.endpoint_name"
    with pytest.raises(ConfigError, match="traffic.days"):
        Traffic.from_cloudwatch(emulator_target, "traffic-history", days=0)


def test_traffic_form_gives_traffic_for_each_way_and_names_bad_fields(tmp_path):
    from sm_bench_widgets.widgets.traffic_form import TrafficForm, parse_traffic, show_traffic

    form = TrafficForm()
    assert parse_traffic(form.value) is None
    assert form.children == (form.source,)  # "none": only the dropdown
    form.source.value = "rates"
    form.average_rps.value = 2.0
    form.peak_rps.value = 30.0
    form.throttle_limit_percent.value = 0.5
    assert parse_traffic(form.value) == Traffic.rates(2.0, 30.0, throttle_limit=0.005)
    assert form.rows["rates"] in form.children and form.rows["monthly"] not in form.children
    form.peak_rps.value = 1.0
    with pytest.raises(ConfigError) as err:
        parse_traffic(form.value)
    assert err.value.field == "traffic.peak_rps"

    form.source.value = "monthly"
    form.monthly_invocations.value = 2_628_000
    form.peak_concurrency.value = 3.0
    assert parse_traffic(form.value) == Traffic.monthly(2_628_000, 3.0, throttle_limit=0.005)

    trace = tmp_path / "trace.csv"
    trace.write_text("minute,count\n2026-11-27T10:00Z,60\n2026-11-27T10:01Z,180\n")
    form.source.value = "trace"
    form.trace_path.value = str(trace)
    assert parse_traffic(form.value).peak_rps == pytest.approx(3.0)

    # a config value shows in the form and reads back the same
    given = Traffic.rates(4.0, 40.0, idle_window_s=300)
    form.value = show_traffic(given)
    assert form.source.value == "rates" and form.idle_window_s.value == 300
    assert parse_traffic(form.value) == given
    form.disabled = True
    assert form.average_rps.disabled and form.read.disabled


def test_traffic_form_reads_cloudwatch(emulator_target):
    from sm_bench_widgets.widgets.traffic_form import TrafficForm, parse_traffic

    cw = emulator_target.client("cloudwatch")
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "form-history"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
                "Value": 600.0,
                "Unit": "Count",
            }
        ],
    )
    form = TrafficForm(target=lambda: emulator_target)
    form.source.value = "cloudwatch"
    with pytest.raises(ConfigError, match="press Read"):
        parse_traffic(form.value)
    form.endpoint_name.value = "form-history"
    form.days.value = 1
    traffic = form.read_cloudwatch()
    assert traffic is not None and traffic.peak_rps == pytest.approx(10.0)
    assert parse_traffic(form.value) == traffic and "cloudwatch" in form.status.value
    form.endpoint_name.value = "nothing-here"
    assert form.read_cloudwatch() is None and "traffic.endpoint_name" in form.status.value


def test_options_form_carries_traffic_into_the_config_and_flags_it():
    from sm_bench_widgets.widgets.form import ConfigForm
    from sm_bench_widgets.widgets.validation import check_values

    form = ConfigForm({"traffic": Traffic.rates(3, 30)})
    field = form.fields["traffic"]
    assert field.widget.source.value == "rates"
    values, errors = form.values()
    assert not errors and values["traffic"] == Traffic.rates(3, 30)
    config, problems = check_values(values, runnable=False)
    assert config is not None and config.traffic == Traffic.rates(3, 30)
    field.widget.peak_rps.value = 1.0
    values, errors = form.values()
    assert errors["traffic"].field == "traffic.peak_rps"
    form.flag(errors)
    assert "peak_rps" in field.flagged
    form.set_disabled(True)
    assert field.widget.average_rps.disabled


def test_with_traffic_every_monthly_figure_is_at_the_traffics_volume(tmp_path):
    from sm_bench_widgets.report import render_report
    from sm_bench_widgets.result import BenchmarkResult
    from sm_bench_widgets.widgets.card import card_html
    from tests.test_result import known_invocations, make_config

    traffic = Traffic.rates(5, 6)  # 5 req/s on average: 13,140,000 invocations a month
    volume = 5 * 730 * 3600
    plain = BenchmarkResult(make_config(), known_invocations())
    given = BenchmarkResult(make_config(traffic=traffic), known_invocations())
    assert plain.monthly_invocations == 1_000_000
    assert given.monthly_invocations == volume == traffic.monthly_invocations

    # the cost table, racing's inputs and the recommendation: at the traffic's volume
    per_1m = given.costs["cost_per_1m_usd"].to_numpy()
    assert given.costs["monthly_cost_usd"].to_numpy() == pytest.approx(per_1m * volume / 1e6)
    rec, answer = given.recommendation, given.traffic_answer
    assert rec.monthly_invocations == volume
    # the month of what the answer deploys, as its sentence says
    assert rec.monthly_cost_usd == pytest.approx(answer.monthly_cost_usd)
    text = rec.monthly_text()
    assert text.endswith(f"a month at {volume:,} invocations")
    assert f"${answer.monthly_cost_usd:,.0f} a month" in rec.headline()
    assert f"{volume:,} invocations" in card_html(rec, given.break_even)
    report = render_report(given, charts="svg")
    assert f"at {volume:,} invocations per month" in report
    # with traffic, the report draws the throttle check (here: no open-loop trial ran)
    assert 'id="chart-throttle_check"' in report
    assert 'id="chart-throttle_check"' not in render_report(plain, charts="svg")
    assert "1,000,000" not in text
    # re-ranking keeps the traffic's volume unless another one is asked for
    assert given.rerank().monthly_invocations == volume
    other = given.rerank(monthly_invocations=2_000_000)
    assert other.monthly_invocations == 2_000_000
    assert plain.recommendation.monthly_invocations == 1_000_000


def test_the_estimate_counts_the_open_loop_endpoints():
    from sm_bench_widgets.analysis.traffic import smallest_max_concurrency
    from sm_bench_widgets.estimate import estimate_benchmark

    options = dict(
        model_name="m",
        memory_sizes=[1024, 2048],
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_benchmark_invocations=100,
    )
    plain = estimate_benchmark(BenchmarkConfig(**options), latency_ms=200)
    given = estimate_benchmark(
        BenchmarkConfig(**options, traffic=Traffic.rates(5, 40)), latency_ms=200
    )
    # 40 req/s x 200 ms = 8 Erlangs: MaxConcurrency 18 keeps throttling under 0.1%
    # (B = 0.094%); the check also runs at 14, the largest below predicted to throttle at
    # least 1% (B = 1.7%; 15 gives 0.91%)
    answer = smallest_max_concurrency(40, 200)
    assert answer == 18
    checks = [14, answer]
    assert given.endpoints == plain.endpoints + 2
    assert given.trials == plain.trials + 2
    assert given.max_invocations == plain.max_invocations + sum(100 + c for c in checks)
    # each open-loop trial: its burst, 100 arrivals at 40 req/s (2.5 s), the last answer,
    # and its endpoint's set-up
    extra = given.duration_s - plain.duration_s
    assert extra == pytest.approx(2 * (240 + 0.2 + 2.5 + 0.2))


def test_the_estimate_counts_the_idle_window_probe():
    from sm_bench_widgets.estimate import estimate_benchmark

    options = dict(model_name="m", memory_sizes=[1024], include_concurrency_benchmark=False)
    plain = estimate_benchmark(
        BenchmarkConfig(**options, traffic=Traffic.rates(1, 3, idle_window_s=150)), latency_ms=100
    )
    probed = estimate_benchmark(
        BenchmarkConfig(
            **options, traffic=Traffic.rates(1, 3, idle_window_s=150, probe_idle_window=True)
        ),
        latency_ms=100,
    )
    # gaps 60, 120, 240, 480 and 960 s (to 4 x 150 s); a cold start and a warm reference first
    assert probed.endpoints == plain.endpoints + 1
    assert probed.max_invocations == plain.max_invocations + 7
    assert probed.duration_s - plain.duration_s == pytest.approx(240 + 1860 + 7 * 0.1)
    with pytest.raises(ConfigError, match="traffic.probe_idle_window"):
        Traffic.rates(1, 3, probe_idle_window="yes")
