"""Leftover sweep by tag, from Python and from ``sm-bench cleanup``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sm_bench_widgets.aws.cleanup import sweep
from sm_bench_widgets.aws.endpoints import (
    CleanupError,
    EndpointSpec,
    create_endpoint,
    endpoint_name_for,
    find_leftover_resources,
    find_leftovers,
)
from tests.aws.conftest import all_resources, inject


@pytest.fixture
def leftovers(target, model):
    """Two runs' tagged endpoints, an orphaned tagged config and an untagged endpoint."""
    sm = target.client("sagemaker")
    made = {}
    for run in ("run-a", "run-b"):
        spec = EndpointSpec(model, 1024, 1)
        name = endpoint_name_for(model, run, spec)
        create_endpoint(target, spec, name, run)
        made[run] = name
    orphan = endpoint_name_for(model, "run-a", EndpointSpec(model, 2048, 1))
    sm.create_endpoint_config(
        EndpointConfigName=orphan,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
            }
        ],
        Tags=[
            {"Key": "sm-bench-widgets:tool", "Value": "sm-bench-widgets"},
            {"Key": "sm-bench-widgets:run-id", "Value": "run-a"},
        ],
    )
    variants = [
        {
            "VariantName": "AllTraffic",
            "ModelName": model,
            "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
        }
    ]
    sm.create_endpoint_config(
        EndpointConfigName="not-ours",
        ProductionVariants=variants,
        Tags=[{"Key": "sm-bench-widgets:tool", "Value": "other"}],
    )
    sm.create_endpoint(EndpointName="not-ours", EndpointConfigName="not-ours")
    return {"a": made["run-a"], "b": made["run-b"], "orphan": orphan}


def test_find_leftovers_by_tool_and_run(target, leftovers):
    assert find_leftovers(target) == sorted([leftovers["a"], leftovers["b"], leftovers["orphan"]])
    assert find_leftovers(target, "run-a") == sorted([leftovers["a"], leftovers["orphan"]])
    assert find_leftovers(target, "run-zzz") == []
    kinds = {(r.name, r.kind) for r in find_leftover_resources(target, "run-b")}
    assert kinds == {(leftovers["b"], "endpoint"), (leftovers["b"], "endpoint-config")}


def test_dry_run_deletes_nothing(target, leftovers):
    before = all_resources(target)
    lines: list[str] = []
    names = sweep(target, dry_run=True, out=lines.append)
    assert names == find_leftovers(target)
    assert all_resources(target) == before
    assert all(line.startswith("would delete") for line in lines)
    assert any(leftovers["orphan"] in line and "endpoint-config" in line for line in lines)


def test_sweep_one_run_then_all_keeps_untagged(target, leftovers):
    lines: list[str] = []
    assert sweep(target, run_id="run-a", out=lines.append) == sorted(
        [leftovers["a"], leftovers["orphan"]]
    )
    assert all(line.startswith("deleted") for line in lines)
    assert find_leftovers(target) == [leftovers["b"]]
    sweep(target, out=lines.append)
    assert all_resources(target) == (["not-ours"], ["not-ours"])
    assert sweep(target, out=lines.append) == []
    assert lines[-1] == "nothing to clean up"


def test_sweep_reports_failures_after_trying_the_rest(target, leftovers):
    inject(
        target,
        "DeleteEndpoint",
        lambda p: (
            ("AccessDeniedException", "denied") if p["EndpointName"] == leftovers["a"] else None
        ),
    )
    with pytest.raises(CleanupError) as info:
        sweep(target, out=lambda line: None)
    assert list(info.value.failures) == [f"endpoint {leftovers['a']}"]
    assert find_leftovers(target) == [leftovers["a"]]


