"""``BenchmarkResult`` and its parts, one job per module.

``model`` holds the data and what follows from it (tables, costs, recommendation),
``persistence`` saves and loads it, ``exports`` writes CSV/Parquet/Excel/HTML files and
``render`` shows it as text and HTML.
"""

from sm_bench_widgets.result.model import EMULATED_LABEL, TABLES, BenchmarkResult
from sm_bench_widgets.result.persistence import FORMAT, FORMAT_VERSION

__all__ = ["EMULATED_LABEL", "FORMAT", "FORMAT_VERSION", "TABLES", "BenchmarkResult"]
