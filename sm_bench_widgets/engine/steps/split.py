"""Split-trial steps: a concurrency trial too big for one host, driven by several at once.

The host owning the endpoint deploys it as usual; when it reaches the trial it posts the
endpoint's name (``announce``), and once every other part's host has prepared its load and
said it is ready, a start time ``START_LEAD`` seconds ahead (``start``); from that moment
each host (``join`` on the others) drives its part's clients with its part of the budget.
The owner then waits for every part's rows, ends the trial once with all of them (its
clients the trial's, its throughput theirs together) and only then goes on, deleting the
endpoint after its last trial. Hosts meet at split trials in plan order, so no two wait
for each other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sm_bench_widgets.analysis import stats
from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.hosts import HostShare, Part, guest_parts, split_trials
from sm_bench_widgets.engine.plan import Trial
from sm_bench_widgets.frames import invocations_frame

log = logging.getLogger(__name__)

Row = dict[str, Any]

# seconds between the owner's start post and the parts' common start
START_LEAD = 1.5
# a part's stop reason that outranks the others' when the trial's reason is chosen
_FIRST_REASONS = (stopping.FAILED, stopping.ERRORS, stopping.STOPPED, stopping.ENDPOINT_FAILED)


def measured_capacity(ctx: RunContext, memory_size: int, rows: list[dict[str, Any]]) -> int | None:
    """Clients this host drives faithfully against requests as long as the warm stability
    requests at ``memory_size`` took (on the wall clock); None when unknown."""
    from sm_bench_widgets.engine.load_check import load_capacity

    df = invocations_frame([*ctx.rows.frame().to_dict("records"), *rows])
    if df.empty:
        return None
    ok = df[
        (df["phase"] == "stability")
        & (df["memory_size"] == memory_size)
        & (df["outcome"] == "ok")
        & ~df["cold"].astype(bool)
    ]
    if ok.empty:
        return None
    service_ms = float(ok["latency_ms"].median()) * (ctx.time_scale or 1.0)
    try:
        return load_capacity(service_ms)
    except Exception as exc:  # the calibration could not run: behave as without a figure
        log.warning("could not measure the clients one host drives: %s", exc)
        return None


@dataclass
class Splits:
    """The split trials of one host's concurrency phase, and what it posted of them."""

    host: HostShare
    parts: dict[str, list[Part]]
    capacity: int | None
    _started: set[str] = field(default_factory=set)
    _pending: list[Part] | None = None

    @classmethod
    def plan(
        cls,
        ctx: RunContext,
        host: HostShare,
        trials: list[Trial],
        memory_size: int,
        other_rows: list[dict[str, Any]],
    ) -> Splits | None:
        """Split ``trials`` (every host's concurrency plan) where one host cannot drive a
        trial's clients. The capacity is the option's, else the first host's measured one
        (posted, so every host splits alike); None when nothing is split."""
        if host.count <= 1 or host.peers is None:
            return None
        capacity = host.capacity
        if capacity is None:
            if host.index == 0:
                capacity = measured_capacity(ctx, memory_size, other_rows)
                host.peers.post("capacity", {"capacity": capacity})
            else:
                got = host.peers.await_post(host.host_name(0), "capacity", ctx.stop_event)
                capacity = (got or {}).get("capacity")
        if ctx.store is not None:
            ctx.store.update_config(host_capacity=capacity)
        parts = split_trials(trials, capacity, host.count)
        for trial_id, ps in parts.items():
            log.info(
                "trial %s split over %s (%s clients)",
                trial_id,
                ", ".join(host.host_name(p.host) for p in ps),
                " + ".join(str(p.clients) for p in ps),
            )
        return cls(host, parts, capacity) if parts else None

    def of(self, trial: Trial) -> Part | None:
        """This host's part of ``trial`` as its owner (None when it is not split)."""
        parts = self.parts.get(trial.trial_id)
        return parts[0] if parts else None

    def guests(self) -> list[Part]:
        """The parts this host runs on other hosts' endpoints, in plan order."""
        return guest_parts(self.parts, self.host.index)

    # -- the owner ----------------------------------------------------------------------
    def announce(self, part: Part, endpoint: str) -> None:
        """Tell the other parts' hosts which endpoint the trial runs on (before the owner's
        cold-start probe, so they prepare their load meanwhile)."""
        self.host.peers.post(f"endpoint-{part.trial.trial_id}", {"endpoint_name": endpoint})
        self._started.add(part.trial.trial_id)

    def start(self, ctx: RunContext, part: Part, cold_slots: int) -> bool:
        """Wait until every other part's host is ready, post the common start and wait
        for it; False if a stop came first."""
        peers = self.host.peers
        for p in self.parts[part.trial.trial_id][1:]:
            name = self.host.host_name(p.host)
            if peers.await_post(name, f"ready-{part.trial.trial_id}", ctx.stop_event) is None:
                if ctx.stop_event.is_set():
                    return False
                ctx.report(f"host {name} ended before its part of {part.trial.trial_id}")
        start_at = time.time() + START_LEAD
        peers.post(part.name, {"start_at": start_at, "cold_slots": cold_slots})
        return not ctx.stop_event.wait(max(0.0, start_at - time.time()))

    def end(self, ctx: RunContext, part: Part, state: stopping.TrialState) -> None:
        """Wait for every other part's rows, then end the trial once with all of them."""
        trial = part.trial
        ctx.batcher.flush()
        others = {self.host.host_name(p.host) for p in self.parts[trial.trial_id][1:]}
        got = self.host.peers.gather_parts(trial.trial_id, others, ctx.stop_event)
        rows, reasons = got if got is not None else ([], {})
        reason = trial_reason(state.final_reason(), list(reasons.values()), got is None)
        df = invocations_frame([*ctx.rows.of(trial.trial_id), *rows])
        summary: dict[str, Any] = {}
        if not df.empty:
            table = stats.summarize(df, {trial.trial_id: reason}, confidence=ctx.config.confidence)
            if len(table):
                summary = table.iloc[0].to_dict()
        ctx.end_trial(trial.trial_id, reason, summary=summary)

    def cancel_rest(self, ctx: RunContext, reason: str) -> None:
        """Release the hosts waiting for trials this host owns but never started."""
        for trial_id, parts in self.parts.items():
            if parts[0].host == self.host.index and trial_id not in self._started:
                name = f"endpoint-{trial_id}"
                self.host.peers.post(name, {"endpoint_name": None, "reason": reason})
                self._started.add(trial_id)

    # -- another host's endpoint --------------------------------------------------------
    def join_before(self, ctx: RunContext, position: int | None, order: dict[str, int]) -> None:
        """Run the guest parts whose trials come before plan position ``position`` in
        ``order`` (all that are left when None); a part that fails is reported and ends
        as failed, and the run goes on."""
        if self._pending is None:
            self._pending = self.guests()
        while self._pending and (
            position is None or order[self._pending[0].trial.trial_id] < position
        ):
            part = self._pending.pop(0)
            try:
                self.join(ctx, part)
            except Exception as exc:
                log.exception("part %d of %s failed", part.index, part.trial.trial_id)
                ctx.report(f"part {part.index} of trial {part.trial.trial_id} failed: {exc}")
                self._part_ended(ctx, part, stopping.FAILED)

    def join(self, ctx: RunContext, part: Part) -> None:
        """Run ``part`` on its owner's endpoint from the posted start; its end is recorded
        as ``part_ended`` in this host's store (the trial ends on the owner)."""
        from sm_bench_widgets.engine.loads import FirstWave
        from sm_bench_widgets.engine.steps.load import load_worker, send_load

        trial = part.trial
        peers = self.host.peers
        owner = self.host.host_name(part.owner)
        told = peers.await_post(owner, f"endpoint-{trial.trial_id}", ctx.stop_event)
        if not told or not told.get("endpoint_name"):
            reason = stopping.STOPPED if ctx.stop_event.is_set() else stopping.ENDPOINT_FAILED
            self._part_ended(ctx, part, str((told or {}).get("reason") or reason))
            return
        endpoint = str(told["endpoint_name"])
        state = part_state(ctx, part)
        invoker = ctx.invoker(trial, endpoint)
        worker = load_worker(ctx, invoker, part.clients, state)
        peers.post(f"ready-{trial.trial_id}", {"part": part.index})
        go = peers.await_post(owner, part.name, ctx.stop_event)
        if go is None:
            self._part_ended(ctx, part, stopping.STOPPED)
            return
        late = time.time() - float(go["start_at"])
        if late > 0:
            log.warning("part %d of %s starts %.2f s late", part.index, trial.trial_id, late)
        elif ctx.stop_event.wait(-late):
            self._part_ended(ctx, part, stopping.STOPPED)
            return
        ctx.trial_started(trial, endpoint)
        cold = part_cold_slots(int(go.get("cold_slots") or 0), part)
        first_wave = FirstWave(part.clients, cold, part_sink(ctx.row_sink(state), part))
        send_load(ctx, invoker, part.clients, state, first_wave, worker)
        first_wave.close()
        self._part_ended(ctx, part, state.final_reason())

    def _part_ended(self, ctx: RunContext, part: Part, reason: str) -> None:
        ctx.batcher.flush()
        record = {
            "event": "part_ended",
            "trial_id": part.trial.trial_id,
            "part": part.index,
            "stop_reason": reason,
            "invocations": len(ctx.rows.of(part.trial.trial_id)),
        }
        if ctx.store is not None:
            ctx.store.append_trial(record)


