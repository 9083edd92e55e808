"""What the other hosts of a shared run measured: read from their run stores, on disk or
in S3 (where a Processing job's Continuous output puts them while it runs)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.engine.store import StoredRun, load_run, read_stream

log = logging.getLogger(__name__)

Row = dict[str, Any]


class FolderPeers:
    """Peers whose stores are subfolders (named after the hosts) of one run folder."""

    def __init__(self, run_folder: Path, me: str, hosts: list[str], poll: float = 2.0):
        self.run_folder = Path(run_folder)
        self.me = me
        self.others = [h for h in hosts if h != me]
        self.poll = poll

    def refresh(self) -> None:
        """Bring the run folder up to date (nothing to do on a shared disk)."""

    def gather(
        self, trial_ids: set[str], stop: threading.Event
    ) -> tuple[list[Row], dict[str, str]] | None:
        """Rows and stop reasons of ``trial_ids`` once each has ended on its host with all
        its invocations in hand, or every other host is done; None if ``stop`` is set first."""
        while True:
            self.refresh()
            runs = self._runs()
            rows = [
                row
                for r in runs.values()
                for row in r.invocations.to_dict("records")
                if row["trial_id"] in trial_ids
            ]
            have = Counter(str(row["trial_id"]) for row in rows)
            ended = {
                str(record["trial_id"]): record
                for host in runs
                for record in read_stream(self.run_folder / host, "trials")
                if record.get("event") == "ended"
            }
            complete = {
                t for t, record in ended.items() if have[t] >= int(record.get("invocations", 0))
            }
            done = all(
                str(runs[h].status.get("status", "running")) != "running" if h in runs else False
                for h in self.others
            )
            if trial_ids <= complete or done:
                reasons = {t: str(r.get("stop_reason", "")) for t, r in ended.items()}
                return rows, {k: v for k, v in reasons.items() if k in trial_ids}
            log.info("waiting for trials of other hosts: %s", sorted(trial_ids - complete))
            if stop.wait(self.poll):
                return None

    def _runs(self) -> dict[str, StoredRun]:
        runs = {}
        for host in self.others:
            folder = self.run_folder / host
            if (folder / "config.json").is_file():
                runs[host] = load_run(folder)
        return runs


class S3Peers(FolderPeers):
    """Peers whose stores arrive in S3 under ``results_uri``/sm-bench-results/<run id>/:
    mirrored into a local folder before each look."""

    def __init__(
        self,
        target: Target,
        results_uri: str,
        run_id: str,
        me: str,
        hosts: list[str],
        mirror: Path,
        poll: float = 5.0,
    ):
        super().__init__(mirror, me, hosts, poll)
        bucket, _, prefix = results_uri.removeprefix("s3://").partition("/")
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/sm-bench-results/{run_id}/".lstrip("/")
        self._s3: Callable[[], Any] = lambda: target.client("s3")

    def refresh(self) -> None:
        """Download every other host's new or changed files."""
        s3 = self._s3()
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for obj in page.get("Contents", []):
                relative = obj["Key"][len(self.prefix) :]
                host = relative.split("/", 1)[0]
                if host not in self.others:
                    continue
                local = self.run_folder / relative
                final = local.name != "status.json"  # the only file replaced in place
                if final and local.exists() and local.stat().st_size == obj["Size"]:
                    continue
                local.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(self.bucket, obj["Key"], str(local))
