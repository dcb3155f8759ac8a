import contextlib
import json
import socket
import socketserver
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import VALID_LINES as LINES
from sparselab_profiler.sender import LogSender

RUN = json.loads(LINES[0])["run"]


class IngestServer(ThreadingHTTPServer):
    """Answers POST /api/ingest like the real server: in-order records are stored and acked, and records
    of a run it has no run record for get 409 with `acks: {run: -1}`."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _IngestHandler)
        self.stored: dict[str, list[dict]] = {}
        self.answers: list[int] = []

    def forget_everything(self) -> None:
        """What a restarted server without a journal knows."""
        self.stored.clear()

    def ingest(self, records: list[dict]) -> tuple[int, dict]:
        for record in records:
            if record["run"] not in self.stored and not any(r["type"] == "run" and r["run"] == record["run"] for r in records):
                run = record["run"]
                return 409, {"error": f'line 1, field "run": run "{run}" is unknown here: send its run record (seq 0) first',
                             "line": 1, "path": "run", "acks": {run: -1}}
        for record in records:
            stored = self.stored.setdefault(record["run"], []) if record["type"] == "run" else self.stored[record["run"]]
            if record["seq"] == len(stored):
                stored.append(record)
        return 200, {"acks": {run: len(self.stored[run]) - 1 for run in {r["run"] for r in records}}}


class _IngestHandler(BaseHTTPRequestHandler):
    server: IngestServer

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        status, answer = self.server.ingest([json.loads(line) for line in body.splitlines() if line.strip()])
        self.server.answers.append(status)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def wait_until(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_409_for_an_unknown_run_is_an_ack_of_minus_one_so_the_whole_log_is_resent(tmp_path):
    server = IngestServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log = tmp_path / "records.ndjson"
    log.write_text("\n".join(LINES[:3]) + "\n")
    notices: list[str] = []
    sender = LogSender(f"http://127.0.0.1:{server.server_address[1]}/api/ingest", RUN, log, heartbeat_s=3600, on_notice=notices.append)
    try:
        sender.start()
        wait_until(lambda: sender.acked == 2)
        server.forget_everything()  # restarted: the next batch (seq 3 on) belongs to a run it has never seen
        with open(log, "a") as f:
            f.write("\n".join(LINES[3:]) + "\n")
        sender.notify()
        assert sender.close(10.0) is True
    finally:
        server.shutdown()
        server.server_close()
    assert server.answers == [200, 409, 200]
    assert [r["seq"] for r in server.stored[RUN]] == list(range(len(LINES)))
    assert sender.acked == len(LINES) - 1
    assert notices == []


class RawServer(socketserver.ThreadingTCPServer):
    """A TCP listener that plays any server: connection k gets `answers[k]` (the last one answers all later ones),
    a function of the connection's handler, so one port can go from garbage to good acks mid-test."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, *answers):
        super().__init__(("127.0.0.1", 0), _RawHandler)
        self.answers = answers
        self.accepted: list[float] = []  # when each connection came
        self.requests: list[bytes] = []  # each request body read
        self.stored: list[int] = []  # the seqs a real server would hold
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/ingest"


class _RawHandler(socketserver.StreamRequestHandler):
    server: RawServer

    def handle(self):
        with self.server.lock:
            self.server.accepted.append(time.monotonic())
            answer = self.server.answers[min(len(self.server.accepted), len(self.server.answers)) - 1]
        answer(self)

    def read_request(self) -> bytes:
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = self.rfile.read(length)
        self.server.requests.append(body)
        return body

    def respond(self, status: int, body: bytes, headers: str = "") -> None:
        self.wfile.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n".encode() + body)


def acks(handler: _RawHandler) -> None:
    """Stores in-order records and acks the highest, like the real server."""
    body = handler.read_request()
    with handler.server.lock:
        for line in body.splitlines():
            if json.loads(line)["seq"] == len(handler.server.stored):
                handler.server.stored.append(len(handler.server.stored))
        ack = len(handler.server.stored) - 1
    handler.respond(200, json.dumps({"acks": {RUN: ack}}).encode())


