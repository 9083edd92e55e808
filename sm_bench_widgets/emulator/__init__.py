"""A local stand-in for SageMaker Serverless Inference (control plane from moto).

``LocalServerless`` serves sagemaker, sagemaker-runtime, cloudwatch, s3 and sts at one URL;
``embedded()`` is the process-wide one the panel and the demo use without AWS credentials.
Its numbers are emulated.
"""

from sm_bench_widgets.emulator.profiles import DEMO_PROFILES, ModelProfile, vcpus_for_memory
from sm_bench_widgets.emulator.server import LocalServerless, embedded

__all__ = ["DEMO_PROFILES", "LocalServerless", "ModelProfile", "embedded", "vcpus_for_memory"]
