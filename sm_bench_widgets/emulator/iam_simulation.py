"""IAM ``SimulatePrincipalPolicy`` as the emulator can truthfully answer it.

The emulator enforces no IAM policy: every principal that exists may call every action. So
the simulation allows each requested action on each requested resource for a user or role
that exists in the emulator's IAM (moto's), and answers ``NoSuchEntity`` (404) for one that
does not, as IAM does. The sagemaker SDK simulates the execution role before it creates a
Model (``ModelBuilder.build``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

ACTION = "SimulatePrincipalPolicy"
_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
_PRINCIPAL = re.compile(r"^arn:(?P<partition>[\w-]+):iam::\d{12}:(?P<kind>role|user)/.+$")


def members(form: dict[str, str], name: str) -> list[str]:
    """The values of a query-protocol list parameter (``Name.member.1``, ``Name.member.2``...)."""
    found = []
    for key, value in form.items():
        match = re.fullmatch(rf"{name}\.member\.(\d+)", key)
        if match:
            found.append((int(match.group(1)), value))
    return [value for _, value in sorted(found)]


def simulate(form: dict[str, str], account: str) -> tuple[str, bytes]:
    """The HTTP status and XML body of a ``SimulatePrincipalPolicy`` request."""
    source = form.get("PolicySourceArn", "")
    actions = members(form, "ActionNames")
    if not source or not actions:
        missing = "PolicySourceArn" if not source else "ActionNames"
        return _error("400 Bad Request", "ValidationError", f"{missing} is required.")
    match = _PRINCIPAL.match(source)
    if match is None:
        return _error(
            "400 Bad Request",
            "InvalidInput",
            f"PolicySourceArn {source}: expected the ARN of an IAM user or role.",
        )
    error = _missing_principal(account, match.group("partition"), match.group("kind"), source)
    if error is not None:
        return _error("404 Not Found", "NoSuchEntity", error)
    resources = members(form, "ResourceArns") or ["*"]
    results = "".join(
        "<member>"
        f"<EvalActionName>{escape(action)}</EvalActionName>"
        f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
        "<EvalDecision>allowed</EvalDecision>"
        "<MatchedStatements/><MissingContextValues/>"
        "</member>"
        for action in actions
        for resource in resources
    )
    body = (
        f'<SimulatePrincipalPolicyResponse xmlns="{_NS}"><SimulatePrincipalPolicyResult>'
        f"<IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults>"
        "</SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )
    return "200 OK", body.encode()


def _missing_principal(account: str, partition: str, kind: str, arn: str) -> str | None:
    """IAM's message when the user or role of ``arn`` does not exist, else None."""
    from moto.backends import get_backend

    backend: Any = get_backend("iam")[account][partition]
    name = arn.split(f":{kind}/", 1)[1].rsplit("/", 1)[-1]
    try:
        if kind == "role":
            backend.get_role(name)
        else:
            backend.get_user(name)
    except Exception:  # noqa: BLE001 - moto's IAMNotFoundException
        return f"The {kind} with name {name} cannot be found."
    return None


def _error(status: str, code: str, message: str) -> tuple[str, bytes]:
    body = (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, body.encode()
