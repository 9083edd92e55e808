"""The notebook UI: ``BenchmarkPanel`` and the widgets it is made of."""

from sm_bench_widgets.widgets.panel import BenchmarkPanel

__all__ = ["BenchmarkPanel"]
