"""Benchmark Amazon SageMaker Serverless Inference configurations and get a recommendation."""

from sm_bench_widgets.config import BenchmarkConfig, ConfigError

__all__ = ["BenchmarkConfig", "ConfigError"]
__version__ = "0.1.0"