def answer(status: int, body: bytes, headers: str = ""):
    return lambda handler: (handler.read_request(), handler.respond(status, body, headers))


def ssh_banner(handler: _RawHandler) -> None:
    handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
    handler.read_request()


def reset_mid_answer(handler: _RawHandler) -> None:
    handler.read_request()
    handler.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"acks"')
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def silent(handler: _RawHandler) -> None:
    handler.read_request()
    handler.rfile.read(1)  # until the sender hangs up


def trickle(handler: _RawHandler) -> None:
    """A header line a byte per 20 ms: every socket read gets data well within any timeout."""
    handler.read_request()
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    with contextlib.suppress(OSError):
        for _ in range(1500):  # 30 s
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(0.02)


@pytest.fixture
def serve():
    servers: list[RawServer] = []

    def start(*answers) -> RawServer:
        servers.append(RawServer(*answers))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def start_sender(tmp_path, server: RawServer, notices: list[str], lines=LINES, **options) -> LogSender:
    log = tmp_path / "records.ndjson"
    log.write_text("".join(line + "\n" for line in lines))
    options = {"timeout_s": 0.2, "retry_s": 0.02, "heartbeat_s": 3600, **options}
    sender = LogSender(server.url, RUN, log, on_notice=notices.append, **options)
    sender.start()
    return sender


