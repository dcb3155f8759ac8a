"""Streams the run log to the server from a background thread; the server's ack says where to resume."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional


class LogSender:
    """Sends lines of an append-only run log in batches and resends from the server's ack after any failure.

    The log is the source of truth (line k holds seq k), so nothing is kept in memory but line offsets,
    and a server that restarts and forgets a run simply acks less and gets the rest again.
    """

    def __init__(
        self,
        ingest_url: str,
        run_id: str,
        log_path: Path,
        *,
        batch_bytes: int = 1 << 20,
        timeout_s: float = 5.0,
        quiet_s: float = 0.0,
        heartbeat_s: float = 10.0,
        on_notice: Callable[[str], None] = print,
    ):
        self._url = ingest_url
        self._run_id = run_id
        self._log_path = log_path
        self._batch_bytes = batch_bytes
        self._timeout_s = timeout_s
        self._notice = on_notice
        self._quiet_until = time.monotonic() + quiet_s  # a server that is still starting is not news
        self._heartbeat_s = heartbeat_s
        self._last_contact = time.monotonic()
        self._offsets: list[int] = []  # byte offset where line k (seq k) starts
        self._scan_pos = 0  # end of the last complete line seen
        self._acked = -1
        self._wake = threading.Event()
        self._closing = False
        self._deadline = float("inf")  # set by close(): keep retrying until then
        self._told_unreachable = False
        self._rejected: Optional[str] = None
        self._thread = threading.Thread(target=self._run, name="sparselab-profiler-sender", daemon=True)

    @property
    def acked(self) -> int:
        """Highest seq the server confirmed storing."""
        return self._acked

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """Something new is in the log; never blocks."""
        self._wake.set()

    def close(self, timeout_s: float) -> bool:
        """Waits up to `timeout_s` for everything written to be acknowledged; True if it was."""
        self._deadline = time.monotonic() + timeout_s
        self._closing = True
        self._wake.set()
        self._thread.join(timeout_s + 1.0)
        return not self._thread.is_alive() and self._rejected is None

    def _run(self) -> None:
        backoff = 0.2
        with open(self._log_path, "rb") as log:
            while True:
                self._index_new_lines(log)
                batch = self._next_batch(log)
                heartbeat = batch is None and time.monotonic() - self._last_contact >= self._heartbeat_s
                if batch is None and not heartbeat:
                    if self._closing:
                        return
                    self._wake.wait(0.5)
                    self._wake.clear()
                    continue
                try:
                    # A heartbeat (an empty batch naming the run) keeps the run "live" on the dashboard while
                    # nothing is due, and its ack reveals a restarted server that needs the run again.
                    self._acked = self._post(b"", f"?run={self._run_id}") if heartbeat else self._post(batch)
                    self._last_contact = time.monotonic()
                    backoff = 0.2
                    if self._told_unreachable:
                        self._notice(f"SparseLab Profiler: server at {self._url} is back; resumed from seq {self._acked + 1}.")
                        self._told_unreachable = False
                except _Rejected as rejected:
                    self._rejected = str(rejected)
                    self._notice(f"SparseLab Profiler: the server rejected run data ({rejected}); stopped sending, the run log keeps recording.")
                    return
                except (OSError, ValueError) as error:
                    if not self._told_unreachable and time.monotonic() >= self._quiet_until:
                        self._notice(f"SparseLab Profiler: cannot reach {self._url} ({error}); recording to {self._log_path}, will resend when it answers.")
                        self._told_unreachable = True
                    if self._closing and time.monotonic() >= self._deadline:
                        return
                    self._wake.wait(backoff)
                    self._wake.clear()
                    backoff = min(backoff * 2, 5.0)

    def _index_new_lines(self, log) -> None:
        log.seek(self._scan_pos)
        data = log.read()
        start = 0
        while True:
            newline = data.find(b"\n", start)
            if newline < 0:
                break
            self._offsets.append(self._scan_pos + start)
            start = newline + 1
        self._scan_pos += start

    def _line_end(self, seq: int) -> int:
        return self._offsets[seq + 1] if seq + 1 < len(self._offsets) else self._scan_pos

    def _next_batch(self, log) -> Optional[bytes]:
        first = self._acked + 1
        if first >= len(self._offsets):
            return None
        last = first
        while last + 1 < len(self._offsets) and self._line_end(last + 1) - self._offsets[first] <= self._batch_bytes:
            last += 1
        log.seek(self._offsets[first])
        return log.read(self._line_end(last) - self._offsets[first])

    def _post(self, body: bytes, query: str = "") -> int:
        request = urllib.request.Request(
            self._url + query, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            unknown_run_ack = _unknown_run_ack(error.code, body, self._run_id)
            if unknown_run_ack is not None:
                return unknown_run_ack
            if 400 <= error.code < 500 and error.code not in (408, 429):
                raise _Rejected(f"HTTP {error.code}: {body[:500].decode('utf-8', 'replace')}") from None
            raise
        ack = answer.get("acks", {}).get(self._run_id)
        if not isinstance(ack, int):
            raise ValueError(f"the server's answer has no ack for run {self._run_id}")
        return ack


def _unknown_run_ack(status: int, body: bytes, run_id: str) -> Optional[int]:
    """The ack in a 409 that says the server does not know the run (it restarted, or never got seq 0).

    Such an answer stores nothing and carries ``acks: {run: -1}``; taken as an ack, it makes the sender
    resend from seq 0, the run record first. Any other answer gives None.
    """
    if status != 409:
        return None
    try:
        ack = json.loads(body).get("acks", {}).get(run_id)
    except (ValueError, AttributeError):
        return None
    return ack if isinstance(ack, int) and not isinstance(ack, bool) else None


class _Rejected(Exception):
    pass
