"""What the other hosts of a shared run measured: read from their run stores, on disk or
in S3 (where a Processing job's Continuous output puts them while it runs). What hosts post
to each other (when a split trial's parts start) is written at once, beside the stores:
``<host>/signals/<name>.json``, in the folder or in S3, not through the Continuous output."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.engine.store import StreamTail, read_json
from sm_bench_widgets.frames import invocations_frame

log = logging.getLogger(__name__)

Row = dict[str, Any]

# how often a host waiting for another's post looks for it
SIGNAL_POLL = 0.5


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
        tails: dict[str, tuple[StreamTail, StreamTail]] = {}
        rows: list[Row] = []
        ended: dict[str, dict[str, Any]] = {}
        over: set[str] = set()
        while True:
            self.refresh()
            was_over, over = over, self._over(self.others)
            # each look reads only what the other hosts' stores gained since the last
            for host in self.others:
                folder = self.run_folder / host
                if not (folder / "config.json").is_file():
                    continue
                if host not in tails:
                    tails[host] = (StreamTail(folder, "trials"), StreamTail(folder, "invocations"))
                for batch in tails[host][1].batches():
                    rows += [row for row in batch if row.get("trial_id") in trial_ids]
                for record in tails[host][0].read():
                    if record.get("event") == "ended":
                        ended[str(record["trial_id"])] = record
            have = Counter(str(row["trial_id"]) for row in rows)
            complete = {
                t for t, record in ended.items() if have[t] >= int(record.get("invocations", 0))
            }
            done = all(host in tails and host in was_over for host in self.others)
            if trial_ids <= complete or done:
                reasons = {t: str(r.get("stop_reason", "")) for t, r in ended.items()}
                normalised = invocations_frame(rows).to_dict("records") if rows else []
                return normalised, {k: v for k, v in reasons.items() if k in trial_ids}
            log.info("waiting for trials of other hosts: %s", sorted(trial_ids - complete))
            if stop.wait(self.poll):
                return None

    def post(self, name: str, record: dict[str, Any]) -> None:
        """Write ``record`` as ``<me>/signals/<name>.json`` (atomically)."""
        folder = self.run_folder / self.me / "signals"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.json.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, folder / f"{name}.json")

    def await_post(self, host: str, name: str, stop: threading.Event) -> dict[str, Any] | None:
        """What ``host`` posted under ``name``, once it has; None if ``stop`` is set first
        or ``host`` ended without posting it."""
        while True:
            record = self._read_post(host, name)
            if record is not None:
                return record
            if self._ended(host):
                return self._read_post(host, name)
            if stop.wait(SIGNAL_POLL):
                return None

    def gather_parts(
        self, trial_id: str, hosts: set[str], stop: threading.Event
    ) -> tuple[list[Row], dict[str, str]] | None:
        """The rows of ``trial_id`` that ``hosts`` made and each one's stop reason, once
        every host ended its part with all its invocations in hand (or ended altogether);
        None if ``stop`` is set first."""
        tails = {
            host: (
                StreamTail(self.run_folder / host, "trials"),
                StreamTail(self.run_folder / host, "invocations"),
            )
            for host in hosts
        }
        got: dict[str, list[Row]] = {host: [] for host in hosts}
        ends: dict[str, list[dict[str, Any]]] = {host: [] for host in hosts}
        over: set[str] = set()
        while True:
            self.refresh()
            was_over, over = over, self._over(hosts)
            rows: list[Row] = []
            reasons: dict[str, str] = {}
            waiting = set()
            for host in sorted(hosts):
                # each look reads only what the host's store gained since the last
                for batch in tails[host][1].batches():
                    got[host] += [r for r in batch if r["trial_id"] == trial_id]
                ends[host] += [
                    r
                    for r in tails[host][0].read()
                    if r.get("event") == "part_ended" and r.get("trial_id") == trial_id
                ]
                mine, ended = got[host], ends[host]
                rows += mine
                if ended and len(mine) >= int(ended[-1].get("invocations", 0)):
                    reasons[host] = str(ended[-1].get("stop_reason", ""))
                elif host in was_over:
                    reasons[host] = str(ended[-1].get("stop_reason", "")) if ended else "failed"
                else:
                    waiting.add(host)
            if not waiting:
                return rows, reasons
            log.info("waiting for the parts of %s on %s", trial_id, sorted(waiting))
            if stop.wait(self.poll):
                return None

    def _read_post(self, host: str, name: str) -> dict[str, Any] | None:
        path = self.run_folder / host / "signals" / f"{name}.json"
        return read_json(path) or None

    def _ended(self, host: str) -> bool:
        """True once ``host``'s run is over (its status no longer running)."""
        return _stored_ended(self.run_folder / host)

    def _over(self, hosts: Iterable[str]) -> set[str]:
        """Which of ``hosts`` are over, looked at before their stores are read. A host
        counts as having ended without a record only when it was over at the look before:
        what it wrote before its status then had a whole look to arrive (its last records
        land just before its status on a disk, and in any order in S3)."""
        return {host for host in hosts if self._ended(host)}


def _stored_ended(folder: Path) -> bool:
    """True once the store in ``folder`` says its run is over (no longer running)."""
    status = read_json(folder / "status.json").get("status", "running")
    return str(status) != "running"


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

    def post(self, name: str, record: dict[str, Any]) -> None:
        """Put ``record`` at ``<prefix><me>/signals/<name>.json`` in S3."""
        key = f"{self.prefix}{self.me}/signals/{name}.json"
        self._s3().put_object(Bucket=self.bucket, Key=key, Body=json.dumps(record).encode())

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            body = self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:  # NoSuchKey, or S3 briefly unreachable: look again later
            if "NoSuchKey" not in str(exc) and "404" not in str(exc):
                log.warning("could not read s3://%s/%s: %s", self.bucket, key, exc)
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _read_post(self, host: str, name: str) -> dict[str, Any] | None:
        return self._get(f"{self.prefix}{host}/signals/{name}.json")

    def _ended(self, host: str) -> bool:
        status = (self._get(f"{self.prefix}{host}/status.json") or {}).get("status", "running")
        return str(status) != "running"

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