def _cli(moto_url, credentials, *args):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        **credentials,
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "sm_bench_widgets.cli", "cleanup", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_dry_run_then_delete(target, moto_url, leftovers, account_credentials):
    dry = _cli(moto_url, account_credentials, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert leftovers["a"] in dry.stdout and "would delete" in dry.stdout
    assert "not-ours" not in dry.stdout
    assert len(find_leftovers(target)) == 3

    real = _cli(moto_url, account_credentials, "--run-id", "run-b")
    assert real.returncode == 0, real.stderr
    assert find_leftovers(target) == sorted([leftovers["a"], leftovers["orphan"]])


def test_cli_failure_is_one_line_and_non_zero(moto_url, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    result = _cli(moto_url, {}, "--dry-run", "--profile", "no-such-profile")
    assert result.returncode == 1
    assert result.stderr.startswith("sm-bench cleanup: error:")
    assert "no-such-profile" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_endpoints_already_deleting_are_not_leftovers(target, leftovers):
    sm = target.client("sagemaker")
    listed = sm.list_endpoints()["Endpoints"]
    deleting = [{**e, "EndpointStatus": "Deleting"} for e in listed]
    inject(target, "ListEndpoints", lambda p: {"Endpoints": deleting})
    kinds = {r.kind for r in find_leftover_resources(target)}
    assert kinds == {"endpoint-config"}


def _count_calls(target, service: str, operation: str) -> list[int]:
    """A one-element list counting the ``operation`` calls of ``service`` from now on."""
    calls = [0]
    client = target.client(service)
    event_service = client.meta.service_model.service_id.hyphenize()

    def count(**kwargs):
        calls[0] += 1

    client.meta.events.register(f"before-call.{event_service}.{operation}", count)
    return calls


def test_leftovers_come_from_the_tagging_api_when_it_answers(target, leftovers):
    list_tags = _count_calls(target, "sagemaker", "ListTags")
    get_resources = _count_calls(target, "resourcegroupstaggingapi", "GetResources")
    assert find_leftovers(target) == sorted([leftovers["a"], leftovers["b"], leftovers["orphan"]])
    assert find_leftovers(target, "run-a") == sorted([leftovers["a"], leftovers["orphan"]])
    kinds = {(r.name, r.kind, r.run_id) for r in find_leftover_resources(target, "run-b")}
    assert kinds == {
        (leftovers["b"], "endpoint", "run-b"),
        (leftovers["b"], "endpoint-config", "run-b"),
    }
    assert get_resources[0] == 3 and list_tags[0] == 0


def test_leftovers_fall_back_to_each_resources_tags_when_tagging_is_denied(target, leftovers):
    inject(
        target,
        "GetResources",
        lambda p: ("AccessDeniedException", "not allowed"),
        service="resourcegroupstaggingapi",
    )
    list_tags = _count_calls(target, "sagemaker", "ListTags")
    assert find_leftovers(target) == sorted([leftovers["a"], leftovers["b"], leftovers["orphan"]])
    assert find_leftovers(target, "run-b") == [leftovers["b"]]
    assert list_tags[0] > 0  # untagged and foreign-tagged ones were read and left out


def test_tagging_api_answers_for_deleted_resources_are_ignored(target, leftovers):
    sm = target.client("sagemaker")
    gone_arn = sm.describe_endpoint(EndpointName=leftovers["b"])["EndpointArn"]
    tagged = target.client("resourcegroupstaggingapi").get_resources(
        ResourceTypeFilters=["sagemaker:endpoint"],
        TagFilters=[{"Key": "sm-bench-widgets:tool", "Values": ["sm-bench-widgets"]}],
    )["ResourceTagMappingList"]
    assert gone_arn in {m["ResourceARN"] for m in tagged}
    sm.delete_endpoint(EndpointName=leftovers["b"])
    inject(
        target,
        "GetResources",
        lambda p: {"ResourceTagMappingList": tagged},  # still lists the deleted endpoint
        service="resourcegroupstaggingapi",
    )
    kinds = {(r.name, r.kind) for r in find_leftover_resources(target)}
    assert (leftovers["b"], "endpoint") not in kinds
    assert (leftovers["a"], "endpoint") in kinds


def test_only_this_tools_tag_counts_untagged_and_foreign_tags_are_left(target, model, leftovers):
    sm = target.client("sagemaker")
    variants = [
        {
            "VariantName": "AllTraffic",
            "ModelName": model,
            "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
        }
    ]
    lookalikes = {
        # the run-id key alone, without the tool tag
        "run-tag-only": [{"Key": "sm-bench-widgets:run-id", "Value": "run-a"}],
        # the tool's value under another key, and another tool's own tags
        "value-elsewhere": [{"Key": "tool", "Value": "sm-bench-widgets"}],
        "other-tool": [{"Key": "owner", "Value": "team-x"}, {"Key": "project", "Value": "y"}],
        "untagged-config": [],
    }
    for name, tags in lookalikes.items():
        kwargs = {"Tags": tags} if tags else {}
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **kwargs)
        if name != "untagged-config":
            sm.create_endpoint(EndpointName=name, EndpointConfigName=name, **kwargs)
    ours = sorted([leftovers["a"], leftovers["b"], leftovers["orphan"]])
    assert find_leftovers(target) == ours
    assert sweep(target, out=lambda line: None) == ours
    endpoints, configs = all_resources(target)
    assert sorted(endpoints) == ["not-ours", "other-tool", "run-tag-only", "value-elsewhere"]
    assert sorted(configs) == sorted([*lookalikes, "not-ours"])
