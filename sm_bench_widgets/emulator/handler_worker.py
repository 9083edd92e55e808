"""Child process serving one SageMaker inference script, one request at a time, over pipes.

Run by ``handler_host`` as ``python handler_worker.py SOURCE_DIR PROGRAM MODEL_DIR``: imports
the script, calls ``model_fn(MODEL_DIR)``, then answers framed requests on stdin with framed
responses on stdout until stdin closes. It imports only the standard library at start (numpy
only when a default handler needs it) and is run by path, not as part of the package, so
the cold start it shows is the user's script, not the emulator's imports.

Handler semantics follow the SageMaker inference toolkit: ``model_fn`` is required;
``input_fn``/``predict_fn``/``output_fn`` (or ``transform_fn`` instead of them) are optional;
a handler may take one extra trailing ``context`` argument (passed ``None``); JSON and CSV
bodies reach ``input_fn`` as ``str``; an empty or ``*/*`` Accept becomes
``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` if set, else the request's content type when a
default encoder speaks it, else ``application/json``; an exception's integer
``status_code`` attribute (as on the toolkit's ``BaseInferenceToolkitError``) is the
response status, anything else is 500.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import os
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import IO, Any

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
ANY = "*/*"
UTF8_TYPES = (JSON, CSV)
DEFAULT_ENCODED = (JSON, CSV, NPY)

# frame = header (meta length, body length) + UTF-8 JSON meta + raw body
_HEADER = struct.Struct("!II")
_MIB = 1024 * 1024


def write_frame(stream: IO[bytes], meta: dict[str, Any], body: bytes = b"") -> None:
    """Write one frame (JSON metadata plus a raw body) and flush it."""
    data = json.dumps(meta).encode("utf-8")
    stream.write(_HEADER.pack(len(data), len(body)))
    stream.write(data)
    if body:
        stream.write(body)
    stream.flush()


def _read_exact(stream: IO[bytes], size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes] | None:
    """Read one frame; None at end of stream (the other side is gone)."""
    head = _read_exact(stream, _HEADER.size)
    if head is None:
        return None
    meta_len, body_len = _HEADER.unpack(head)
    meta = _read_exact(stream, meta_len)
    body = _read_exact(stream, body_len) if body_len else b""
    if meta is None or body is None:
        return None
    return json.loads(meta), body


def media_type(header: str | None) -> str:
    """The bare, lower-case media type of a Content-Type or Accept header."""
    return (header or "").split(";", 1)[0].strip().lower()


class UnsupportedFormatError(Exception):
    """No default decoder/encoder for a content type (answered with 415)."""

    status_code = 415

    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"Content type {content_type!r} is not supported by the default handlers; "
            "implement input_fn to deserialize the request or output_fn to serialize the response."
        )


def default_model_fn(model_dir: str) -> Any:
    """No default exists: SageMaker requires the script to define model_fn."""
    raise NotImplementedError("Please provide a model_fn implementation in the inference script.")


def default_input_fn(input_data: str | bytes, content_type: str) -> Any:
    """Decode JSON, CSV or NPY into a numpy array, as the toolkit's decoder does."""
    import numpy as np

    media = media_type(content_type)
    if media == JSON:
        return np.array(json.loads(input_data))
    if media == CSV:
        return np.genfromtxt(io.StringIO(input_data), delimiter=",")
    if media == NPY:
        return np.load(io.BytesIO(input_data), allow_pickle=False)
    raise UnsupportedFormatError(content_type)


def default_predict_fn(data: Any, model: Any) -> Any:
    """``model.predict(data)``, else ``model(data)``, as the framework containers do."""
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):
        return model(data)
    raise NotImplementedError(
        "The model has no predict method and is not callable; "
        "please provide a predict_fn implementation in the inference script."
    )


def _tolist(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes | str, str]:
    """Encode an array-like as JSON, CSV or NPY, as the toolkit's encoder does."""
    media = media_type(accept)
    if media == JSON:
        return json.dumps(prediction, default=_tolist), accept
    if media == CSV:
        import numpy as np

        stream = io.StringIO()
        np.savetxt(stream, np.atleast_1d(np.asarray(prediction)), delimiter=",", fmt="%s")
        return stream.getvalue(), accept
    if media == NPY:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue(), accept
    raise UnsupportedFormatError(accept)


