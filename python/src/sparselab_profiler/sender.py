"""Streams the run log to the server from a background thread; the server's ack says where to resume."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable, Optional

_MAX_ANSWER = 1 << 20  # an ack is a few dozen bytes; a server that sends more is not read further


class LogSender:
    """Sends lines of an append-only run log in batches and resends from the server's ack after any failure.

    The log is the source of truth (line k holds seq k), so nothing is kept in memory but line offsets,
    and a server that restarts and forgets a run simply acks less and gets the rest again.

    Any failed attempt (nothing listening, an answer that is not HTTP, a 3xx or 5xx, a body without a
    valid ack, no complete answer within `timeout_s`) costs one notice per outage, a back-off and a retry;
    only a 4xx rejecting the data ends sending (408 and 429 are retried).

    Args:
        ingest_url: ``http://host:port/api/ingest``.
        run_id: the run whose ack is read from each answer.
        log_path: the run log, one record per line.
        batch_bytes: largest body sent at once (a longer line goes alone). Default 1 MiB.
        timeout_s: bound on one whole attempt, connecting to reading the last byte of the answer. Default 5.
        quiet_s: startup grace of a server just launched: failures before it ends are not news. Default 0.
        heartbeat_s: idle time after which an empty batch tells the server the run is alive. Default 10.
        retry_s: first wait after a failed attempt; it doubles per failure up to 5 s. Default 0.2.
        on_notice: where the few lines for the user go. Default ``print``.

    Example:
        >>> sender = LogSender("http://127.0.0.1:8080/api/ingest", run_id, log_path)
        >>> sender.start(); ...; sender.notify(); ...; delivered = sender.close(5.0)
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
        retry_s: float = 0.2,
        on_notice: Callable[[str], None] = print,
    ):
        self._url = ingest_url
        url = urllib.parse.urlsplit(ingest_url)
        # Over https only each read is bounded, not the whole answer; `sparselab-profiler serve` speaks http.
        self._connection_class = http.client.HTTPSConnection if url.scheme == "https" else _DeadlineConnection
        self._host, self._port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
        self._path = url.path or "/"
        self._run_id = run_id
        self._log_path = log_path
        self._batch_bytes = batch_bytes
        self._timeout_s = timeout_s
        self._notice = on_notice
        self._quiet_until = time.monotonic() + quiet_s  # a server that is still starting is not news
        self._heartbeat_s = heartbeat_s
        self._retry_s = retry_s
        self._last_contact = time.monotonic()
        self._offsets: list[int] = []  # byte offset where line k (seq k) starts
        self._scan_pos = 0  # end of the last complete line seen
        self._acked = -1
        self._answered = False
        self._wake = threading.Event()  # new records, or close()
        self._hurry = threading.Event()  # close(): ends a back-off, which new records do not
        self._closing = False
        self._give_up = (float("inf"), float("inf"))  # set by close(): until when to retry (answered, never answered)
        self._told_unreachable = False
        self._thread = threading.Thread(target=self._run, name="sparselab-profiler-sender", daemon=True)

    @property
    def acked(self) -> int:
        """Highest seq the server confirmed storing."""
        return self._acked

    @property
    def answered(self) -> bool:
        """Whether the server ever answered an ingest with a valid ack."""
        return self._answered

    @property
    def undelivered(self) -> int:
        """Records written to the log (complete lines, counted in the file) that the server has not acknowledged."""
        try:
            with open(self._log_path, "rb") as log:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))
        except OSError:
            lines = len(self._offsets)  # the log is gone: what the sender saw of it
        return max(lines - (self._acked + 1), 0)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """Something new is in the log; never blocks (it sets an event, whatever the network does)."""
        self._wake.set()

    def close(self, timeout_s: float, *, unanswered_timeout_s: float = 1.0) -> bool:
        """Waits until everything written is acknowledged; True if it was (then `undelivered` is 0).

        The wait ends early when the server rejected the data, and at the latest after `timeout_s` once the
        server has answered an ingest (it may answer during the wait). A server that never answered is waited
        for `unanswered_timeout_s`, or until the end of its startup grace `quiet_s` if that is later, never
        more than `timeout_s`. An attempt still under way then is left to the daemon thread, which ends
        within the sender's `timeout_s`.
        """
        now = time.monotonic()
        full = now + timeout_s
        self._give_up = (full, min(max(now + unanswered_timeout_s, self._quiet_until), full))
        self._closing = True
        self._wake.set()
        self._hurry.set()
        while self._thread.is_alive() and (left := self._give_up_at() - time.monotonic()) > 0:
            self._thread.join(left)  # the bound grows if the server answers meanwhile: look again
        return self.undelivered == 0

    def _give_up_at(self) -> float:
        return self._give_up[0] if self._answered else self._give_up[1]

    def _run(self) -> None:
        backoff = self._retry_s
        with open(self._log_path, "rb") as log:
            while not (self._closing and time.monotonic() >= self._give_up_at()):
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
                    ack = self._post(b"", f"?run={self._run_id}") if heartbeat else self._post(batch)
                    if ack >= len(self._offsets):
                        self._index_new_lines(log)  # a server that restored the run from this very log may know newer lines
                    if ack >= len(self._offsets):
                        raise ValueError(f"ack {ack} is past the last record in the log (seq {len(self._offsets) - 1})")
                except _Rejected as rejected:
                    self._notice(f"SparseLab Profiler: the server rejected run data ({rejected}); stopped sending, the run log keeps recording.")
                    return
                except Exception as error:  # noqa: BLE001 -- whatever one attempt meets, the next may do better
                    if not self._told_unreachable and time.monotonic() >= self._quiet_until:
                        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                        self._notice(f"SparseLab Profiler: cannot reach {self._url} ({reason}); recording to {self._log_path}, will resend when it answers.")
                        self._told_unreachable = True
                    self._back_off(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                # An ack below the last one is a server that lost records: the next batch starts there.
                self._acked = ack
                self._answered = True
                self._last_contact = time.monotonic()
                backoff = self._retry_s
                if self._told_unreachable:
                    self._notice(f"SparseLab Profiler: server at {self._url} is back; resumed from seq {self._acked + 1}.")
                    self._told_unreachable = False

    def _back_off(self, seconds: float) -> None:
        """Waits after a failed attempt; only close() cuts it short, as new records do not make the server answer sooner."""
        if self._closing:
            seconds = max(min(seconds, self._give_up_at() - time.monotonic()), 0.0)
        self._hurry.wait(seconds)
        self._hurry.clear()

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
        """One attempt: the server's ack for the run, `_Rejected` for a 4xx refusal, any other exception for a failure."""
        status, answer = self._exchange(body, query)
        ack = _ack_in(answer, self._run_id)
        # A 409 with `acks: {run: -1}` says the server does not know the run (it restarted, or never got seq 0):
        # taken as an ack, it makes the sender resend from seq 0, the run record first.
        if ack is not None and (200 <= status < 300 or status == 409):
            return ack
        if 400 <= status < 500 and status not in (408, 429):
            raise _Rejected(f"HTTP {status}: {answer[:500].decode('utf-8', 'replace')}")
        raise ValueError(f"HTTP {status} without an ack for run {self._run_id}: {answer[:100]!r}")

    def _exchange(self, body: bytes, query: str) -> tuple[int, bytes]:
        """POSTs `body`; the status and body of the answer, all of it read within `timeout_s` from now."""
        connection = self._connection_class(self._host, self._port, timeout=self._timeout_s)
        try:
            connection.request("POST", self._path + query, body, {"Content-Type": "application/x-ndjson"})
            response = connection.getresponse()
            return response.status, response.read(_MAX_ANSWER)
        finally:
            connection.close()


class _DeadlineConnection(http.client.HTTPConnection):
    """An HTTP connection that ends `timeout` after it was made: a socket timeout bounds each read alone, so a
    server trickling its answer a byte at a time would hold it forever."""

    def __init__(self, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.deadline = time.monotonic() + timeout

    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock, self.deadline)


class _DeadlineSocket(socket.socket):
    """A connected socket whose every send and read times out at one deadline (http.client uses only these)."""

    def __init__(self, connected: socket.socket, deadline: float):
        super().__init__(connected.family, connected.type, connected.proto, connected.detach())
        self._deadline = deadline

    def sendall(self, data, flags: int = 0) -> None:
        self.settimeout(self._left())
        super().sendall(data, flags)

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(self._left())
        return super().recv_into(buffer, nbytes, flags)

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left


def _ack_in(answer: bytes, run_id: str) -> Optional[int]:
    """The seq in an answer ``{"acks": {run_id: seq}}`` (seq -1 when the server holds nothing); None for anything else."""
    try:
        ack = json.loads(answer)["acks"][run_id]
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    return ack if type(ack) is int and ack >= -1 else None


class _Rejected(Exception):
    pass
