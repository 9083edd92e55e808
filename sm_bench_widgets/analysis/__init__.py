"""Analysis of benchmark results: statistics, racing, pricing, cost and recommendation.

Pure functions over pandas DataFrames whose columns are named in ``sm_bench_widgets.schema``.
"""

from sm_bench_widgets.analysis import cost, pricing, racing, recommend, stats

__all__ = ["cost", "pricing", "racing", "recommend", "stats"]