def _call(func: Callable[..., Any], *args: Any) -> Any:
    """Call a handler, adding a ``None`` context if it takes one more argument."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return func(*args)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) == len(args) + 1:
        return func(*args, None)
    return func(*args)


class Handlers:
    """The script's handler functions, with the toolkit's defaults filling the gaps."""

    def __init__(self, module: ModuleType) -> None:
        """Pick the module's handlers; reject transform_fn mixed with the split handlers."""
        found = {
            name: getattr(module, name, None)
            for name in ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
        }
        if found["transform_fn"] and (
            found["input_fn"] or found["predict_fn"] or found["output_fn"]
        ):
            raise ValueError(
                "Cannot use transform_fn implementation in conjunction with "
                "input_fn, predict_fn, and/or output_fn implementation"
            )
        self.model_fn = found["model_fn"] or default_model_fn
        self.input_fn = found["input_fn"] or default_input_fn
        self.predict_fn = found["predict_fn"] or default_predict_fn
        self.output_fn = found["output_fn"] or default_output_fn
        self.transform_fn = found["transform_fn"]


def load_script(source_dir: str, program: str) -> ModuleType:
    """Import the script as SageMaker does: its directory first on sys.path, named by its stem."""
    path = os.path.join(source_dir, program)
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def resolve_accept(accept: str | None, content_type: str | None) -> str:
    """A concrete Accept: the given one, else the default accept, content type or JSON."""
    if accept and media_type(accept) != ANY:
        return accept
    configured = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT")
    if configured:
        return configured
    if media_type(content_type) in DEFAULT_ENCODED:
        return content_type or JSON
    return JSON


def _as_bytes(payload: Any) -> bytes:
    """Response bytes: bytes as is, str as UTF-8, anything else as JSON, as the model server."""
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, default=_tolist).encode("utf-8")


def transform(
    handlers: Handlers, model: Any, body: bytes, content_type: str, accept: str
) -> tuple[bytes, str]:
    """One request through input_fn -> predict_fn -> output_fn (or transform_fn)."""
    accept = resolve_accept(accept, content_type)
    data: str | bytes = body.decode("utf-8") if media_type(content_type) in UTF8_TYPES else body
    if handlers.transform_fn is not None:
        result = _call(handlers.transform_fn, model, data, content_type, accept)
    else:
        decoded = _call(handlers.input_fn, data, content_type)
        prediction = _call(handlers.predict_fn, decoded, model)
        result = _call(handlers.output_fn, prediction, accept)
    response_type = accept
    if isinstance(result, tuple) and len(result) == 2:
        result, response_type = result
    return _as_bytes(result), str(response_type)


def error_summary(exc: BaseException) -> str:
    """The traceback's final line (``Type: message``) folded onto one line."""
    text = "".join(traceback.format_exception_only(type(exc), exc))
    return " ".join(text.split())


def status_of(exc: BaseException) -> int:
    """The exception's HTTP status if it carries a valid one, else 500."""
    code = getattr(exc, "status_code", None)
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    return 500


def peak_rss_mb() -> float | None:
    """This process's peak resident set size (Linux VmHWM), or None where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / _MIB
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss() -> None:
    """Restart the peak-RSS mark so the next reading covers one request (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def _exit_with_parent(interval: float = 1.0) -> None:
    """Exit if the host process dies, even while user code hangs."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _private_pipes() -> tuple[IO[bytes], IO[bytes]]:
    """Move the protocol off fds 0/1 so user prints go to stderr and stdin reads get EOF."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return proto_in, proto_out


def serve(source_dir: str, program: str, model_dir: str) -> int:
    """Load the script and its model, report readiness, then answer requests until EOF."""
    proto_in, proto_out = _private_pipes()
    _exit_with_parent()
    started = time.perf_counter()
    try:
        handlers = Handlers(load_script(source_dir, program))
        model = _call(handlers.model_fn, model_dir)
    except Exception as exc:
        write_frame(
            proto_out,
            {
                "kind": "start_error",
                "message": error_summary(exc),
                "traceback": traceback.format_exc(),
            },
        )
        return 1
    write_frame(
        proto_out,
        {"kind": "ready", "load_seconds": time.perf_counter() - started, "peak_mb": peak_rss_mb()},
    )
    while (frame := read_frame(proto_in)) is not None:
        meta, body = frame
        reset_peak_rss()
        try:
            answer, answer_type = transform(
                handlers, model, body, meta.get("content_type") or "", meta.get("accept") or ""
            )
        except Exception as exc:
            reply = {
                "kind": "error",
                "message": error_summary(exc),
                "status_code": status_of(exc),
                "traceback": traceback.format_exc(),
                "peak_mb": peak_rss_mb(),
            }
            write_frame(proto_out, reply)
            continue
        write_frame(
            proto_out,
            {"kind": "result", "content_type": answer_type, "peak_mb": peak_rss_mb()},
            answer,
        )
    return 0


def main(argv: list[str]) -> int:
    """Entry point when run by path: drop this file's directory from sys.path, then serve."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        sys.path.pop(0)
    if len(argv) != 4:
        print("usage: handler_worker.py SOURCE_DIR PROGRAM MODEL_DIR", file=sys.stderr)
        return 2
    sys.argv = [os.path.join(argv[1], argv[2])]
    return serve(argv[1], argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
