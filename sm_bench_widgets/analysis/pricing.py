"""Serverless Inference and instance prices per region, each with its date and source.

One table holds every figure the cost model uses. Serverless compute is billed per
second of processing time in proportion to the memory configured, so the table keeps
one rate per GB-second (1024 MB = 1 GB); the price for a memory size is that rate times
its GB. Users override any figure by name (``get_prices(region, {"data_in_per_gb": 0.02})``)
and the override is recorded as the figure's source.

Where the figures come from:
- On-demand compute (0.0000200 USD per second at 1024 MB, rising in proportion to
  0.0001200 at 6144 MB), data processed in and out (0.016 USD per GB) and the
  ml.t2.medium / ml.c5.large / ml.c5.xlarge hourly prices are the us-east-1 figures of
  the SageMaker pricing page, as transcribed in the predecessor toolkit
  (aws-samples/sagemaker-serverless-inference-benchmarking,
  sm_serverless_benchmarking/cost_constants.py).
- ml.m5.large (0.115 USD/h) and ml.g4dn.xlarge (0.7364 USD/h) are us-east-1 figures of
  the same pricing page as quoted in public write-ups (named in each figure's source).
- Provisioned concurrency figures were not found in any stored copy of the pricing page:
  they are DERIVED by applying AWS Lambda's published us-east-1 ratios (provisioned
  concurrency 0.0000041667 and its duration 0.0000097222 against on-demand duration
  0.0000166667 USD per GB-second) to the SageMaker on-demand rate. Override them with the
  figures from your bill or the pricing page when they matter.
- Regions other than us-east-1 were not found either: their figures are the us-east-1
  figures and say so in their source.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from sm_bench_widgets.config import ConfigError

PRICING_PAGE = "https://aws.amazon.com/sagemaker/pricing/"
SEED_CONSTANTS = (
    "aws-samples/sagemaker-serverless-inference-benchmarking "
    "sm_serverless_benchmarking/cost_constants.py"
)
TRANSCRIBED_ON = "2026-11-25"
HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
BYTES_PER_GB = 1024**3
MB_PER_GB = 1024

# Lambda us-east-1 per GB-second: on-demand duration, provisioned concurrency held, and
# duration on provisioned concurrency (https://aws.amazon.com/lambda/pricing/).
_LAMBDA_ON_DEMAND = 0.0000166667
_LAMBDA_PC_HELD = 0.0000041667
_LAMBDA_PC_DURATION = 0.0000097222


@dataclass(frozen=True)
class PriceFigure:
    """One price with the date it was taken and where it came from."""

    value: float
    as_of: str
    source: str


SERVERLESS_NAMES = (
    "compute_per_gb_second",
    "data_in_per_gb",
    "data_out_per_gb",
    "provisioned_per_gb_second",
    "provisioned_compute_per_gb_second",
)
INSTANCE_TYPES = ("ml.t2.medium", "ml.m5.large", "ml.c5.large", "ml.c5.xlarge", "ml.g4dn.xlarge")


def _us_east_1() -> dict[str, PriceFigure]:
    page = f"{PRICING_PAGE} (us-east-1, as transcribed in {SEED_CONSTANTS})"
    quoted = f"{PRICING_PAGE} (us-east-1, as quoted in {{where}})"
    compute = 0.0000200  # USD per second at 1024 MB
    derived = (
        f"derived: not found in stored copies of {PRICING_PAGE}; SageMaker on-demand "
        f"rate x AWS Lambda us-east-1 ratio {{ratio}} "
        f"(https://aws.amazon.com/lambda/pricing/)"
    )
    held = _LAMBDA_PC_HELD / _LAMBDA_ON_DEMAND
    duration = _LAMBDA_PC_DURATION / _LAMBDA_ON_DEMAND
    return {
        "compute_per_gb_second": PriceFigure(compute, TRANSCRIBED_ON, page),
        "data_in_per_gb": PriceFigure(0.016, TRANSCRIBED_ON, page),
        "data_out_per_gb": PriceFigure(0.016, TRANSCRIBED_ON, page),
        "provisioned_per_gb_second": PriceFigure(
            float(f"{compute * held:.4g}"),
            TRANSCRIBED_ON,
            derived.format(ratio=f"{_LAMBDA_PC_HELD}/{_LAMBDA_ON_DEMAND}"),
        ),
        "provisioned_compute_per_gb_second": PriceFigure(
            float(f"{compute * duration:.4g}"),
            TRANSCRIBED_ON,
            derived.format(ratio=f"{_LAMBDA_PC_DURATION}/{_LAMBDA_ON_DEMAND}"),
        ),
        "ml.t2.medium": PriceFigure(0.056, TRANSCRIBED_ON, page),
        "ml.c5.large": PriceFigure(0.102, TRANSCRIBED_ON, page),
        "ml.c5.xlarge": PriceFigure(0.204, TRANSCRIBED_ON, page),
        "ml.m5.large": PriceFigure(
            0.115,
            TRANSCRIBED_ON,
            quoted.format(
                where="https://randeepbhatia.com/courses/aws-serverless-ml/sagemaker-serverless"
            ),
        ),
        "ml.g4dn.xlarge": PriceFigure(
            0.7364,
            TRANSCRIBED_ON,
            quoted.format(
                where="goerlitz/nlp-classification notebooks/10kGNAD/sagemaker/README.md"
            ),
        ),
    }


def _derived_from_us_east_1(region: str) -> dict[str, PriceFigure]:
    return {
        name: PriceFigure(
            fig.value,
            fig.as_of,
            f"derived: us-east-1 rate (no {region} figure found); {fig.source}",
        )
        for name, fig in _us_east_1().items()
    }


PRICE_TABLE: dict[str, dict[str, PriceFigure]] = {
    "us-east-1": _us_east_1(),
    **{
        region: _derived_from_us_east_1(region)
        for region in ("us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1")
    },
}
REGIONS = tuple(PRICE_TABLE)


@dataclass(frozen=True)
class Prices:
    """The prices for one region: serverless rates per GB-second and per GB, instance hours."""

    region: str
    compute_per_gb_second: float
    data_in_per_gb: float
    data_out_per_gb: float
    provisioned_per_gb_second: float
    provisioned_compute_per_gb_second: float
    instance_hourly: dict[str, float]
    as_of: str
    source: str
    figures: dict[str, PriceFigure] = field(default_factory=dict)

    def compute_per_second(self, memory_size: float) -> float:
        """On-demand compute price per second of processing at ``memory_size`` MB."""
        return self.compute_per_gb_second * memory_size / MB_PER_GB

    def provisioned_compute_per_second(self, memory_size: float) -> float:
        """Compute price per second for requests served by provisioned concurrency."""
        return self.provisioned_compute_per_gb_second * memory_size / MB_PER_GB

    def provisioned_held_per_second(self, memory_size: float) -> float:
        """Price per second of holding one unit of provisioned concurrency."""
        return self.provisioned_per_gb_second * memory_size / MB_PER_GB

    def instance_monthly(self, instance_type: str) -> float:
        """24x7 monthly price of one instance, or ConfigError naming the known types."""
        if instance_type not in self.instance_hourly:
            raise ConfigError(
                "comparison_instance_type",
                instance_type,
                f"one of {', '.join(sorted(self.instance_hourly))} or a price "
                "given in pricing_overrides under that name",
            )
        return self.instance_hourly[instance_type] * HOURS_PER_MONTH

    def to_dict(self) -> dict[str, object]:
        """Plain values, each figure with its date and source, for saving with a result."""
        data = dataclasses.asdict(self)
        data["figures"] = {k: dataclasses.asdict(v) for k, v in self.figures.items()}
        return data


def allowed_override_names(region: str = "us-east-1") -> list[str]:
    """Names accepted in ``overrides``: serverless rates and instance types (ml.*)."""
    names = list(SERVERLESS_NAMES) + sorted(PRICE_TABLE.get(region, PRICE_TABLE["us-east-1"]))
    return list(dict.fromkeys(names))


def get_prices(
    region: str | None = "us-east-1", overrides: dict[str, float] | None = None
) -> Prices:
    """The price table for ``region`` with user overrides applied by name."""
    region = region or "us-east-1"
    if region not in PRICE_TABLE:
        raise ConfigError("region", region, f"one of {', '.join(REGIONS)}")
    figures = dict(PRICE_TABLE[region])
    for name, value in (overrides or {}).items():
        if name not in figures and not (isinstance(name, str) and name.startswith("ml.")):
            raise ConfigError(
                "pricing_overrides",
                name,
                "a price name, one of: "
                f"{', '.join(allowed_override_names(region))} "
                "(or another ml.* instance type)",
            )
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(f"pricing_overrides[{name!r}]", value, "a price in USD >= 0")
        figures[name] = PriceFigure(float(value), "user override", "pricing_overrides")
    sources = {fig.source for fig in figures.values()}
    return Prices(
        region=region,
        compute_per_gb_second=figures["compute_per_gb_second"].value,
        data_in_per_gb=figures["data_in_per_gb"].value,
        data_out_per_gb=figures["data_out_per_gb"].value,
        provisioned_per_gb_second=figures["provisioned_per_gb_second"].value,
        provisioned_compute_per_gb_second=figures["provisioned_compute_per_gb_second"].value,
        instance_hourly={k: v.value for k, v in figures.items() if k.startswith("ml.")},
        as_of=min(fig.as_of for fig in figures.values()),
        source=PRICING_PAGE + (" (with overrides)" if "pricing_overrides" in sources else ""),
        figures=figures,
    )


# Processing-job instances (what a benchmark run as a Processing job pays per host), us-east-1
# on-demand. Not found in a stored copy of the pricing page's Processing tab: these are the
# figures commonly quoted for SageMaker ml.* instances; check them against the page.
_PROCESSING_SOURCE = (
    f"{PRICING_PAGE} (Processing, us-east-1 on-demand, as commonly quoted; "
    "not verified against a stored copy of the page)"
)
PROCESSING_HOURLY: dict[str, PriceFigure] = {
    instance_type: PriceFigure(price, TRANSCRIBED_ON, _PROCESSING_SOURCE)
    for instance_type, price in (
        ("ml.t3.medium", 0.05),
        ("ml.m5.large", 0.115),
        ("ml.m5.xlarge", 0.23),
        ("ml.m5.2xlarge", 0.461),
        ("ml.m5.4xlarge", 0.922),
        ("ml.c5.xlarge", 0.204),
    )
}


def processing_hourly(instance_type: str, region: str | None = "us-east-1") -> PriceFigure | None:
    """The hourly price of one Processing instance of ``instance_type``, or None when the
    table has no figure for it. Regions other than us-east-1 use its figures, saying so."""
    figure = PROCESSING_HOURLY.get(instance_type)
    if figure is None or region in (None, "us-east-1"):
        return figure
    return PriceFigure(
        figure.value,
        figure.as_of,
        f"derived: us-east-1 rate (no {region} figure found); {figure.source}",
    )
