"""What a client test may leave behind on a served emulator: nothing."""

from __future__ import annotations

import boto3


def leftovers() -> dict[str, list[str]]:
    """Endpoints, endpoint configs and non-demo models on the emulator the environment names."""
    sm = boto3.client("sagemaker")
    models = [
        m["ModelName"] for m in sm.list_models()["Models"] if not m["ModelName"].startswith("demo-")
    ]
    return {
        "endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
        "endpoint configs": [
            c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]
        ],
        "models": models,
    }


def nothing_left() -> dict[str, list[str]]:
    """The empty answer of ``leftovers()``."""
    return {"endpoints": [], "endpoint configs": [], "models": []}
