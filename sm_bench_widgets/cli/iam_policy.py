"""``sm-bench iam-policy``: the least-privilege IAM policy the tool needs, as JSON.

Endpoints and endpoint configs are named after the user's model, so they are scoped by the
tool's tag (``aws:RequestTag`` when created, ``aws:ResourceTag`` afterwards); Processing jobs
by their ``sm-bench-`` name prefix; S3 by the ``sm-bench-widgets`` output prefix. Actions
that AWS does not scope to resources (List*, CloudWatch and quota reads) get ``*``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sm_bench_widgets.cli.errors import fail, one_line_errors

MODES = ("local", "processing-job")
TOOL_TAG_KEY = "sm-bench-widgets:tool"  # as aws/endpoints.py tags every resource
TOOL_TAG_VALUE = "sm-bench-widgets"
JOB_PREFIX = "sm-bench-"  # jobs/launcher.job_name_for
S3_PREFIX = "sm-bench-widgets"  # jobs/sdk.default_output

# botocore operations whose IAM action has another name (S3 mostly); the rest are
# <IAM prefix>:<operation name>
IAM_PREFIX = {
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "cloudwatch": "cloudwatch",
    "service-quotas": "servicequotas",
    "resourcegroupstaggingapi": "tag",
    "s3": "s3",
    "logs": "logs",
    "sts": "sts",
}
IAM_ACTION = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "AbortMultipartUpload"): "s3:AbortMultipartUpload",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
}
# callable by anyone with credentials: no IAM permission exists for it
NEEDS_NO_PERMISSION = {("sts", "GetCallerIdentity")}


def iam_action(service: str, operation: str) -> str | None:
    """The IAM action a botocore call needs (None when it needs none)."""
    if (service, operation) in NEEDS_NO_PERMISSION:
        return None
    return IAM_ACTION.get((service, operation), f"{IAM_PREFIX.get(service, service)}:{operation}")


def build_policy(
    mode: str = "local",
    region: str = "*",
    account: str = "*",
    role_arn: str | None = None,
    bucket: str | None = None,
) -> dict[str, Any]:
    """The policy document for ``mode`` (``local`` or ``processing-job``).

    ``processing-job`` adds launching and following the job; the same document serves the
    job's execution role, which runs the benchmark. ``role_arn`` scopes ``iam:PassRole``
    (default: any role, passed to SageMaker only); ``bucket`` the S3 output bucket
    (default: the SDK's ``sagemaker-<region>-<account>``).
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not allowed: one of {', '.join(MODES)}")
    sm = f"arn:aws:sagemaker:{region}:{account}"
    tagged = {"StringEquals": {f"aws:ResourceTag/{TOOL_TAG_KEY}": TOOL_TAG_VALUE}}
    tagging = {"StringEquals": {f"aws:RequestTag/{TOOL_TAG_KEY}": TOOL_TAG_VALUE}}
    endpoints = [f"{sm}:endpoint/*", f"{sm}:endpoint-config/*"]
    statements: list[dict[str, Any]] = [
        _statement(
            "CreateOnlyTaggedEndpoints",
            ["sagemaker:CreateEndpoint", "sagemaker:CreateEndpointConfig", "sagemaker:AddTags"],
            endpoints,
            tagging,
        ),
        _statement(
            "UseAndDeleteOnlyTheToolsEndpoints",
            [
                "sagemaker:DeleteEndpoint",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:InvokeEndpoint",
                "sagemaker:ListTags",
            ],
            endpoints,
            tagged,
        ),
        _statement("ReadTheModelToBenchmark", ["sagemaker:DescribeModel"], [f"{sm}:model/*"]),
        _statement(
            "FindLeftoversAndReadMetricsAndQuotas",
            [
                "sagemaker:ListEndpoints",
                "sagemaker:ListEndpointConfigs",
                "sagemaker:ListModels",
                "tag:GetResources",
                "cloudwatch:GetMetricData",
                "cloudwatch:GetMetricStatistics",
                "servicequotas:GetServiceQuota",
                "servicequotas:GetAWSDefaultServiceQuota",
                "servicequotas:ListServiceQuotas",
                "servicequotas:ListAWSDefaultServiceQuotas",
            ],
            ["*"],
        ),
    ]
    if mode == "processing-job":
        statements += _job_statements(sm, region, account, role_arn, bucket)
    return {"Version": "2012-10-17", "Statement": statements}


def _job_statements(
    sm: str, region: str, account: str, role_arn: str | None, bucket: str | None
) -> list[dict[str, Any]]:
    bucket = bucket or f"sagemaker-{region}-{account}"
    jobs = f"{sm}:processing-job/{JOB_PREFIX}*"
    role = role_arn or f"arn:aws:iam::{account}:role/*"
    return [
        _statement(
            "RunTheBenchmarkAsAProcessingJob",
            [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:AddTags",
            ],
            [jobs],
        ),
        # the SDK looks for its default bucket among the account's buckets
        _statement(
            "ListJobsAndBuckets",
            ["sagemaker:ListProcessingJobs", "s3:ListAllMyBuckets"],
            ["*"],
        ),
        _statement(
            "PassTheJobRoleToSageMakerOnly",
            ["iam:PassRole"],
            [role],
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        _statement(
            "JobInputAndResultsBucket",
            ["s3:ListBucket", "s3:CreateBucket", "s3:GetBucketLocation"],
            [f"arn:aws:s3:::{bucket}"],
        ),
        _statement(
            "JobInputAndResultsObjects",
            ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            [f"arn:aws:s3:::{bucket}/{S3_PREFIX}/*", f"arn:aws:s3:::{bucket}/*/{S3_PREFIX}/*"],
        ),
        _statement(
            "JobLogs",
            [
                "logs:GetLogEvents",
                "logs:DescribeLogStreams",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            [
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs",
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs:"
                f"log-stream:{JOB_PREFIX}*",
            ],
        ),
    ]


def _statement(
    sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def policy_actions(policy: dict[str, Any]) -> set[str]:
    """Every action the policy allows."""
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


def register(subparsers: Any) -> None:
    """Add ``iam-policy`` to the ``sm-bench`` command."""
    cmd = subparsers.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy the tool needs",
        description="Print the IAM policy (JSON) sm-bench needs: endpoints are scoped by the "
        f"tool's tag {TOOL_TAG_KEY}={TOOL_TAG_VALUE}, Processing jobs by the name prefix "
        f"{JOB_PREFIX}, S3 by the {S3_PREFIX}/ prefix.",
    )
    cmd.add_argument(
        "--mode",
        choices=MODES,
        default="local",
        help="local: runs from this machine; processing-job: also launch and follow "
        "Processing jobs (the same policy serves the job's execution role)",
    )
    cmd.add_argument("--region", default="*", help="scope ARNs to this region (default *)")
    cmd.add_argument("--account", default="*", help="scope ARNs to this account id (default *)")
    cmd.add_argument("--role-arn", default=None, help="the job's execution role (PassRole)")
    cmd.add_argument("--bucket", default=None, help="the job's S3 bucket")
    cmd.set_defaults(func=iam_policy_command)
    one_line_errors(cmd)


def iam_policy_command(args: argparse.Namespace) -> int:
    """``sm-bench iam-policy``: print the policy document."""
    try:
        policy = build_policy(args.mode, args.region, args.account, args.role_arn, args.bucket)
    except ValueError as exc:
        return fail("sm-bench iam-policy", exc, 2)
    json.dump(policy, sys.stdout, indent=2)
    print()
    return 0
