"""``LocalServerless``: the emulator at one local URL, on a background thread.

boto3 treats the URL as AWS for sagemaker, sagemaker-runtime, cloudwatch, logs, s3 and sts
(``AWS_ENDPOINT_URL=<url>``, any region, dummy credentials). moto serves the control plane;
the emulator's data plane serves InvokeEndpoint, its local job runner runs Processing
jobs (``processing``), and CloudWatch is answered by a process of its own
(``metrics_service``), so metric queries do not stall invocations.

moto keeps its state in process-wide backends keyed by account. Each running
``LocalServerless`` therefore gets its own account id (the first one moto's default,
123456789012), pinned on every request it serves, so two emulators in one process do not
see each other's endpoints; ``reset()`` wipes one emulator's state. Setting
``MOTO_ACCOUNT_ID`` in the environment overrides this and makes emulators share state.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sm_bench_widgets.emulator import cw_percentiles, moto_adapter
from sm_bench_widgets.emulator.clock import Clock
from sm_bench_widgets.emulator.dataplane import DataPlane
from sm_bench_widgets.emulator.faults import FaultBook
from sm_bench_widgets.emulator.lifecycle import EndpointLifecycle
from sm_bench_widgets.emulator.metrics_service import MetricsService
from sm_bench_widgets.emulator.processing import ProcessingJobs
from sm_bench_widgets.emulator.processing.service import (
    DEFAULT_STOP_GRACE_S,
    MIN_STOP_GRACE_S,
)
from sm_bench_widgets.emulator.profiles import DEMO_PROFILES, ModelProfile
from sm_bench_widgets.emulator.quotas import AccountQuotas
from sm_bench_widgets.emulator.registry import ModelRegistry
from sm_bench_widgets.emulator.wsgi import EmulatorApp

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_IDLE_TIMEOUT_S = 300.0
DEFAULT_CREATION_DELAY_S = 3.0
DEMO_MLP_DIR = Path(__file__).parent / "models" / "demo_mlp"

_accounts_lock = threading.Lock()
_accounts_in_use: set[str] = set()


def _claim_account() -> str:
    """An account id no running emulator in this process uses."""
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    with _accounts_lock:
        candidate, n = DEFAULT_ACCOUNT, 0
        while candidate in _accounts_in_use:
            n += 1
            candidate = f"{100000000000 + n:012d}"
        _accounts_in_use.add(candidate)
        return candidate


def _release_account(account: str) -> None:
    with _accounts_lock:
        _accounts_in_use.discard(account)


def wipe_moto_account(account: str) -> None:
    """Forget every moto backend (all services, all regions) of ``account``."""
    moto_adapter.wipe_account(account)


class _QuietHandler(WSGIRequestHandler):
    """A request handler that does not log every request to stderr."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Requests are not logged."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        """Only errors are logged."""
        if type == "error":
            super().log(type, message, *args)


