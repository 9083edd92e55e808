"""What a botocore client resolved for the user, read for the aiohttp load engine.

The engine (``engine/async_loads.py``) signs each request with the client's own request
signer and reads error answers with its own parser, and sends through botocore itself
when a proxy applies; botocore offers these only as private attributes of the client:
``_request_signer`` (with ``_credentials``), ``_response_parser``, and ``_endpoint``'s
``http_session`` (``_verify``, ``_proxy_config``). Nothing else in the package touches them.
"""

from __future__ import annotations

from typing import Any

import botocore
from botocore.utils import should_bypass_proxies


def request_signer(client: Any) -> Any:
    """The client's ``RequestSigner``: its credentials chain, region and signing name."""
    return client._request_signer


def credentials(client: Any) -> Any:
    """The credentials the client signs with (refreshable ones refresh when asked)."""
    return client._request_signer._credentials


def response_parser(client: Any) -> Any:
    """The parser the client reads answers with (its protocol's)."""
    return client._response_parser


def tls_verify(client: Any) -> bool | str:
    """What the client verifies TLS against: False, True or a CA bundle's path."""
    return client._endpoint.http_session._verify


def proxy(client: Any) -> str | None:
    """The proxy the client sends its calls through (environment or config), if any."""
    url = client.meta.endpoint_url
    found = client._endpoint.http_session._proxy_config.proxy_url_for(url)
    return None if found is None or should_bypass_proxies(url) else found


def compatibility_problems(client: Any) -> list[str]:
    """What this botocore lacks of the internals used here, for ``client`` (empty when all
    is in place)."""
    where = f"botocore {botocore.__version__}"
    problems = []
    signer = getattr(client, "_request_signer", None)
    if not callable(getattr(signer, "sign", None)):
        problems.append(f"{where}: a client has no _request_signer with sign()")
    elif not hasattr(signer, "_credentials"):
        problems.append(f"{where}: RequestSigner has no _credentials")
    if not callable(getattr(getattr(client, "_response_parser", None), "parse", None)):
        problems.append(f"{where}: a client has no _response_parser with parse()")
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    if not hasattr(session, "_verify"):
        problems.append(f"{where}: the client's http_session has no _verify")
    if not callable(getattr(getattr(session, "_proxy_config", None), "proxy_url_for", None)):
        problems.append(f"{where}: the client's http_session has no _proxy_config.proxy_url_for")
    return problems
