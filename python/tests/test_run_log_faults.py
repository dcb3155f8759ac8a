"""A run log that cannot be written (a full disk) never reaches training: one warning says where the log
stops, the log keeps every complete record before it, and close() and interpreter exit stay silent."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparselab_profiler import SparsityProfilerCallback
from wire_schema import validate_record

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir() or not Path("/dev/full").exists(),
                                reason="needs Linux's /proc and /dev/full")


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))


def train(net: nn.Module, steps: int, profiler=None, on_step=None) -> list[float]:
    torch.manual_seed(1)
    x, y = torch.randn(64, 32), torch.randint(0, 4, (64,))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    losses = []
    for step in range(1, steps + 1):
        loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if profiler is not None:
            profiler.step()
        if on_step:
            on_step(step)
    return losses


def fill_disk(log_path: Path) -> None:
    """From now on every write to the open run log fails with ENOSPC, as on a full disk."""
    full = os.open("/dev/full", os.O_WRONLY)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(log_path):
                os.dup2(full, int(fd))
        except OSError:
            pass
    os.close(full)


def complete_lines(path: Path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "the log ends in a torn line"
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["seq"] for r in records] == list(range(len(records)))
    for record in records:
        validate_record(record)
    return records


def profiler_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "SparseLab Profiler" in str(w.message)]


def test_a_disk_filling_up_mid_training_leaves_training_unchanged_with_one_warning(tmp_path):
    expected = train(model(), 40)
    net = model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiler = SparsityProfilerCallback(every=5, logdir=tmp_path, server=None, overhead_budget=None).attach(net)
        path = profiler.log_path
        losses = train(net, 40, profiler, on_step=lambda step: step == 12 and fill_disk(path))
        profiler.close()
        profiler.close()
    assert losses == expected
    messages = profiler_warnings(caught)
    assert len(messages) == 1, messages
    records = complete_lines(path)
    # written before the disk filled: the run record and the samples at steps 0, 5, 10
    assert [(r["type"], r.get("step")) for r in records] == [("run", None), ("sample", 0), ("sample", 5), ("sample", 10)]
    assert messages[0] == (
        "SparseLab Profiler stopped recording: writing the run log failed (OSError: [Errno 28] No space left on device). "
        f"{path} holds records 0 to 3, up to step 10; what came after was lost. Training continues unaffected.")


def test_a_full_disk_at_close_is_one_warning_and_no_exception(tmp_path):
    net = model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SparsityProfilerCallback(every=5, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
            profiler.attach(net)
            train(net, 7, profiler)
            fill_disk(profiler.log_path)
        profiler.step()  # after close: nothing, silently
    messages = profiler_warnings(caught)
    assert len(messages) == 1 and "holds records 0 to 2, up to step 5" in messages[0]
    assert [r["type"] for r in complete_lines(profiler.log_path)] == ["run", "sample", "sample"]


def test_a_full_disk_found_at_interpreter_exit_is_one_warning_and_a_clean_exit(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys, torch
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_run_log_faults import model, train, fill_disk
        from sparselab_profiler import SparsityProfilerCallback
        net = model()
        profiler = SparsityProfilerCallback(every=5, logdir={str(tmp_path)!r}, server=None, overhead_budget=None).attach(net)
        train(net, 3, profiler)
        fill_disk(profiler.log_path)
        print("trained", flush=True)
    """)  # no close(): the profiler ends the run at interpreter exit
    done = subprocess.run([sys.executable, "-W", "always", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "trained\n"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert done.stderr.count("SparseLab Profiler stopped recording") == 1, done.stderr
    [run_dir] = tmp_path.iterdir()
    assert [r["type"] for r in complete_lines(run_dir / "records.ndjson")] == ["run", "sample"]


def mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True).returncode == 0


def test_a_real_small_filesystem_running_full(tmp_path):
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not mount_tmpfs(disk, "64k"):
        pytest.skip("mounting a tmpfs needs root and CAP_SYS_ADMIN here")
    try:
        expected = train(model(), 300)
        net = model()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with SparsityProfilerCallback(every=1, logdir=disk, server=None, overhead_budget=None) as profiler:
                profiler.attach(net)
                losses = train(net, 300, profiler)
        assert losses == expected
        messages = profiler_warnings(caught)
        assert len(messages) == 1 and "No space left on device" in messages[0], messages
        records = complete_lines(profiler.log_path)
        assert 10 < len(records) < 300  # the 64 KiB disk filled up mid-run
        assert f"holds records 0 to {len(records) - 1}, up to step {records[-1]['step']};" in messages[0]
    finally:
        subprocess.run(["umount", str(disk)], check=False)
