"""Race step: while trials load side by side, stop those that cannot win or cannot qualify."""

from __future__ import annotations

import logging
import threading

from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.context import RunContext

log = logging.getLogger(__name__)


def race(
    ctx: RunContext, threads: list[threading.Thread], states: dict[str, stopping.TrialState]
) -> None:
    """Wait for the trials' ``threads``; with adaptive racing, stop dominated trials and
    trials that surely fail the constraints (``stopping.racing_verdicts``).

    Only trials past ``min_invocations`` can be dropped, and trials are ranked only when
    new rows came in since the last ranking.
    """
    config = ctx.config
    racing = config.adaptive and len(states) > 1
    ranked_at = -1  # invocations counted when the trials were last ranked
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=ctx.options.race_interval / max(1, len(threads)))
        if not racing:
            continue
        eligible = [
            s
            for s in states.values()
            if s.stop_reason is None and s.count >= config.min_invocations
        ]
        seen = sum(s.count for s in states.values())
        if not eligible or seen == ranked_at:
            continue
        ranked_at = seen
        try:
            ctx.batcher.flush()
            verdicts = stopping.racing_verdicts(
                ctx.rows.frame(set(states)), states, config, ctx.rank_inputs
            )
        except Exception:
            log.exception("racing check failed; trials go on")
            racing = False
            continue
        for trial_id, reason in verdicts.items():
            states[trial_id].stop(reason)
