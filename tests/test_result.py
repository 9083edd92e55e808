"""BenchmarkResult: derived tables on known data, caching, re-ranking, save/load and exports."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.engine.store import RunStore
from sm_bench_widgets.result import FORMAT_VERSION, TABLES, BenchmarkResult
from sm_bench_widgets.schema import (
    BREAK_EVEN_COLUMNS,
    COLD_START_COLUMNS,
    COST_COLUMNS,
    INVOCATION_COLUMNS,
    SUMMARY_COLUMNS,
)
from tests.rows import invocation_frame, invocation_row

T0 = 1_764_000_000.0


def known_invocations() -> pd.DataFrame:
    """Two stability trials with a cold probe each, two concurrency trials at 2048 MB.

    s1024: probe 500 ms, warm 91..109 (median 100), one model error -> 21 rows.
    s2048: probe 400 ms, warm 31..49 (median 40) -> 20 rows; cheaper and faster.
    c2-2: 20 ok at 45 ms; c2-4: 10 ok at 60 ms and 10 throttled.
    """
    rows, t = [], 0.0
    for trial, memory, probe, warm in (
        ("s1024", 1024, 500, range(91, 110)),
        ("s2048", 2048, 400, range(31, 50)),
    ):
        rows.append(
            invocation_row(
                trial, probe, start=T0 + t, phase="cold_start", memory_size=memory, cold=True
            )
        )
        for lat in warm:
            t += 0.2
            rows.append(invocation_row(trial, lat, start=T0 + t, memory_size=memory))
        t += 1
    rows.append(invocation_row("s1024", 5, start=T0 + t, memory_size=1024, outcome="model_error"))
    concurrency = dict(phase="concurrency", memory_size=2048, max_concurrency=2)
    for k in range(20):
        rows.append(invocation_row("c2-2", 45, start=T0 + t + k * 0.05, clients=2, **concurrency))
    for k in range(20):
        outcome = "ok" if k % 2 == 0 else "throttled"
        rows.append(
            invocation_row(
                "c2-4",
                60 if outcome == "ok" else 2,
                start=T0 + t + 2 + k * 0.05,
                clients=4,
                outcome=outcome,
                **concurrency,
            )
        )
    return invocation_frame(rows)


def known_cloudwatch() -> pd.DataFrame:
    stamps = pd.to_datetime(
        ["2025-11-24T10:00:00Z", "2025-11-24T10:01:00.250Z"], utc=True, format="ISO8601"
    )
    return pd.DataFrame(
        {
            "endpoint_name": "ep-s1024",
            "memory_size": 1024,
            "max_concurrency": 1,
            "provisioned_concurrency": 0,
            "metric": ["ModelLatency", "Invocations"],
            "statistic": ["Average", "Sum"],
            "timestamp": stamps,
            "value": [98765.5, 21.0],
            "unit": ["Microseconds", "None"],
        }
    )


def make_config(**changes) -> BenchmarkConfig:
    options = dict(
        model_name="demo-model", memory_sizes=[1024, 2048], concurrency_benchmark_max_conc=[2]
    )
    options.update(changes)
    return BenchmarkConfig(**options)


@pytest.fixture
def result() -> BenchmarkResult:
    return BenchmarkResult(
        make_config(),
        known_invocations(),
        cloudwatch=known_cloudwatch(),
        run_id="run1",
        emulated=True,
        stop_reasons={"s2048": "precision"},
        started_at=T0,
        ended_at=T0 + 20,
    )


def assert_same_tables(a: BenchmarkResult, b: BenchmarkResult) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables()[name], b.tables()[name], obj=name)


# -- derived tables -----------------------------------------------------------------------
def test_invocations_keep_schema_and_dtypes(result):
    inv = result.invocations
    assert list(inv.columns) == INVOCATION_COLUMNS
    assert inv["cold"].dtype == bool
    assert inv["memory_size"].dtype == "int64" and inv["latency_ms"].dtype == "float64"
    assert len(inv) == 81


def test_stability_counts_probes_in_their_trial(result):
    s = result.stability.set_index("trial_id")
    assert list(result.stability.columns) == SUMMARY_COLUMNS
    assert set(s.index) == {"s1024", "s2048"}
    assert (s["phase"] == "stability").all()
    assert s.loc["s1024", "count"] == 21 and s.loc["s1024", "ok_count"] == 20
    assert s.loc["s1024", "model_error_count"] == 1
    assert s.loc["s1024", "cold_count"] == 1
    assert s.loc["s1024", "error_rate"] == pytest.approx(1 / 21)
    assert s.loc["s1024", "p50_ms"] == pytest.approx(100)
    assert s.loc["s2048", "p50_ms"] == pytest.approx(40)
    assert s.loc["s2048", "stop_reason"] == "precision"


def test_concurrency_summaries_by_clients(result):
    c = result.concurrency.set_index("clients")
    assert (c["phase"] == "concurrency").all()
    assert sorted(c.index) == [2, 4]
    assert c.loc[2, "throttle_count"] == 0 and c.loc[4, "throttle_count"] == 10
    assert c.loc[4, "p50_ms"] == pytest.approx(60)


def test_cold_starts_against_warm_median(result):
    cold = result.cold_starts.set_index("trial_id")
    assert list(result.cold_starts.columns) == COLD_START_COLUMNS
    assert cold.loc["s1024", "cold_p50_ms"] == pytest.approx(500)
    assert cold.loc["s1024", "warm_p50_ms"] == pytest.approx(100)
    assert cold.loc["s1024", "cold_penalty_ms"] == pytest.approx(400)
    assert cold.loc["s2048", "cold_penalty_ms"] == pytest.approx(360)
    assert "c2-2" not in cold.index


def test_costs_break_even_and_recommendation(result):
    costs = result.costs.set_index(["memory_size", "max_concurrency"])
    assert list(result.costs.columns) == COST_COLUMNS
    assert costs.loc[(2048, 1), "cost_per_1m_usd"] < costs.loc[(1024, 1), "cost_per_1m_usd"]
    assert list(result.break_even.columns) == BREAK_EVEN_COLUMNS
    assert (result.break_even["instance_type"] == "ml.c5.large").all()
    rec = result.recommendation
    assert (rec.memory_size, rec.max_concurrency) == (2048, 2)
    assert rec.runner_up is not None and rec.runner_up.memory_size == 1024
    assert result.recommendation_reason == ""
    assert result.prices.region == "us-east-1" and result.prices.as_of


def test_properties_are_cached_until_invocations_change(result):
    first = result.stability
    assert result.stability is first
    assert result.costs is result.costs
    result.invocations = known_invocations().query("trial_id != 's2048'")
    assert result.stability is not first
    assert list(result.stability["trial_id"]) == ["s1024"]
    assert result.recommendation.memory_size == 1024


def test_rerank_without_rerunning(result):
    assert result.rerank(strategy="cost").memory_size == 2048
    assert result.rerank(sla_percentile=50, sla_ms=10) is None
    assert result.rerank(sla_ms=150).memory_size == 2048  # percentile defaults to 90
    strict = result.rerank(max_error_rate=0.0)
    assert strict.memory_size == 2048 and strict.runner_up is None
    assert result.rerank(monthly_invocations=10).cost_per_1m_usd == pytest.approx(
        result.recommendation.cost_per_1m_usd
    )
    with pytest.raises(ConfigError, match="monthly_invocations"):
        result.rerank(monthly_invocations=-1)
    with pytest.raises(ConfigError, match="strategy"):
        result.rerank(strategy="cheapest")


def test_rerank_drops_configured_constraints_when_given_none():
    config = make_config(sla_percentile=50, sla_ms=10)
    res = BenchmarkResult(config, known_invocations())
    assert res.recommendation is None
    assert "SLA" in res.recommendation_reason or "p50" in res.recommendation_reason
    assert res.rerank(sla_percentile=None, sla_ms=None).memory_size == 2048


def test_unknown_region_falls_back_with_a_note():
    res = BenchmarkResult(make_config(), known_invocations(), region="xx-nowhere-1")
    assert res.prices.region == "us-east-1"
    assert any("xx-nowhere-1" in n for n in res.notes)


@pytest.mark.parametrize("frame", [None, pd.DataFrame(), pd.DataFrame(columns=INVOCATION_COLUMNS)])
def test_empty_result_builds_and_explains(frame, tmp_path):
    res = BenchmarkResult(make_config(), frame, status="stopped")
    assert res.invocations.empty and list(res.invocations.columns) == INVOCATION_COLUMNS
    assert res.stability.empty and res.costs.empty and res.break_even.empty
    assert res.recommendation is None and "no invocations" in res.recommendation_reason
    assert "No recommendation" in res.summary_text()
    back = BenchmarkResult.load(res.save(tmp_path / "saved"))
    assert_same_tables(res, back)
    assert back.status == "stopped"


def test_no_successful_invocation_gives_reason():
    inv = known_invocations()
    inv["outcome"] = "throttled"
    res = BenchmarkResult(make_config(), inv, status="stopped")
    assert res.recommendation is None
    assert "no successful invocations" in res.recommendation_reason
    assert res.rerank(strategy="speed") is None
    assert "No recommendation" in res.summary_text()
    assert "No recommendation" in res._repr_html_()
    assert res.overview()["p90_ms"].isna().all()


# -- save and load ------------------------------------------------------------------------
@pytest.mark.parametrize("table_format", ["parquet", "csv"])
def test_save_load_round_trip(result, tmp_path, table_format):
    folder = result.save(tmp_path / "saved", table_format=table_format)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["format_version"] == FORMAT_VERSION and meta["emulated"] is True
    assert meta["label"] == "emulated" and meta["run_id"] == "run1"
    assert meta["tables"]["invocations"]["file"] == f"invocations.{table_format}"
    assert meta["recommendation"]["memory_size"] == 2048
    back = BenchmarkResult.load(folder)
    assert_same_tables(result, back)
    assert back.cloudwatch["timestamp"].dtype == "datetime64[ns, UTC]"
    assert back.invocations["cold"].dtype == bool
    assert (back.run_id, back.status, back.emulated) == ("run1", "completed", True)
    assert back.stop_reasons == {"s2048": "precision"}
    assert back.started_at == result.started_at and back.ended_at == result.ended_at
    assert back.config == result.config
    assert back.recommendation.to_dict() == result.recommendation.to_dict()


def test_load_refuses_unknown_folders(tmp_path, result):
    with pytest.raises(FileNotFoundError, match="meta.json"):
        BenchmarkResult.load(tmp_path)
    folder = result.save(tmp_path / "saved")
    meta = json.loads((folder / "meta.json").read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="upgrade"):
        BenchmarkResult.load(folder)


def _write_run_dir(path, config, rows, status):
    store = RunStore(path)
    store.write_config(
        config.to_dict(), run_id="run1", created=T0, emulated=True, region="us-east-1"
    )
    store.append_invocations(rows[:30])
    store.append_invocations(rows[30:])
    store.append_trial({"event": "ended", "trial_id": "s2048", "stop_reason": "precision"})
    store.append_cloudwatch(known_cloudwatch())
    if status is not None:
        store.close(status)
    return store


def test_load_engine_run_directory(result, tmp_path):
    rows = known_invocations().to_dict(orient="records")
    _write_run_dir(tmp_path / "run1", result.config, rows, "stopped")
    back = BenchmarkResult.load(tmp_path / "run1")
    assert_same_tables(result, back)
    assert (back.run_id, back.status, back.emulated) == ("run1", "stopped", True)
    assert back.stop_reasons == {"s2048": "precision"}
    assert back.started_at == pd.Timestamp(T0, unit="s", tz="UTC")
    assert back.recommendation.memory_size == 2048


def test_load_crashed_run_directory(tmp_path):
    rows = known_invocations().to_dict(orient="records")
    _write_run_dir(tmp_path / "run1", make_config(), rows, None)
    with open(tmp_path / "run1" / "invocations.jsonl", "a") as f:
        f.write('{"trial_id": "s10')  # a torn last line: the process died mid-write
    back = BenchmarkResult.load(tmp_path / "run1")
    assert back.status == "running" and len(back.invocations) == len(rows)
    assert back.recommendation is not None


# -- exports ------------------------------------------------------------------------------
def test_to_csv_reads_back(result, tmp_path):
    paths = result.to_csv(tmp_path / "csv")
    assert set(TABLES) | {"recommendation", "meta"} <= set(paths)
    costs = pd.read_csv(paths["costs"])
    np.testing.assert_allclose(costs["cost_per_1m_usd"], result.costs["cost_per_1m_usd"])
    inv = pd.read_csv(paths["invocations"])
    assert len(inv) == len(result.invocations) and list(inv.columns) == INVOCATION_COLUMNS
    assert json.loads(paths["meta"].read_text())["emulated"] is True
    rec = pd.read_csv(paths["recommendation"])
    assert list(rec["role"]) == ["recommended", "runner-up"]


def test_to_parquet_reads_back_with_metadata(result, tmp_path):
    paths = result.to_parquet(tmp_path / "pq")
    for name in TABLES:
        back = pd.read_parquet(paths[name])
        assert len(back) == len(result.tables()[name]), name
    pd.testing.assert_frame_equal(pd.read_parquet(paths["invocations"]), result.invocations)
    tag = json.loads(pq.read_schema(paths["costs"]).metadata[b"sm_bench_widgets"])
    assert tag["emulated"] is True and tag["label"] == "emulated"


def test_to_parquet_names_the_missing_package(result, tmp_path, monkeypatch):
    import sm_bench_widgets.result.optional as module

    real = module.importlib.util.find_spec
    monkeypatch.setattr(
        module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyarrow" else real(name, *a),
    )
    with pytest.raises(ImportError, match="pip install pyarrow"):
        result.to_parquet(tmp_path / "pq")


def test_to_excel_one_sheet_per_table(result, tmp_path):
    path = result.to_excel(tmp_path / "out" / "result.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert set(TABLES) | {"recommendation", "meta"} == set(sheets)
    for name in TABLES:
        assert len(sheets[name]) == len(result.tables()[name]), name
    meta = dict(zip(sheets["meta"]["key"], sheets["meta"]["value"], strict=True))
    assert meta["label"] == "emulated" and bool(meta["emulated"]) is True
    cw = sheets["cloudwatch"]
    assert pd.Timestamp(cw["timestamp"][1]) == pd.Timestamp("2025-11-24 10:01:00.250")


# -- display ------------------------------------------------------------------------------
def test_repr_html_and_summary_text(result):
    text = result._repr_html_()
    assert "emulated" in text and "Deploy 2048 MB, max concurrency 2" in text
    assert "<table" in text
    summary = result.summary_text()
    assert "[EMULATED]" in summary and "Rule: " in summary
    assert "emulated" in repr(result)
    real = BenchmarkResult(make_config(), known_invocations())
    assert "emulated" not in real._repr_html_().lower()


def test_repr_html_escapes_html_special_characters():
    name = "<script>x</script>&"
    res = BenchmarkResult(make_config(model_name=name), known_invocations(), run_id=name)
    text = res._repr_html_()
    assert "<script>x" not in text
    assert "&lt;script&gt;x&lt;/script&gt;&amp;" in text


def test_overview_has_a_row_per_trial_with_throttles_apart_from_errors(result):
    table = result.overview().set_index("trial_id")
    assert list(table.index) == ["s1024", "s2048", "c2-2", "c2-4"]
    assert table.loc["s1024", "invocations"] == 21 and table.loc["s1024", "errors"] == 1
    assert table.loc["s1024", "error_rate"] == pytest.approx(1 / 21)
    # the trial at 4 clients on max concurrency 2 is throttled on purpose: no error in that
    c24 = table.loc["c2-4"]
    assert (c24["clients"], c24["invocations"], c24["errors"], c24["throttled"]) == (4, 20, 0, 10)
    assert c24["error_rate"] == 0 and c24["throttle_rate"] == pytest.approx(0.5)
    assert table.loc["c2-2", "p90_ms"] == pytest.approx(45) and c24["p90_ms"] == pytest.approx(60)
    assert math.isfinite(table.loc["s2048", "cost_per_1m_usd"])
    assert table.loc["c2-2", "pick"] == "recommended" and table.loc["s1024", "pick"] == "runner-up"


def assert_headline_is_a_row(res: BenchmarkResult) -> pd.Series:
    """The recommendation's p50, p90 and cost are those of the table row marked for it,
    as numbers and as shown in the terminal, the notebook and the report; that row."""
    rec = res.recommendation
    table = res.overview()
    marked = table[table["pick"] == "recommended"]
    assert len(marked) == 1, table
    row = marked.iloc[0]
    assert row["trial_id"] == rec.trial_id and row["clients"] == rec.clients
    assert (row["memory_size"], row["max_concurrency"]) == (rec.memory_size, rec.max_concurrency)
    assert (row["p50_ms"], row["p90_ms"]) == (rec.p50_ms, rec.p90_ms)
    assert row["cost_per_1m_usd"] == rec.cost_per_1m_usd
    figures = [f"{rec.p50_ms:.1f}", f"{rec.p90_ms:.1f}", f"{rec.cost_per_1m_usd:.4f}"]
    assert all(f in rec.headline() for f in figures), rec.headline()
    line = next(x for x in res.summary_text().splitlines() if x.rstrip().endswith("recommended"))
    assert all(f in line for f in figures), line
    html_row = next(r for r in res._repr_html_().split("<tr>") if "<td>recommended</td>" in r)
    assert all(f"<td>{f}</td>" in html_row for f in figures), html_row
    return row


def test_the_headline_quotes_a_row_of_the_table(result):
    row = assert_headline_is_a_row(result)
    assert (row["memory_size"], row["max_concurrency"], row["clients"]) == (2048, 2, 2)
    rec = result.recommendation
    assert rec.monthly_invocations == result.config.monthly_invocations
    assert (
        rec.monthly_cost_usd
        == result.costs.set_index(["memory_size", "max_concurrency"]).loc[
            (2048, 2), "monthly_cost_usd"
        ]
    )
    assert f"Monthly: {rec.monthly_text()}." in result._repr_html_()
    assert result.rerank(monthly_invocations=5_000_000).monthly_invocations == 5_000_000


def test_a_stopped_run_recommends_only_what_it_measured_and_says_what_it_did_not():
    inv = known_invocations()
    config = make_config(concurrency_num_clients_multiplier=[1.0, 2.0])  # 2 and 4 clients
    res = BenchmarkResult(config, inv[inv["phase"] != "concurrency"], status="stopped")
    rec = res.recommendation
    # only the stability trials ran: max concurrency 1, measured one request at a time
    assert (rec.memory_size, rec.max_concurrency, rec.trial_id) == (2048, 1, "s2048")
    assert rec.not_measured[0].startswith(
        "Max concurrency under load: no concurrency trial at 2048 MB has a latency "
        "(the run stopped before it); max concurrency 1 is the setting its stability trial"
    )
    assert "2048 MB, max concurrency 2 (the run stopped before it)" in rec.not_measured
    assert "Not measured: 2048 MB, max concurrency 2" in res.summary_text()
    # stopped during the concurrency phase: the trial at 2 clients cut short, 4 never ran
    cut = inv[inv["trial_id"] != "c2-4"]
    res = BenchmarkResult(config, cut, status="stopped", stop_reasons={"c2-2": "stopped"})
    rec = res.recommendation
    assert (rec.max_concurrency, rec.trial_id, rec.clients) == (2, "c2-2", 2)
    assert rec.not_measured == [
        "2048 MB, max concurrency 2 with 4 clients (the run stopped before it)",
        "2048 MB, max concurrency 2 with 2 client(s): only 20 invocations, the run stopped "
        "during it",
    ]
    assert "<b>Not measured:</b>" in res._repr_html_()
    # a completed run that measured everything it planned names nothing
    assert BenchmarkResult(config, inv).recommendation.not_measured == []


# -- end to end ---------------------------------------------------------------------------
def test_end_to_end_against_the_emulator(emulator, tmp_path):
    from sm_bench_widgets.api import run_benchmark

    config = BenchmarkConfig(
        model_name="demo-tabular",
        invoke_args_examples=[{"Body": "1,2,3,4", "ContentType": "text/csv"}],
        memory_sizes=[1024, 2048],
        stability_benchmark_invocations=30,
        min_invocations=10,
        concurrency_benchmark_max_conc=[2],
        concurrency_benchmark_invocations=20,
        concurrency_num_clients_multiplier=[1.0, 2.0],
        result_save_path=str(tmp_path),
    )
    res = run_benchmark(config, emulator.target(), progress=False)
    assert res.status == "completed" and res.emulated
    assert set(res.stability["memory_size"]) == {1024, 2048}
    assert (res.cold_starts["cold_count"] >= 1).all() and len(res.cold_starts) >= 2
    assert res.recommendation is not None, res.recommendation_reason
    assert_same_tables(res, BenchmarkResult.load(res.run_dir))
    assert_same_tables(res, BenchmarkResult.load(res.save(tmp_path / "saved")))
    report = res.to_html(tmp_path / "report.html").read_text()
    assert "EMULATED" in report and res.recommendation_line().split(":")[0] in report
    # the table holds each concurrency trial at its own client count, throttles apart
    table = res.overview()
    conc = table[table["phase"] == "concurrency"].set_index("clients")
    assert sorted(conc.index) == [2, 4] and (conc["max_concurrency"] == 2).all()
    assert conc.loc[4, "throttled"] > 0 and conc.loc[4, "throttle_rate"] > 0
    assert (table["errors"] == 0).all() and (table["error_rate"] == 0).all()
    assert_headline_is_a_row(res)
    assert "<td>recommended</td>" in report


def test_a_run_stopped_on_the_emulator_recommends_only_measured_trials(emulator, tmp_path):
    from sm_bench_widgets.api import start_benchmark
    from tests.waiting import wait_until

    config = BenchmarkConfig(
        model_name="demo-tabular",
        invoke_args_examples=[{"Body": "1,2,3,4", "ContentType": "text/csv"}],
        memory_sizes=[2048],
        adaptive=False,
        stability_benchmark_invocations=20,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_benchmark_invocations=3000,
        concurrency_num_clients_multiplier=[1.0, 2.0],
        result_save_path=str(tmp_path),
    )
    handle = start_benchmark(config, emulator.target())
    rows = handle.run_dir / "invocations.jsonl"
    wait_until(
        lambda: rows.exists() and '"concurrency"' in rows.read_text(),
        120,
        "no concurrency trial started",
    )
    handle.stop()
    res = handle.wait(120)
    assert res is not None and res.status == "stopped"
    rec = res.recommendation
    summary = res.summary.set_index("trial_id")
    assert math.isfinite(summary.loc[rec.trial_id, "p90_ms"])  # its figures were measured
    conc = res.concurrency[res.concurrency["p90_ms"].notna()]
    assert rec.max_concurrency in {1, *conc["max_concurrency"]}
    assert rec.not_measured and all("the run stopped" in n for n in rec.not_measured)
    measured = {(int(r.max_concurrency), int(r.clients)) for r in conc.itertuples()}
    for max_conc, clients in [(2, 2), (2, 4), (4, 4), (4, 8)]:
        if (max_conc, clients) not in measured:
            assert any(
                f"max concurrency {max_conc}" in n and "before it" in n for n in rec.not_measured
            ), (max_conc, clients, rec.not_measured)
    assert_headline_is_a_row(res)
