import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

#: The shared wire-record vectors (test/vectors), the truth both languages test against.
VECTORS = Path(__file__).resolve().parents[2] / "test" / "vectors"
#: The lines of valid.ndjson, a complete run log with every record type.
VALID_LINES: list[str] = (VECTORS / "valid.ndjson").read_text().splitlines()
#: The cases of invalid.ndjson: {"case", "path", "record"}, each rejected at exactly `path`.
INVALID_VECTORS: list[dict] = [json.loads(line) for line in (VECTORS / "invalid.ndjson").read_text().splitlines()]

# Tests read run logs; one test turns the automatic HTML report back on to check it.
os.environ["SPARSELAB_PROFILER_REPORT"] = "0"


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(pid: int) -> None:
    """Stops a server a test started and waits until it is gone, so none outlives the suite."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def valid_records() -> list[dict]:
    """The records of valid.ndjson, parsed afresh for each test, so a test may edit them."""
    return [json.loads(line) for line in VALID_LINES]
