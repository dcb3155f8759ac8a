"""Starts the dashboard server when nothing answers at a loopback URL, so one line of code is enough."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

CLI_NAME = "sparselab-profiler"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def find_cli() -> Optional[str]:
    """The `sparselab-profiler` CLI: $SPARSELAB_PROFILER_CLI, a node_modules/.bin above the working
    directory or above this package (a repository checkout), or one on PATH."""
    explicit = os.environ.get("SPARSELAB_PROFILER_CLI")
    if explicit:
        return explicit
    if shutil.which("node") is None:
        return None
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            candidate = folder / "node_modules" / ".bin" / CLI_NAME
            if candidate.is_file():
                return str(candidate)
    return shutil.which(CLI_NAME)


def answers(host: str, port: int, timeout_s: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


# Runs in a short-lived Python that starts the server in a session of its own, prints its pid and exits at
# once: the server then belongs to no one here, so no Popen object is left to warn "still running".
_DETACH = """
import os, subprocess, sys
with open(sys.argv[1], "ab") as log:
    server = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
print(server.pid, flush=True)
os._exit(0)
"""


def start_detached(argv: list[str], log_path: Path) -> int:
    """Starts `argv` detached from this process (its output appended to `log_path`); returns its pid."""
    done = subprocess.run([sys.executable, "-c", _DETACH, str(log_path), *argv], capture_output=True, text=True,
                          timeout=30, check=True)
    return int(done.stdout)


def wait_until_answering(url: str, timeout_s: float) -> bool:
    """Whether something listens at `url` within `timeout_s` (polled; for displays, never for training)."""
    parsed = urlparse(url)
    deadline = time.monotonic() + timeout_s
    while not answers(parsed.hostname or "127.0.0.1", parsed.port or 80):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def ensure_server(url: str, logdir: Path, notice: Callable[[str], None] = print) -> tuple[bool, Optional[int]]:
    """Whether a server answers at `url` now, and the pid of the one started here (None when none was).

    Starts `sparselab-profiler serve` when `url` is loopback and nothing answers there. When no CLI (or
    Node.js) is found it says once how to view the run later. Never waits for the server to listen: the
    sender retries until it answers.
    """
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    if answers(host, port):
        return True, None
    if host not in LOOPBACK:
        return False, None  # someone else's server: the sender reports it unreachable and retries
    cli = find_cli()
    if cli is None:
        notice(f"SparseLab Profiler: no server at {url} and no Node.js/{CLI_NAME} CLI here; recording to {logdir}. "
               f"View it later with: npx {CLI_NAME} serve --logdir {logdir}")
        return False, None
    logdir.mkdir(parents=True, exist_ok=True)
    pid = start_detached([cli, "serve", "--port", str(port), "--host", host, "--logdir", str(logdir)], logdir / "server.log")
    notice(f"SparseLab Profiler: started the dashboard server (pid {pid}; it keeps serving after training, stop it with kill {pid}).")
    return False, pid