class LocalServerless:
    """A local SageMaker Serverless Inference emulator; use as a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float = 1.0,
        demo_models: bool = True,
        seed: int | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
        creation_delay: float = DEFAULT_CREATION_DELAY_S,
        account_max_concurrency: int = AccountQuotas.max_concurrency,
        account_max_endpoints: int = AccountQuotas.max_endpoints,
    ):
        self.host = host
        self.port = int(port)
        self.clock = Clock(time_scale)
        self.time_scale = self.clock.time_scale
        self.seed = seed
        if idle_timeout < 0 or creation_delay < 0:
            raise ValueError("idle_timeout and creation_delay must be >= 0 seconds")
        self.idle_timeout = float(idle_timeout)
        self.creation_delay = float(creation_delay)
        self.demo_models = demo_models
        # the account's serverless quotas, and the faults to inject (see ``faults``)
        self.quotas = AccountQuotas(account_max_concurrency, account_max_endpoints)
        self.faults = FaultBook()
        self.registry = ModelRegistry()
        self.account: str | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()
        self.dataplane: DataPlane | None = None
        self.lifecycle: EndpointLifecycle | None = None
        self.processing: ProcessingJobs | None = None
        self.metrics_service: MetricsService | None = None
        if demo_models:
            self._register_demo_models()

    # -- models ----------------------------------------------------------------------
    def register_profile_model(self, name: str, profile: ModelProfile) -> str:
        """Register an emulated model; it exists as SageMaker Model ``name`` in every region."""
        self.registry.add_profile_model(name, profile)
        return name

    def register_handler_model(
        self, name: str, source_dir: str, program: str = "inference.py"
    ) -> str:
        """Register a SageMaker inference script directory as SageMaker Model ``name``."""
        self.registry.add_handler_model(name, source_dir, program)
        return name

    def _register_demo_models(self) -> None:
        for name, profile in DEMO_PROFILES.items():
            self.registry.add_profile_model(name, profile)
        self.registry.add_handler_model("demo-mlp", DEMO_MLP_DIR)

    # -- running ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3 (``AWS_ENDPOINT_URL``)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self._server.server_port}"

    def target(self) -> Any:
        """A ``Target`` pointing at this emulator (dummy credentials, us-east-1)."""
        from sm_bench_widgets.aws.clients import Target

        return Target.for_emulator(self.endpoint_url)

    def start(self) -> LocalServerless:
        """Start serving on a background thread; returns self."""
        if self._server is not None:
            return self
        cw_percentiles.install()
        moto_adapter.fix_endpoint_config_arns()  # the tagging API finds leftovers
        moto_adapter.fix_list_metrics()  # each metric listed once, not once per data point
        self.account = _claim_account()
        wipe_moto_account(self.account)
        self.dataplane = DataPlane(
            self.account, self.registry, self.clock, self.seed, self.idle_timeout
        )
        # CloudWatch in a process of its own, so metric queries never stall invocations
        self.metrics_service = MetricsService()
        self.dataplane.metrics.attach(self.metrics_service)
        self.lifecycle = EndpointLifecycle(
            self.dataplane, self.clock, self.creation_delay, self.quotas, self.faults
        )
        self.processing = ProcessingJobs(
            self.account,
            lambda: self.endpoint_url,
            stop_grace_s=max(self.clock.real_seconds(DEFAULT_STOP_GRACE_S), MIN_STOP_GRACE_S),
        )
        app = EmulatorApp(
            moto_adapter.server_app(),
            self.dataplane,
            self.lifecycle,
            self.registry,
            self.processing,
            cloudwatch=self.metrics_service,
        )
        try:
            server = make_server(
                self.host, self.port, app, threaded=True, request_handler=_QuietHandler
            )
        except Exception:
            self._stop_metrics()
            _release_account(self.account)
            raise
        server.daemon_threads = True
        self._server = server
        self._stop.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, name="sm-bench-emulator", daemon=True
        )
        self._thread.start()
        self._reaper = threading.Thread(target=self._reap_loop, name="sm-bench-reaper", daemon=True)
        self._reaper.start()
        return self

    def stop(self) -> None:
        """Stop serving, stop every instance and forget this emulator's state."""
        server = self._server
        if server is None:
            return
        self._stop.set()
        if self.processing is not None:
            self.processing.close()
        if self.lifecycle is not None:
            self.lifecycle.stop()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self._reaper is not None:
            self._reaper.join(5)
        if self.dataplane is not None:
            self.dataplane.close()
        self._stop_metrics()
        self._server = None
        self.registry.cleanup()
        if self.account is not None:
            wipe_moto_account(self.account)
            _release_account(self.account)

    def reset(self) -> None:
        """Delete every endpoint, model, metric, object and Processing job this emulator holds."""
        if self.processing is not None:
            self.processing.close()
        if self.dataplane is not None:
            self.dataplane.close()
        if self.account is not None:
            wipe_moto_account(self.account)
            if self.dataplane is not None:
                self.dataplane.metrics.forget()
            if self.metrics_service is not None:
                self.metrics_service.wipe(self.account)

    def _stop_metrics(self) -> None:
        if self.dataplane is not None:
            self.dataplane.metrics.close()
        if self.metrics_service is not None:
            self.metrics_service.stop()
            self.metrics_service = None

    def _reap_loop(self) -> None:
        interval = min(1.0, max(0.02, self.clock.real_seconds(self.idle_timeout) / 4))
        while not self._stop.wait(interval):
            if self.dataplane is not None:
                self.dataplane.reap_idle()

    def __enter__(self) -> LocalServerless:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint_url if self.running else "stopped"
        return f"LocalServerless({where}, time_scale={self.time_scale}, account={self.account})"


_embedded: LocalServerless | None = None
_embedded_lock = threading.Lock()


def embedded(time_scale: float = 1.0, *, in_process: bool = False) -> Any:
    """The process-wide emulator at ``time_scale``, started on first call and reused after.

    By default it is ``sm-bench emulator`` in a process of its own (a ``ServedEmulator``:
    ``target()``, ``endpoint_url``), so it shares no interpreter with the load generator
    and the widgets; it stops when this interpreter exits or is killed. Each time scale
    gets its own process, so every caller runs at the scale it asked for.
    ``in_process=True`` gives a ``LocalServerless`` in this process instead, for code
    that needs the emulator's internals (its registry, data plane, faults); there is one,
    and a later call asking for another time scale gets it with a warning.
    """
    if not in_process:
        from sm_bench_widgets.emulator.process import process_wide

        return process_wide(time_scale)
    global _embedded
    with _embedded_lock:
        if _embedded is None or not _embedded.running:
            _embedded = LocalServerless(time_scale=time_scale).start()
        elif _embedded.time_scale != float(time_scale):
            warnings.warn(
                f"embedded emulator already running with time_scale={_embedded.time_scale}; "
                f"ignoring time_scale={time_scale}",
                stacklevel=2,
            )
        return _embedded
