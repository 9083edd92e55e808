"""The documented limits of SageMaker Serverless Inference, in one place.

A leaf module (no imports) so that the config, the AWS layer, the payload checks and the
emulator all read the same facts.
"""

from __future__ import annotations

# ProductionVariantServerlessConfig.MemorySizeInMB, SageMaker API reference: 1 GB steps to 6 GB.
MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)

# ProductionVariantServerlessConfig.MaxConcurrency, SageMaker API reference: 1 to 200.
MAX_CONCURRENCY_RANGE = (1, 200)

# ProductionVariantServerlessConfig.ProvisionedConcurrency, SageMaker API reference: 1 to 200,
# and not above MaxConcurrency.
PROVISIONED_CONCURRENCY_RANGE = (1, 200)

# "Invoke a serverless endpoint", SageMaker developer guide: request and response at most 4 MB.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024

# "Invoke a serverless endpoint", SageMaker developer guide: the container must answer
# /invocations within 1 minute.
INVOCATION_TIMEOUT_S = 60.0

# ProcessingClusterConfig.InstanceCount, SageMaker API reference: 1 to 100.
PROCESSING_INSTANCE_COUNT_RANGE = (1, 100)

# ProcessingStoppingCondition.MaxRuntimeInSeconds, SageMaker API reference: 1 to 777600
# (9 days); without it a job may run 24 hours.
PROCESSING_MAX_RUNTIME_RANGE = (1, 777600)