# Each way one attempt can fail, with what its one notice names.
FAILURES = {
    "ssh banner": (ssh_banner, "BadStatusLine: SSH-2.0-OpenSSH_9.6"),
    "200 with []": (answer(200, b"[]"), "HTTP 200 without an ack for run"),
    "200 not json": (answer(200, b"<html>ok</html>"), "HTTP 200 without an ack for run"),
    "200 ack not a number": (answer(200, json.dumps({"acks": {RUN: "x"}}).encode()), "HTTP 200 without an ack"),
    "200 ack past the log": (answer(200, json.dumps({"acks": {RUN: 99}}).encode()), f"ack 99 is past the last record in the log (seq {len(LINES) - 1})"),
    "302 redirect": (answer(302, b"", "Location: /elsewhere\r\n"), "HTTP 302 without an ack"),
    "500": (answer(500, b'{"error":"internal error: boom"}'), "HTTP 500 without an ack"),
    "reset mid-answer": (reset_mid_answer, ""),  # a reset or a cut body, as the timing falls
    "never answers": (silent, "TimeoutError: timed out"),
    "trickle": (trickle, "TimeoutError: timed out"),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_after_failed_attempts_the_same_port_answering_acks_gets_everything_with_one_notice_for_the_outage(tmp_path, serve, failure):
    bad, reason = FAILURES[failure]
    server = serve(bad, bad, acks)
    notices: list[str] = []
    sender = start_sender(tmp_path, server, notices)
    wait_until(lambda: sender.acked == len(LINES) - 1, timeout_s=5.0)
    assert sender.close(5.0) is True
    assert server.stored == list(range(len(LINES)))
    assert len(server.accepted) >= 3 and sender.undelivered == 0 and sender.answered  # 4 if a busy machine timed one out
    assert len(notices) == 2, notices
    assert notices[0].startswith(f"SparseLab Profiler: cannot reach {server.url} (") and reason in notices[0]
    assert notices[1] == f"SparseLab Profiler: server at {server.url} is back; resumed from seq {len(LINES)}."


@pytest.mark.parametrize("failure", FAILURES)
def test_a_server_that_keeps_failing_gets_retried_with_one_notice_and_close_reports_every_line_undelivered(tmp_path, serve, failure):
    bad, reason = FAILURES[failure]
    server = serve(bad)
    notices: list[str] = []
    sender = start_sender(tmp_path, server, notices)
    wait_until(lambda: len(server.accepted) >= 3, timeout_s=5.0)  # the thread lived through two failures
    started = time.monotonic()
    assert sender.close(5.0, unanswered_timeout_s=0.3) is False
    assert time.monotonic() - started < 3.0
    assert sender.undelivered == len(LINES) and not sender.answered and sender.acked == -1
    assert len(notices) == 1 and reason in notices[0], notices


def test_a_trickled_answer_is_cut_off_timeout_s_after_the_attempt_began(tmp_path, serve):
    server = serve(trickle)
    notices: list[str] = []
    sender = start_sender(tmp_path, server, notices, timeout_s=0.3)
    wait_until(lambda: len(server.accepted) >= 2, timeout_s=5.0)
    gap = server.accepted[1] - server.accepted[0]
    assert 0.25 <= gap < 1.5  # the attempt (0.3 s) and its back-off; each read alone would never time out
    assert sender.close(5.0, unanswered_timeout_s=0.1) is False
    assert notices and "TimeoutError" in notices[0]


def test_notify_never_blocks_while_a_post_hangs_and_close_does_not_wait_for_a_server_that_never_answered(tmp_path, serve):
    server = serve(silent)
    notices: list[str] = []
    sender = start_sender(tmp_path, server, notices, timeout_s=5.0)
    wait_until(lambda: len(server.requests) == 1)  # the batch was sent; the sender now waits for an answer
    longest = 0.0
    for _ in range(1000):
        started = time.perf_counter()
        sender.notify()
        longest = max(longest, time.perf_counter() - started)
    assert longest < 0.05
    assert len(server.accepted) == 1 and notices == []  # the post hung all along
    started = time.monotonic()
    assert sender.close(5.0) is False  # default unanswered_timeout_s: 1 s
    assert 0.9 <= time.monotonic() - started < 3.0
    assert sender.undelivered == len(LINES) and not sender.answered


def test_close_waits_the_full_timeout_for_a_server_that_has_answered_before(tmp_path, serve):
    server = serve(acks, silent)
    notices: list[str] = []
    sender = start_sender(tmp_path, server, notices, lines=LINES[:3], timeout_s=5.0)
    wait_until(lambda: sender.acked == 2)
    with open(tmp_path / "records.ndjson", "a") as log:
        log.write("".join(line + "\n" for line in LINES[3:]))
    sender.notify()
    wait_until(lambda: len(server.requests) == 2)
    started = time.monotonic()
    assert sender.close(1.2, unanswered_timeout_s=0.1) is False
    assert 1.1 <= time.monotonic() - started < 3.0
    assert sender.answered and sender.undelivered == len(LINES) - 3


def test_close_waits_out_the_startup_grace_of_a_server_just_launched(tmp_path, serve):
    server = serve(silent)
    notices: list[str] = []
    created = time.monotonic()
    sender = start_sender(tmp_path, server, notices, quiet_s=1.0)
    wait_until(lambda: len(server.accepted) >= 2)
    assert sender.close(5.0, unanswered_timeout_s=0.1) is False
    assert created + 1.0 <= time.monotonic() < created + 2.5
    assert sender.undelivered == len(LINES) and notices == []  # failures within the grace are not news


def test_a_4xx_rejecting_the_data_is_final(tmp_path, serve):
    server = serve(answer(400, b'{"error":"line 2, field \\"seq\\": expected 1"}'))
    notices: list[str] = []
    sender = start_sender(tmp_path, server, notices, timeout_s=5.0)
    assert sender.close(5.0) is False
    assert len(server.requests) == 1 and sender.undelivered == len(LINES) and not sender.answered
    assert notices == ['SparseLab Profiler: the server rejected run data (HTTP 400: {"error":"line 2, field \\"seq\\": expected 1"});'
                       " stopped sending, the run log keeps recording."]


def test_an_ack_past_the_batch_but_within_the_log_is_trusted(tmp_path, serve):
    """A server restarted on the trainer's logdir restores the run from this very log and acks all of it."""
    server = serve(answer(200, json.dumps({"acks": {RUN: len(LINES) - 1}}).encode()))
    notices: list[str] = []
    sender = start_sender(tmp_path, server, notices, batch_bytes=1, timeout_s=5.0)  # one line per batch
    assert sender.close(5.0) is True
    assert server.requests == [(LINES[0] + "\n").encode()]
    assert sender.acked == len(LINES) - 1 and sender.undelivered == 0 and notices == []
