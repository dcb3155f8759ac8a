"""Starts the dashboard server when nothing answers at a loopback URL, so one line of code is enough."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
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


def ensure_server(url: str, logdir: Path, notice: Callable[[str], None] = print) -> Optional[int]:
    """Starts `sparselab-profiler serve` in its own session when `url` is loopback and silent.

    Returns the started server's pid, or None when one already answers, the URL is not loopback, or no
    CLI (or Node.js) was found; in that last case it says once how to view the run later. Never waits
    for the server: the sender retries until it answers.
    """
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    if host not in LOOPBACK or answers(host, port):
        return None
    cli = find_cli()
    if cli is None:
        notice(f"SparseLab Profiler: no server at {url} and no Node.js/{CLI_NAME} CLI here; recording to {logdir}. "
               f"View it later with: npx {CLI_NAME} serve --logdir {logdir}")
        return None
    logdir.mkdir(parents=True, exist_ok=True)
    with open(logdir / "server.log", "ab") as log:
        process = subprocess.Popen(
            [cli, "serve", "--port", str(port), "--host", host, "--logdir", str(logdir)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
    notice(f"SparseLab Profiler: started the dashboard server (pid {process.pid}; it keeps serving after training, stop it with kill {process.pid}).")
    return process.pid
