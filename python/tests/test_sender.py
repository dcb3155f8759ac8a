import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import VECTORS
from sparselab_profiler.sender import LogSender

LINES = (VECTORS / "valid.ndjson").read_text().splitlines()
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
    assert [r["seq"] for r in server.stored[RUN]] == [0, 1, 2, 3, 4, 5, 6]
    assert sender.acked == 6
    assert notices == []
