"""Write ``docs/emulator-operations.md``: the operations the emulator serves, from the code.

``python -m sm_bench_widgets.emulator.operations_doc [PATH]`` regenerates it; a test fails
when the file differs from ``render()`` (after a moto upgrade, say). The list of messages
the emulator words without an AWS source is kept here too, next to the list it explains.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sm_bench_widgets.emulator.faults import ENDPOINT_FAILED, KNOWN
from sm_bench_widgets.emulator.operations import NOT_SUPPORTED, OWN, REFUSED, catalogue

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "emulator-operations.md"

# (message, where it is sent, its AWS source or why it has none)
MESSAGES: tuple[tuple[str, str, str], ...] = (
    (
        "ThrottlingException with a null message (HTTP 400)",
        "InvokeEndpoint beyond MaxConcurrency",
        'as reported: opensearch-project/ml-commons#2429 (`{"message": null}`), '
        "aws/amazon-kinesis-video-streams-parser-library#187, "
        "aws-samples/amazon-sagemaker-nlu-search#4",
    ),
    (
        "Endpoint <name> of account <account> not found.",
        "InvokeEndpoint on a missing or not yet InService endpoint",
        "as reported: aws/amazon-sagemaker-examples#293",
    ),
    (
        'Could not find endpoint configuration "<arn>".',
        "UpdateEndpoint to a missing config",
        "as reported: hashicorp/terraform-provider-aws#40048",
    ),
    (
        "1 validation error detected: Value '<v>' at '<member path>' failed to satisfy "
        "constraint: Member must have value less (greater) than or equal to <n>",
        "ServerlessConfig and ServerlessUpdateConfig out of range",
        "AWS's wording for a constraint (e.g. aws/amazon-sagemaker-examples#2236)",
    ),
    (
        "Received client|server error (<status>) from primary with message ...",
        "ModelError of a handler that fails",
        "AWS's ModelError wording",
    ),
    (
        'Could not find endpoint "<arn>".',
        "UpdateEndpoint, UpdateEndpointWeightsAndCapacities on a missing endpoint",
        "no public report found; patterned on the config's message",
    ),
    (
        'Cannot update in-progress endpoint "<arn>".',
        "an update while Creating or Updating",
        "no AWS source",
    ),
    (
        "ProvisionedConcurrency (<p>) of variant <v> must be less than or equal to "
        "MaxConcurrency (<m>).",
        "CreateEndpointConfig, UpdateEndpointWeightsAndCapacities",
        "no AWS source",
    ),
    (
        "... must be an integer.",
        "a non-integer MaxConcurrency or ProvisionedConcurrency",
        "no AWS source",
    ),
    (
        'The variant name "<v>" was non-unique within the request. / The variant name(s) '
        '"<v>" is/are not present within endpoint configuration "<c>".',
        "UpdateEndpointWeightsAndCapacities",
        "moto's wording, no AWS source",
    ),
    (
        "ServerlessUpdateConfig is given for variant <v>, which is not a serverless variant.",
        "UpdateEndpointWeightsAndCapacities",
        "no AWS source",
    ),
    (
        "Request (Response) payload of <n> bytes exceeds the maximum of 4194304 bytes (4 MB) "
        "for serverless inference.",
        "InvokeEndpoint over 4 MB",
        "no AWS source",
    ),
    (
        "Insufficient memory: ... Choose a larger memory size.",
        "ModelError and FailureReason of a model that does not fit",
        "no AWS source",
    ),
    (
        "The primary container failed to start: ... / the model's FailureReason",
        "an endpoint (or update) whose model cannot start",
        "no AWS source",
    ),
    (
        "variant <v> has no ServerlessConfig: the local emulator hosts serverless variants only",
        "an endpoint on an instance-based config",
        "the emulator's own limit",
    ),
    (
        "TargetVariant <v> is not a variant",
        "InvokeEndpoint with an unknown TargetVariant",
        "no AWS source",
    ),
    (
        "The account-level service limit '<quota name>' is <n>, with current utilization of "
        "<used> and a request delta of <delta>. Please contact AWS support to request an "
        "increase for this limit.",
        "ResourceLimitExceeded of CreateEndpoint and updates past a serverless quota",
        "AWS's wording for its instance quotas (aws/amazon-sagemaker-examples#307, "
        "awsdocs/amazon-sagemaker-developer-guide#70); the serverless one is not reported",
    ),
    (
        f"<Operation> {NOT_SUPPORTED}.",
        "an operation the emulator does not serve (ValidationException, HTTP 400)",
        "the emulator's own; AWS answers an unknown operation with UnknownOperationException",
    ),
)

SUPPORT_TEXT = {
    "emulator": "the emulator's own",
    "moto": "moto's: answered, state kept, nothing runs (a training job never trains)",
    "unsupported": f"refused with HTTP 400: ValidationException (ValidationError for query "
    f"services) '<Operation> {NOT_SUPPORTED}.'",
}


def render() -> str:
    """The Markdown page."""
    lines = [
        "# Operations the local emulator serves",
        "",
        "Generated from the code by `python -m sm_bench_widgets.emulator.operations_doc`; a "
        "test fails when it is out of date. Every operation of a listed service is one of:",
        "",
        *(f"- **{k}**: {v}" for k, v in SUPPORT_TEXT.items()),
        "",
        "An operation the service does not have at all is refused with "
        "UnknownOperationException (InvalidAction for query services); a fault of the "
        "emulator is an InternalFailure (HTTP 500). S3 is moto's S3 as a whole; what moto's "
        "S3 lacks is refused with NotImplemented (HTTP 400). Other services are answered by "
        "moto where it has them.",
        "",
    ]
    lines += [
        "## Account quotas and injected faults",
        "",
        "The emulator's account has AWS's two serverless quotas per region, counting every "
        "serverless endpoint whichever tool made it: `sm-bench emulator "
        "--account-max-concurrency N` (total MaxConcurrency of all serverless endpoints, "
        "default 200; new AWS accounts have been reported at 10) and "
        "`--account-max-endpoints N` (serverless endpoint variants, default 50), "
        "`LocalServerless(account_max_concurrency=..., account_max_endpoints=...)` from "
        "Python. CreateEndpoint, UpdateEndpoint and UpdateEndpointWeightsAndCapacities that "
        "would pass one fail with ResourceLimitExceeded (HTTP 400); the Service Quotas API "
        "answers the values.",
        "",
        "Faults make chosen requests fail as AWS fails them: `--fault OPERATION=CODE[:COUNT]` "
        "(repeatable; OPERATION `*` is any operation but InvokeEndpoint, COUNT a number or "
        "`always`), or over HTTP at `/_sm_bench/faults` on the emulator's URL: POST "
        '`{"operation": "CreateEndpoint", "code": "ThrottlingException", "count": 2, '
        '"skip": 0, "endpoint": "<name prefix>", "status": 400, "message": "..."}` '
        "(or a list), GET lists them with how often each fired, DELETE clears them. Known "
        "codes get AWS's status: "
        + ", ".join(f"{c} ({s})" for c, (s, _) in KNOWN.items() if c != ENDPOINT_FAILED)
        + f"; {ENDPOINT_FAILED} lets CreateEndpoint succeed and "
        "makes the endpoint Failed with the fault's message as its FailureReason.",
        "",
    ]
    for service, groups in catalogue().items():
        total = sum(len(v) for v in groups.values())
        lines += [f"## {service}", ""]
        lines += [
            f"{total} operations: {len(groups['emulator'])} the emulator's own, "
            f"{len(groups['moto'])} moto's, {len(groups['unsupported'])} not supported.",
            "",
        ]
        if groups["emulator"]:
            lines += ["| operation | what the emulator does |", "|---|---|"]
            lines += [f"| {op} | {OWN[service][op]} |" for op in groups["emulator"]]
            lines.append("")
        for op, why in sorted(REFUSED.get(service, {}).items()):
            lines.append(f"Refused although moto has it: {op} ({why}).")
        if REFUSED.get(service):
            lines.append("")
        if groups["moto"]:
            lines += ["moto's: " + ", ".join(groups["moto"]) + ".", ""]
        if groups["unsupported"]:
            lines += ["Not supported: " + ", ".join(groups["unsupported"]) + ".", ""]
    lines += [
        "## Known differences in messages",
        "",
        "The messages the emulator sends, and where each wording comes from. Those marked "
        "*no AWS source* are the emulator's own words: AWS may word the same refusal "
        "differently.",
        "",
        "| message | sent for | source |",
        "|---|---|---|",
    ]
    lines += [f"| {_cell(m)} | {_cell(w)} | {_cell(s)} |" for m, w, s in MESSAGES]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    """Write the page to ``argv[0]`` (default ``docs/emulator-operations.md``)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
