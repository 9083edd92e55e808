"""A fixed-latency stub SageMaker runtime endpoint that costs almost no CPU per request.

Answers InvokeEndpoint after exactly ``--latency-ms`` (asyncio, in its own process), so a
benchmark measures the client and not the endpoint. Point the runtime alone at it:

    python benchmarks/stub_endpoint.py --latency-ms 200 --port 8765 &
    export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:8765

The server lives in ``sm_bench_widgets.engine.load_stub`` (the run's self-check and the
tests use it too).
"""

from __future__ import annotations

from sm_bench_widgets.engine.load_stub import main

if __name__ == "__main__":
    main()
