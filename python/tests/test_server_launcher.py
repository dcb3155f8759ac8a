import gc
import json
import os
import shutil
import signal
import socket
import time
import urllib.request
import warnings

import pytest
import sparselab
import torch
from torch import nn

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.server_launcher import find_cli

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js for the dashboard server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(pid: int) -> None:
    """Stops a server a test started and waits until it is gone, so none outlives the suite."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@needs_node
def test_one_line_starts_the_server_and_the_whole_run_reaches_it(tmp_path, capsys):
    assert find_cli(), "build the TypeScript packages first (scripts/setup.sh)"
    url = f"http://127.0.0.1:{free_port()}"
    torch.manual_seed(0)
    model = nn.Sequential(sparselab.SparseLinear(16, 12, sparsity=0.75))
    profiler = SparsityProfilerCallback(every=2, logdir=tmp_path, server=url, overhead_budget=None)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            profiler.attach(model)
            gc.collect()  # a Popen of a still running server would warn as it is collected
        assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
        for _ in range(6):
            profiler.step()
        profiler.close()
        assert profiler.server_pid is not None
        with urllib.request.urlopen(f"{url}/api/runs/{profiler.run_id}", timeout=5) as response:
            snapshot = json.loads(response.read())
        lines = read_log(profiler.log_path)
        assert snapshot["lastSeq"] == len(lines) - 1 == 5  # run, samples at steps 0 2 4 6, end
        assert [s["layers"][0]["nnz"] for s in snapshot["samples"]] == [model[0].nnz] * 4
        out = capsys.readouterr().out
        assert f"dashboard {url}/?run={profiler.run_id}" in out
        assert "cannot reach" not in out
    finally:
        if profiler.server_pid:
            stop(profiler.server_pid)


def test_without_a_server_no_url_is_printed_and_close_does_not_wait(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no Node.js, so no server can start
    monkeypatch.delenv("SPARSELAB_PROFILER_CLI", raising=False)
    url = f"http://127.0.0.1:{free_port()}"
    model = nn.Sequential(sparselab.SparseLinear(16, 12, sparsity=0.75))
    profiler = SparsityProfilerCallback(every=2, logdir=tmp_path, server=url, overhead_budget=None).attach(model)
    for _ in range(4):
        profiler.step()
    started = time.monotonic()
    profiler.close()
    waited = time.monotonic() - started
    written = len(profiler.log_path.read_text().splitlines())
    out = capsys.readouterr().out
    assert profiler.server_pid is None and "dashboard http" not in out
    assert f"no server at {url} and no Node.js/sparselab-profiler CLI here" in out
    assert f"the server at {url} never answered; none of the {written} records reached it" in out
    assert written == 5 and waited < 3.0  # at most the 1 s bound for a server that never answered, plus slack


@needs_node
def test_close_writes_the_html_report_beside_the_run_log(tmp_path, capsys):
    assert find_cli(), "build the TypeScript packages first (scripts/setup.sh)"
    model = nn.Sequential(sparselab.SparseLinear(16, 12, sparsity=0.75))
    with SparsityProfilerCallback(logdir=tmp_path, server=None, report=True, run_name="report <check>") as profiler:
        profiler.attach(model)
    report = profiler.log_path.parent / "report.html"
    assert f"SparseLab Profiler: report {report}" in capsys.readouterr().out
    html = report.read_text()
    assert "<title>report &lt;check&gt;</title>" in html and f"<dd>{profiler.run_id}</dd>" in html
