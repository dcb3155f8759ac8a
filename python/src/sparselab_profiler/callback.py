"""SparsityProfilerCallback: the one object a user adds to a training loop."""

from __future__ import annotations

import atexit
import os
import re
import secrets
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Callable, Optional

from torch import nn

from . import __version__
from .device_metrics import DeviceMetrics
from .discovery import discover_layers
from .distributed import rank_and_world
from .mask_snapshots import MaskSnapshots
from .measure import measure_layers
from .metrics import DEFAULT_BINS, Workspace
from .records import (
    MAX_HISTOGRAM_BINS,
    EndRecord,
    EventRecord,
    Record,
    RunRecord,
    SampleRecord,
    SamplerRecord,
)
from .runlog import RunLogWriter
from .sampler import AdaptiveSampler
from .sender import LogSender
from .server_launcher import ensure_server, find_cli
from .sources import LayerSource, RigLTorchSource, SparseLabLayerSource
from .topology import (
    TopologyChange,
    describe_algorithm,
    hook_rigl_torch_scheduler,
    hook_sparselab_algorithm,
)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "run"


class SparsityProfilerCallback:
    """Samples per-layer sparsity, memory and non-zero weight histograms every `every` steps.

    Args:
        every: sample every this many training steps. Default 10.
        layer_regex: profile only modules whose qualified name matches (``re.search``). Default all.
        logdir: runs are recorded under ``<logdir>/<run>/records.ndjson``. Default ``./sparsity_runs``.
        server: dashboard server base URL; ``None`` records the run log only. When nothing answers at a
            loopback URL the profiler starts ``sparselab-profiler serve`` itself. Default ``http://127.0.0.1:8080``.
        run_name: display name of the run. Default: the model's class name.
        bins: histogram bins per layer. Default 64.
        overhead_budget: largest share of training time the profiler may take; the sampling interval
            doubles while it costs more (each change is recorded). ``None`` keeps `every` fixed. Default 0.01.
        exclude_regex: leave out modules whose name matches (``re.search``), after `layer_regex`. Default none.
        memory_budget_mb: the most the profiler may hold in mask snapshots (1 bit per weight, for the
            inferred drop/grow of un-hooked mask sources); over it, those snapshots are skipped with one
            warning. Default 500.
        measure_on_device: how weights are measured. ``None``: on their accelerator when they live on one
            (no host sync; each sample is written once the next one is taken), else on the host. ``True``
            also routes CPU tensors through that path; ``False`` measures everything on the host. Default None.
        report: write ``<logdir>/<run>/report.html`` at close (with the ``sparselab-profiler`` CLI) and
            print its path. Default: on, unless the environment sets ``SPARSELAB_PROFILER_REPORT=0``.

    Example:
        >>> profiler = SparsityProfilerCallback(every=10)
        >>> profiler.attach(model, algorithm=rigl)
        >>> for batch in loader:
        ...     loss.backward(); optimizer.step(); rigl.step()
        ...     profiler.step()
        >>> profiler.close()

    Nothing here ever raises into the training loop: an internal error prints one warning and the
    profiler disables itself.
    """

    def __init__(
        self,
        every: int = 10,
        layer_regex: Optional[str] = None,
        logdir: str | Path = "./sparsity_runs",
        server: Optional[str] = "http://127.0.0.1:8080",
        run_name: Optional[str] = None,
        bins: int = DEFAULT_BINS,
        overhead_budget: Optional[float] = 0.01,
        exclude_regex: Optional[str] = None,
        memory_budget_mb: float = 500.0,
        measure_on_device: Optional[bool] = None,
        report: Optional[bool] = None,
    ):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        if not isinstance(bins, int) or not 1 <= bins <= MAX_HISTOGRAM_BINS:  # the server rejects larger histograms
            raise ValueError(f"bins must be an integer from 1 to {MAX_HISTOGRAM_BINS}, got {bins!r}")
        for pattern in (layer_regex, exclude_regex):
            if pattern is not None:
                re.compile(pattern)  # a bad pattern is the caller's error: say so now, not mid-training
        if overhead_budget is not None and not 0 < overhead_budget < 1:
            raise ValueError(f"overhead_budget must be a fraction between 0 and 1 (0.01 = 1%), got {overhead_budget!r}")
        self.layer_regex = layer_regex
        self.exclude_regex = exclude_regex
        self.memory_budget_bytes = int(memory_budget_mb * 2**20)
        self._sampler = AdaptiveSampler(every, overhead_budget)
        self._every_in_force = every
        self._rank, self._world = 0, 1
        self._attached = False
        self._cost_at_last_sample = 0.0
        self._snapshots_enabled = True
        self.logdir = Path(logdir)
        self.server = server.rstrip("/") if server else None
        self.run_name = run_name
        self.bins = bins
        self.report = report if report is not None else os.environ.get("SPARSELAB_PROFILER_REPORT", "1") != "0"
        self.run_id: Optional[str] = None
        self.server_pid: Optional[int] = None  # set when this profiler started the server itself
        self._sources: list[LayerSource] = []
        self._ranges: dict[str, tuple[float, float]] = {}
        self._snapshots = MaskSnapshots()
        self._device_metrics = None if measure_on_device is False else DeviceMetrics(bins, forced=measure_on_device is True)
        self._pending: Optional[tuple] = None
        self._workspace = Workspace()
        self._diff_layers: frozenset[str] = frozenset()
        self._hooked: set[str] = set()  # layers whose topology events come exactly from a hooked algorithm
        self._log: Optional[RunLogWriter] = None
        self._sender: Optional[LogSender] = None
        self._unhook = lambda: None
        self._seq = 0
        self._step = 0
        self._last_sampled_step = -1
        self._last_step_time: Optional[float] = None
        self._step_ms: Optional[float] = None
        self._step_counter: Optional[Callable[[], int]] = None
        self.total_cost_ms = 0.0  # everything the profiler spent inside the training thread
        self._disabled = False
        self._closed = False

    # ── public surface ────────────────────────────────────────────────

    @property
    def log_path(self) -> Optional[Path]:
        """Path of this run's records.ndjson once attached."""
        return self._log.path if self._log else None

    @property
    def dashboard_url(self) -> Optional[str]:
        return f"{self.server}/?run={self.run_id}" if self.server and self.run_id else None

    def attach(self, model: nn.Module, algorithm: object = None) -> "SparsityProfilerCallback":
        """Finds the layers to profile, opens the run and, given a SparseLab algorithm, hooks its updates."""
        self._guard(self._attach, model, algorithm)
        return self

    def step(self, step: Optional[int] = None) -> None:
        """Call once per training step, after ``optimizer.step()`` and ``algorithm.step()``.

        ``step`` is the number of optimizer steps taken so far, for trainers that count them
        (Lightning's ``global_step``); by default the profiler counts calls.
        """
        if self._disabled or not self._attached:
            return
        self._guard(self._on_step, step)

    def follow_step_counter(self, counter: Callable[[], int]) -> None:
        """Label topology events with `counter()` (a trainer's global step) instead of the next call count."""
        self._step_counter = counter

    def close(self, status: str = "finished") -> None:
        """Takes a last sample, writes the end record and waits briefly for the server to have it all."""
        if self._closed:
            return
        self._closed = True
        if self._attached and not self._disabled:
            self._guard(self._finish, status)
        self._shutdown()
        if self.report and self._log is not None and not self._disabled:
            self._guard(self._write_report)

    def __enter__(self) -> "SparsityProfilerCallback":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close("finished")
        else:
            self.close("interrupted" if issubclass(exc_type, KeyboardInterrupt) else "crashed")

    # ── internals ─────────────────────────────────────────────────────

    def _guard(self, fn, *args) -> None:
        if self._disabled:
            return
        try:
            fn(*args)
        except Exception as error:  # training must go on whatever happens in here
            self._disable(error)

    def _disable(self, error: BaseException) -> None:
        if self._disabled:
            return
        self._disabled = True
        warnings.warn(
            f"SparseLab Profiler disabled itself after an internal error ({type(error).__name__}: {error}); "
            "training continues unaffected.",
            RuntimeWarning,
            stacklevel=4,
        )
        self._shutdown()

    def _attach(self, model: nn.Module, algorithm: object) -> None:
        if self._attached:
            raise RuntimeError("attach() was already called on this profiler")
        self._attached = True
        self._rank, self._world = rank_and_world()
        self._sources = discover_layers(model, self.layer_regex, self.exclude_regex)
        self._check_memory_budget()
        name = self.run_name or type(model).__name__
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(name)}-{secrets.token_hex(2)}"
        if self._rank == 0:
            self._log = RunLogWriter(self.logdir / self.run_id)
        if self.server and self._rank == 0:
            self.server_pid = ensure_server(self.server, self.logdir)
            self._sender = LogSender(f"{self.server}/api/ingest", self.run_id, self._log.path,
                                     quiet_s=10.0 if self.server_pid else 0.0)
            self._log.on_write = self._sender.notify
        algorithm = self._hook_algorithms(algorithm)
        self._diff_layers = frozenset(s.info.name for s in self._sources if hasattr(s, "mask") and s.info.name not in self._hooked)
        algo_info = describe_algorithm(algorithm) if algorithm is not None else None
        self._write(RunRecord(
            run=self.run_id, name=name, started=time.time(), algorithm=algo_info,
            layers=[s.info for s in self._sources], sampler={"every": self._sampler.base},
            host=socket.gethostname() or "unknown", profiler=f"sparselab-profiler {__version__}",
        ))
        self._sample()
        if self._sender:
            self._sender.start()
            print(f"SparseLab Profiler: dashboard {self.dashboard_url}", flush=True)
        atexit.register(self._close_at_exit)

    @property
    def every(self) -> int:
        """The sampling interval in force (the adaptive sampler may have widened the configured one)."""
        return self._every_in_force

    def _check_memory_budget(self) -> None:
        needed = sum((s.info.numel + 7) // 8 for s in self._sources if hasattr(s, "mask"))
        if needed > self.memory_budget_bytes:
            self._snapshots_enabled = False
            warnings.warn(
                f"SparseLab Profiler: mask snapshots for inferred drop/grow events would take {needed / 2**20:.0f} MiB, "
                f"over memory_budget_mb={self.memory_budget_bytes / 2**20:.0f}; they are off. Exact events, nnz, memory "
                "and histograms continue. Narrow layer_regex / exclude_regex or raise memory_budget_mb to get them.",
                RuntimeWarning, stacklevel=4,
            )

    def _hook_algorithms(self, algorithm: object) -> object:
        """Hooks the given SparseLab algorithm and every rigl-torch scheduler found on the weights, so their
        layers get exact events; returns the algorithm to describe in the run record."""
        unhooks = []
        if algorithm is not None and not hasattr(algorithm, "_rigl_step"):
            sources = [s for s in self._sources if isinstance(s, SparseLabLayerSource)]
            unhooks.append(hook_sparselab_algorithm(algorithm, sources, self._on_topology, self._disable))
            self._hooked.update(s.info.name for s in sources)
        rigl_sources = [s for s in self._sources if isinstance(s, RigLTorchSource)]
        schedulers = {id(s.scheduler): s.scheduler for s in rigl_sources}
        for scheduler in schedulers.values():
            governed = [s for s in rigl_sources if s.scheduler is scheduler]
            unhooks.append(hook_rigl_torch_scheduler(scheduler, governed, self._on_topology, self._disable))
            self._hooked.update(s.info.name for s in governed)
        self._unhook = lambda: [unhook() for unhook in unhooks]
        return algorithm if algorithm is not None else next(iter(schedulers.values()), None)

    def _write(self, record: Record) -> None:
        if self._log is None:
            return  # ranks other than 0 measure (collectives need them) but never write
        record.seq = self._seq
        self._seq += 1
        self._log.write(record)

    def _on_step(self, step: Optional[int]) -> None:
        now = time.perf_counter()
        if self._last_step_time is not None:
            elapsed_ms = (now - self._last_step_time) * 1000
            self._step_ms = elapsed_ms if self._step_ms is None else 0.9 * self._step_ms + 0.1 * elapsed_ms
        self._step = self._step + 1 if step is None else step
        if self._step % self._every_in_force == 0 and self._step != self._last_sampled_step:
            self._sample()
        self._last_step_time = time.perf_counter()

    def _sample(self) -> None:
        started = time.perf_counter()
        self._flush_pending()  # the previous sample's device results landed long ago
        measurement = measure_layers(
            self._sources, self._ranges, self.bins, device_metrics=self._device_metrics,
            snapshots=self._snapshots if self._snapshots_enabled else None, diff_layers=self._diff_layers,
            distributed=self._world > 1, agree_max=(float(self._sampler.every),), workspace=self._workspace,
        )
        now = time.time()
        cost_ms = (time.perf_counter() - started) * 1000
        self.total_cost_ms += cost_ms
        self._pending = (measurement, self._step, now, cost_ms, self._step_ms)
        if measurement.is_ready():
            self._flush_pending()
        self._last_sampled_step = self._step
        self._adapt_interval(measurement.agreed[0], now)

    def _flush_pending(self) -> None:
        """Writes the last sample (and the drop/grow its mask diffs inferred) once its numbers are in."""
        if self._pending is None:
            return
        measurement, step, when, cost_ms, step_ms = self._pending
        self._pending = None
        layers, changes = measurement.complete()
        self._write(SampleRecord(run=self.run_id, seq=0, step=step, time=when, layers=layers, cost_ms=cost_ms,
                                 step_ms=step_ms))
        for source, dropped, grown in changes:
            for op, count in (("drop", dropped), ("grow", grown)):
                self._write(EventRecord(run=self.run_id, seq=0, step=step, time=when, layer=source.info.name,
                                        op=op, count=count, exact=False, algorithm=source.info.mask_source,
                                        requested=None))

    def _adapt_interval(self, agreed_every: float, now: float) -> None:
        """Feeds the sampler; a new interval takes effect at once on one process, and on many only once
        all ranks agreed on it (the MAX of their proposals, reduced with the next sample)."""
        change = self._sampler.observe(self.total_cost_ms - self._cost_at_last_sample, self._step_ms)
        self._cost_at_last_sample = self.total_cost_ms
        every = int(agreed_every) if self._world > 1 else self._sampler.every
        if every != self._every_in_force:
            self._every_in_force = every
            overhead = change.overhead if change else (self._sampler.overhead(self._step_ms or 0) or 0.0)
            self._write(SamplerRecord(run=self.run_id, seq=0, step=self._step, time=now, every=every, overhead=overhead))

    def _on_topology(self, change: TopologyChange) -> None:
        if self._disabled or self._closed or self._log is None:
            return
        self.total_cost_ms += change.cost_ms
        # By default the algorithm updates inside the step the user has not yet reported with step().
        step = self._step_counter() if self._step_counter else self._step + 1
        for op, count, requested, rows in (("drop", change.dropped, change.requested_drop, change.dropped_rows),
                                           ("grow", change.grown, None, change.grown_rows)):
            self._guard(self._write, EventRecord(
                run=self.run_id, seq=0, step=step, time=time.time(), layer=change.layer, op=op, count=count,
                exact=True, algorithm=change.algorithm, requested=requested, rows=rows,
            ))

    def _finish(self, status: str) -> None:
        if self._step != self._last_sampled_step:
            self._sample()
        self._flush_pending()
        self._write(EndRecord(run=self.run_id, seq=0, step=self._step, time=time.time(), status=status))

    def _write_report(self) -> None:
        run_dir = self._log.path.parent
        cli = find_cli()
        if cli is None:
            print(f"SparseLab Profiler: run recorded in {run_dir}; make its report with: npx sparselab-profiler export {run_dir}")
            return
        target = run_dir / "report.html"
        done = subprocess.run([cli, "export", str(run_dir), "-o", str(target)], capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            print(f"SparseLab Profiler: report {target}", flush=True)
        else:
            print(f"SparseLab Profiler: could not write the report ({done.stderr.strip()[:300]}); the run log {self._log.path} is complete.")

    def _close_at_exit(self) -> None:
        if not self._closed:
            self.close("interrupted")

    def _shutdown(self) -> None:
        self._unhook()
        self._unhook = lambda: None
        if self._sender is not None:
            if not self._sender.close(timeout_s=5.0):
                print(f"SparseLab Profiler: not everything reached {self.server}; the run log {self.log_path} has it all.")
            self._sender = None
        if self._log is not None:
            self._log.close()
        atexit.unregister(self._close_at_exit)