def part_state(ctx: RunContext, part: Part) -> stopping.TrialState:
    """The stopping state of one part: its share of the budget and the error limit; no
    precision stop, which one part's rows alone would decide for the whole trial."""
    base = ctx.new_state(replace(part.trial, max_invocations=part.max_invocations))
    config = ctx.config.replace(adaptive=False)
    return stopping.TrialState(base.trial, config, base.load, ctx.options.check_every)


def part_sink(sink: Callable[[Row], None], part: Part) -> Callable[[Row], None]:
    """``sink`` for the rows of ``part``, its client ids moved past the earlier parts'."""
    if not part.first_client:
        return sink

    def renumbered(row: Row) -> None:
        row["client_id"] = int(row["client_id"]) + part.first_client
        sink(row)

    return renumbered


def part_cold_slots(cold_slots: int, part: Part) -> int:
    """The part's share of the instances the trial's first wave starts."""
    return min(part.clients, round(max(0, cold_slots) * part.cold_share))


def trial_reason(owner: str, others: list[str], interrupted: bool) -> str:
    """The trial's stop reason from its parts': a failure, errors or a stop in any part
    outranks the owner's own reason."""
    if interrupted:
        return stopping.STOPPED
    reasons = [owner, *others]
    return next((r for r in _FIRST_REASONS if r in reasons), owner)
