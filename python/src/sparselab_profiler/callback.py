"""SparsityProfilerCallback: the one object a user adds to a training loop."""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Mapping, Optional, Union

from torch import nn

from . import __version__
from .device_metrics import DeviceMetrics
from .discovery import LayerTracker, unwrap_compiled
from .distributed import rank_and_world
from .mask_history import MaskHistory
from .measure import measure_layers
from .metrics import DEFAULT_BINS, Workspace
from .options import flag_thresholds_option, positive_int, regex_option, wandb_option
from .plugin_metrics import MetricFn, PluginMetrics, check_name
from .recorder import RunRecorder
from .records import (
    MAX_HISTOGRAM_BINS,
    EndRecord,
    EventRecord,
    LayerRecord,
    MetricRecord,
    Record,
    RunRecord,
    SampleRecord,
    SamplerRecord,
)
from .sampler import AdaptiveSampler
from .scalars import ScalarWindow
from .sources import LayerSource, RigLTorchSource, SparseLabLayerSource
from .topology import (
    TopologyChange,
    describe_algorithm,
    hook_rigl_torch_scheduler,
    hook_sparselab_algorithm,
)
from .wandb_forward import DEFAULT_MAX_LAYERS, WandbForwarder


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
        overhead_budget: the profiler's share of training time to return to should it run away: `every` is
            kept while the measured overhead stays under 10 times this; past that the interval doubles until the
            overhead is under it, and halves back towards `every` once it is cheap again (each change is
            recorded; sampler.py says why). ``None`` keeps `every` fixed. Default 0.01.
        exclude_regex: leave out modules whose name matches (``re.search``), after `layer_regex`. Default none.
        memory_budget_mb: the most the profiler may hold in mask snapshots (1 bit per weight for each of
            a masked layer's previous mask, ever-active positions and last drop: inferred drop/grow,
            active_ever, mask_changed, regrown); over it, those snapshots are skipped with one warning.
            Default 500.
        measure_on_device: how weights are measured. ``None``: on their accelerator when they live on one
            (no host sync; each sample is written once the next one is taken), else on the host. ``True``
            also routes CPU tensors through that path; ``False`` measures everything on the host. Default None.
        report: write ``<logdir>/<run>/report.html`` at close (with the ``sparselab-profiler`` CLI) and
            print its path. Default: on, unless the environment sets ``SPARSELAB_PROFILER_REPORT=0``.
        metrics: user-defined per-layer metrics, name → ``fn(name, weight, mask)`` returning a number or a
            one-element tensor, computed for every profiled layer at each sample (see `metric()`; at most
            16, names of 1 to 64 characters). Default none.
        flag_thresholds: this run's thresholds for the flag rules, over the defaults, e.g. ``{"drift": 0.1}``
            (names, defaults and meaning in docs/flags.md); carried in the run record, so the dashboard, the
            report and ``sparselab-profiler check`` all apply them. Default: the defaults.
        wandb: forward each sample into the user's own W&B run (keys under ``sparselab/``, on the user's own
            commits: see wandb_forward.py) and add these settings to its config under ``sparselab``; at close,
            save the run log and report into the run and send its flags (summary counts, alerts for critical ones).
            ``None``: once ``wandb.run`` exists on rank 0, at attach or at a later step (loggers that create it
            lazily), when the user imported wandb; ``True``: the same, warning when there is none by the first
            sample after attach; ``False``: never. What was recorded before the run existed is not forwarded.
            A dict is ``True`` with forwarding options: ``{"every": k}`` forwards every k-th sample (the drop/grow
            between add up; default 1) and ``{"max_layers": n}`` gives per-layer keys to the n largest layers
            (default 64; the others count in the model totals).
            Default None.

    Example:
        >>> profiler = SparsityProfilerCallback(every=10)
        >>> profiler.attach(model, algorithm=rigl)
        >>> for batch in loader:
        ...     loss.backward(); optimizer.step(); rigl.step()
        ...     profiler.step(loss=loss)
        >>> profiler.close()

    A per-layer metric of your own, on every sample::

        >>> @profiler.metric("mean_abs_active")
        ... def mean_abs_active(name, weight, mask):
        ...     return (weight if mask is None else weight[mask]).abs().mean()

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
        metrics: Optional[Mapping[str, MetricFn]] = None,
        flag_thresholds: Optional[Mapping[str, float]] = None,
        wandb: Union[None, bool, Mapping[str, int]] = None,
    ):
        every = positive_int("every", every)
        bins = positive_int("bins", bins, MAX_HISTOGRAM_BINS)  # the server rejects larger histograms
        if overhead_budget is not None and not 0 < overhead_budget < 1:
            raise ValueError(f"overhead_budget must be a fraction between 0 and 1 (0.01 = 1%), got {overhead_budget!r}")
        self.layer_regex = regex_option("layer_regex", layer_regex)
        self.exclude_regex = regex_option("exclude_regex", exclude_regex)
        self.memory_budget_bytes = int(memory_budget_mb * 2**20)
        self._sampler = AdaptiveSampler(every, overhead_budget)
        self._every_in_force = every
        self._rank, self._world = 0, 1
        self._attached = False
        self._cost_at_last_sample = 0.0
        self._history_enabled = True
        self.logdir = Path(logdir)
        self.server = server.rstrip("/") if server else None
        self.run_name = run_name
        self.bins = bins
        self.flag_thresholds = flag_thresholds_option(flag_thresholds)
        self.report = report if report is not None else os.environ.get("SPARSELAB_PROFILER_REPORT", "1") != "0"
        self._metrics = PluginMetrics(metrics)
        self._wandb_options = wandb_option(wandb)
        if (wandb or isinstance(wandb, Mapping)) and not _wandb_installed():
            raise ImportError("wandb=True needs the wandb package: pip install wandb")
        self.wandb = True if isinstance(wandb, Mapping) else wandb
        self._wandb: Optional[WandbForwarder] = None  # rank 0 only, once attached to a live run
        self._wandb_wanted = False  # rank 0, wandb not False, no run yet: look for one at each step
        self._wandb_warned = False
        self._wandb_name = ""
        self._recorder: Optional[RunRecorder] = None  # rank 0 only: the others measure but never record
        self._tracker: Optional[LayerTracker] = None
        self._sources: list[LayerSource] = []
        self._ranges: dict[str, tuple[float, float]] = {}
        self._history = MaskHistory()  # each masked layer's mask in bits: previous, ever active, last drop
        self._device_metrics = None if measure_on_device is False else DeviceMetrics(bins, forced=measure_on_device is True)
        self._pending: Optional[tuple] = None
        self._scalars = ScalarWindow()
        self._workspace = Workspace()
        self._diff_layers: frozenset[str] = frozenset()
        self._hooked_layers: frozenset[str] = frozenset()
        self._hooked: set[str] = set()  # layers whose topology events come exactly from a hooked algorithm
        self._unhook = lambda: None
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
    def run_id(self) -> Optional[str]:
        """This run's id once attached (on rank 0)."""
        return self._recorder.run_id if self._recorder else None

    @property
    def log_path(self) -> Optional[Path]:
        """Path of this run's records.ndjson once attached (on rank 0)."""
        return self._recorder.log_path if self._recorder else None

    @property
    def dashboard_url(self) -> Optional[str]:
        return self._recorder.dashboard_url if self._recorder else None

    @property
    def server_pid(self) -> Optional[int]:
        """The dashboard server's pid when this profiler started it."""
        return self._recorder.server_pid if self._recorder else None

    @property
    def attached(self) -> bool:
        """Whether `attach()` was called: one profiler records one run."""
        return self._attached

    def attach(self, model: nn.Module, algorithm: object = None) -> "SparsityProfilerCallback":
        """Finds the layers to profile, opens the run and, given a SparseLab algorithm, hooks its updates.

        Raises RuntimeError when this profiler was already attached (its run is left as it is): a second
        model or training run needs its own profiler.
        """
        if self._attached:
            raise RuntimeError(
                f"this SparsityProfilerCallback already records run {self.run_id}; one profiler records one run, "
                "so create a new SparsityProfilerCallback for another model or training run (the first run is unaffected)")
        self._guard(self._attach, model, algorithm)
        return self

    def step(self, step: Optional[int] = None, loss: object = None, **scalars: object) -> None:
        """Call once per training step, after ``optimizer.step()`` and ``algorithm.step()``.

        ``step`` is the number of optimizer steps taken so far, for trainers that count them
        (Lightning's ``global_step``); by default the profiler counts calls.

        ``loss`` and any other named ``scalars`` (``accuracy=0.91``) are numbers or one-element tensors (None:
        no value this step). Each sample carries, per name, the mean of the values passed since the previous
        sample, or null when one was NaN or ±Inf. A tensor is summed where it lives and read once per sample,
        never per step (no GPU sync); a value that is no real number warns once and is left out.
        """
        if self._disabled or not self._attached or self._closed:
            return
        if loss is not None:
            scalars = {"loss": loss, **scalars}
        try:  # _guard's, inline: this runs at every training step
            self._on_step(step, scalars)
        except Exception as error:  # training must go on whatever happens in here
            self._disable(error, stacklevel=3)

    def metric(self, name: str, fn: Optional[MetricFn] = None, *, warn_above: Optional[float] = None,
               warn_below: Optional[float] = None):
        """Registers a per-layer metric of your own: ``@profiler.metric("name")`` over a function, or
        ``profiler.metric("name", fn)``. Before or after `attach()`: it applies from the next sample on.

        ``fn(name, weight, mask)`` gets the layer's name, its effective dense weight (zero wherever ``mask``
        is False) and its boolean mask, or None for a dense layer, and returns a number or a one-element real
        tensor; each layer's sample carries the value under ``metrics``, null where it is NaN or ±Inf. What
        ``weight`` and ``mask`` are for each kind of layer (SparseLab, torch prune, …) is in
        ``sparselab_profiler.plugin_metrics``. Return a tensor rather than calling ``.item()``: the profiler
        reads a GPU layer's results with one copy per sample, not one sync per layer. The time it takes counts
        in the sample's ``cost_ms``, so the overhead budget covers it.

        ``warn_above`` / ``warn_below`` make limits: a layer whose value passes one is flagged (rule
        ``metric-limit`` in docs/flags.md) in the dashboard, the report and ``sparselab-profiler check``.

        A function that raises, or returns anything else, is disabled with one warning and left out of later
        samples; training, the profiler and the other metrics go on. Registering a name again replaces its
        function and limits (and re-enables it). Raises ValueError for a name that is not a string of 1 to 64
        characters, a 17th metric or a limit that is not a finite number (or warn_below ≥ warn_above), TypeError
        for a `fn` that is not callable.
        """
        check_name(name)

        def register(fn: MetricFn) -> MetricFn:
            self._metrics.register(name, fn, warn_above, warn_below)
            if self._recorder is not None and not self._disabled:
                self._guard(self._declare_metric, name)
            return fn

        if fn is not None:
            return register(fn)

        return register

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
        if self.report and self._recorder is not None and not self._disabled:
            self._guard(self._recorder.write_report)
        if self._wandb is not None and not self._disabled:  # after the report, which it saves into the run
            self._guard(self._close_wandb)

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

    def _disable(self, error: BaseException, stacklevel: int = 4) -> None:
        """`stacklevel`: the frames up to the user's call (through `_guard`, by default)."""
        if self._disabled:
            return
        self._disabled = True
        if self._recorder is not None and self._recorder.log_failed:
            message = (f"SparseLab Profiler stopped recording: writing the run log failed ({type(error).__name__}: {error}). "
                       f"{self._recorder.lost_after()}. Training continues unaffected.")
        else:
            message = (f"SparseLab Profiler disabled itself after an internal error ({type(error).__name__}: {error}); "
                       "training continues unaffected.")
        warnings.warn(message, RuntimeWarning, stacklevel=stacklevel)
        self._shutdown()

    def _attach(self, model: nn.Module, algorithm: object) -> None:
        self._attached = True
        self._rank, self._world = rank_and_world()
        model = unwrap_compiled(model)
        self._tracker = LayerTracker(model, self.layer_regex, self.exclude_regex)
        self._sources = self._tracker.sources
        self._warn_if_no_layers()
        self._check_memory_budget()
        name = self.run_name or type(model).__name__
        if self._rank == 0:
            self._recorder = RunRecorder(name=name, logdir=self.logdir, server=self.server)
        algorithm = self._hook_algorithms(algorithm)
        self._update_diff_layers()
        algo_info = describe_algorithm(algorithm) if algorithm is not None else None
        self._write(RunRecord(
            run=self.run_id, name=name, started=time.time(), algorithm=algo_info,
            layers=[s.info for s in self._sources], sampler={"every": self._sampler.base, "budget": self._sampler.budget},
            host=socket.gethostname() or "unknown", profiler=f"sparselab-profiler {__version__}",
            flag_thresholds=self.flag_thresholds,
        ))
        for metric in self._metrics.limits:
            self._declare_metric(metric)
        if self._recorder is not None:
            self._attach_wandb(name)
        self._sample()
        if self._recorder is not None:
            self._recorder.start()
        atexit.register(self._close_at_exit)

    def _attach_wandb(self, name: str) -> None:
        if self.wandb is False:
            return
        if self.wandb:
            importlib.import_module("wandb")  # None: only if the user imported it
        self._wandb_name = name
        self._wandb_wanted = True
        self._look_for_wandb_run()

    def _look_for_wandb_run(self) -> None:
        """Attaches the forwarder once ``wandb.run`` exists: at attach, or at a later step for loggers that create
        it lazily (Lightning's WandbLogger, HF's WandbCallback). Per step: a dict lookup and a getattr."""
        run = getattr(sys.modules.get("wandb"), "run", None)
        if run is None:
            return
        self._wandb_wanted = False
        self._wandb = WandbForwarder(run, **self._wandb_options, settings={
            "run": self.run_id, "name": self._wandb_name, "every": self._sampler.base,
            "overhead_budget": self._sampler.budget, "bins": self.bins, "layer_regex": self.layer_regex,
            "exclude_regex": self.exclude_regex, "memory_budget_mb": self.memory_budget_bytes / 2**20,
            "flag_thresholds": self.flag_thresholds, "log_path": str(self.log_path) if self.log_path else None,
            "wandb": {"every": 1, "max_layers": DEFAULT_MAX_LAYERS, **self._wandb_options},
        })

    def _warn_no_wandb_run(self) -> None:
        """wandb=True and still no run by the first sample after attach (or at close): once."""
        if self.wandb and self._wandb_wanted and not self._wandb_warned:
            self._wandb_warned = True
            warnings.warn(f"SparseLab Profiler: wandb=True but there is no wandb.run by step {self._step}; samples are "
                          "forwarded only from when one exists: call wandb.init() (or let your logger create its run) "
                          "before training.", RuntimeWarning, stacklevel=5)

    def _close_wandb(self) -> None:
        """The forwarder's close (rows still waiting, per wandb_forward.py), then the run log, the report and the
        flags into the run while it is live."""
        self._wandb.close()
        run_dir = self.log_path.parent
        files = [path for path in (self.log_path, run_dir / "report.html") if path.is_file()]
        self._wandb.publish(files, run_dir, self._recorder.read_flags)

    def _declare_metric(self, name: str) -> None:
        above, below = self._metrics.limits[name]
        self._write(MetricRecord(run=self.run_id, seq=0, step=self._step, time=time.time(), name=name,
                                 warn_above=above, warn_below=below))

    def _warn_if_no_layers(self) -> None:
        if self._sources:
            return
        if self.layer_regex or self.exclude_regex:
            everything = LayerTracker(self._tracker.model)
            names = ", ".join(repr(s.info.name) for s in everything.sources[:5]) or "none"
            filters = " and ".join(f"{k}={v!r}" for k, v in (("layer_regex", self.layer_regex), ("exclude_regex", self.exclude_regex)) if v)
            warnings.warn(f"SparseLab Profiler: {filters} left none of the model's {len(everything.sources)} weighted layers "
                          f"(for example {names}); samples will be empty. Names are matched with re.search.",
                          RuntimeWarning, stacklevel=4)
        else:
            warnings.warn("SparseLab Profiler: the model has no layer it can profile (no Linear/Conv weight, sparse "
                          "tensor, pruning mask or SparseLab layer); samples will be empty.", RuntimeWarning, stacklevel=4)

    @property
    def every(self) -> int:
        """The sampling interval in force (the adaptive sampler may have widened the configured one)."""
        return self._every_in_force

    def _check_memory_budget(self) -> None:
        needed = 0
        for s in self._sources:
            if hasattr(s, "mask"):
                whole = not (self._world > 1 and getattr(s, "sharded", False))
                needed += MaskHistory.bytes_needed(s.info.numel, regrowth=whole,
                                                   explored=whole and s.info.mask_source != "inferred_zeros")
        if needed > self.memory_budget_bytes:
            self._history_enabled = False
            warnings.warn(
                f"SparseLab Profiler: mask snapshots for inferred drop/grow events would take {needed / 2**20:.0f} MiB, "
                f"over memory_budget_mb={self.memory_budget_bytes / 2**20:.0f}; they are off, and with them active_ever, "
                "mask_changed and regrown. Exact events, nnz, memory and histograms continue. Narrow layer_regex / "
                "exclude_regex or raise memory_budget_mb to get them.",
                RuntimeWarning, stacklevel=4,
            )

    def _hook_algorithms(self, algorithm: object) -> object:
        """Hooks the given SparseLab algorithm and every rigl-torch scheduler found on the weights, so their
        layers get exact events; returns the algorithm to describe in the run record."""
        unhooks = []
        history = self._history if self._history_enabled else None
        if algorithm is not None and not hasattr(algorithm, "_rigl_step"):
            sources = [s for s in self._sources if isinstance(s, SparseLabLayerSource)]
            unhooks.append(hook_sparselab_algorithm(algorithm, sources, self._on_topology, self._disable, history))
            self._hooked.update(s.info.name for s in sources)
        rigl_sources = [s for s in self._sources if isinstance(s, RigLTorchSource)]
        schedulers = {id(s.scheduler): s.scheduler for s in rigl_sources}
        for scheduler in schedulers.values():
            governed = [s for s in rigl_sources if s.scheduler is scheduler]
            unhooks.append(hook_rigl_torch_scheduler(scheduler, governed, self._on_topology, self._disable, history))
            self._hooked.update(s.info.name for s in governed)
        self._unhook = lambda: [unhook() for unhook in unhooks]
        return algorithm if algorithm is not None else next(iter(schedulers.values()), None)

    def _update_diff_layers(self) -> None:
        """Layers whose drop/grow is inferred from mask snapshots (those with a mask and no hooked algorithm),
        and the hooked ones with a mask, whose updates feed the mask history themselves."""
        masked = [s.info.name for s in self._sources if hasattr(s, "mask")]
        self._diff_layers = frozenset(name for name in masked if name not in self._hooked)
        self._hooked_layers = frozenset(name for name in masked if name in self._hooked)

    def _write(self, record: Record) -> None:
        if self._recorder is not None:  # ranks other than 0 measure (collectives need them) but never write
            self._recorder.write(record)
            if self._wandb is not None and isinstance(record, EventRecord):
                self._wandb.add_event(record)

    def _on_step(self, step: Optional[int], scalars: dict[str, object]) -> None:
        # every line here runs at every training step, with caches the step left cold: ~1 us a line
        now = time.perf_counter()
        if scalars and self._recorder is not None:  # only rank 0 records them
            for name, value in scalars.items():
                self._scalars.add(name, value)
        if self._last_step_time is not None:
            elapsed_ms = (now - self._last_step_time) * 1000
            self._step_ms = elapsed_ms if self._step_ms is None else 0.9 * self._step_ms + 0.1 * elapsed_ms
        self._step = self._step + 1 if step is None else step
        if self._wandb_wanted:
            self._look_for_wandb_run()
        if self._wandb is not None:
            self._wandb.pump()  # the user may have committed the W&B row that carries our last sample
        if self._step % self._every_in_force == 0 and self._step != self._last_sampled_step:
            self._warn_no_wandb_run()
            self._sample()
            now = time.perf_counter()  # the next step's time leaves the sample out
        self._last_step_time = now

    def _sample(self) -> None:
        started = time.perf_counter()
        self._flush_pending()  # the previous sample's device results landed long ago
        scalars = self._scalars.take()  # before measuring: a host measurement's sync lands the copy with it
        self._follow_model(time.time())
        measurement = measure_layers(
            self._sources, self._ranges, self.bins, device_metrics=self._device_metrics,
            history=self._history if self._history_enabled else None, diff_layers=self._diff_layers,
            hooked_layers=self._hooked_layers,
            distributed=self._world > 1, agree_max=(float(self._sampler.every),), workspace=self._workspace,
        )
        # rank 0 only, which records them; after the measurement, whose host sync lands the training step first
        metrics = self._metrics.compute(self._sources, distributed=self._world > 1) if self._recorder is not None else None
        now = time.time()
        cost_ms = (time.perf_counter() - started) * 1000
        self.total_cost_ms += cost_ms
        self._pending = (measurement, scalars, metrics, self._step, now, cost_ms, self._step_ms)
        if measurement.is_ready() and (scalars is None or scalars.ready()) and (metrics is None or metrics.ready()):
            self._flush_pending()
            # writing the record (JSON, the log line) is the profiler's too: the sampler counts it
            self.total_cost_ms += (time.perf_counter() - started) * 1000 - cost_ms
        self._last_sampled_step = self._step
        self._adapt_interval(measurement.agreed[0], now)

    def _flush_pending(self) -> None:
        """Writes the last sample (and the drop/grow its mask diffs inferred) once its numbers are in."""
        if self._pending is None:
            return
        measurement, scalars, metrics, step, when, cost_ms, step_ms = self._pending
        self._pending = None
        layers, changes = measurement.complete()
        if metrics is not None:
            per_layer = metrics.results()
            for layer in layers:
                layer.metrics = per_layer.get(layer.name) or None  # no values: no field
        sample = SampleRecord(run=self.run_id, seq=0, step=step, time=when, layers=layers, cost_ms=cost_ms,
                              step_ms=step_ms, scalars=scalars.results() if scalars else None)
        self._write(sample)
        for source, dropped, grown, regrown in changes:
            for op, count, again in (("drop", dropped, None), ("grow", grown, regrown)):
                self._write(EventRecord(run=self.run_id, seq=0, step=step, time=when, layer=source.info.name,
                                        op=op, count=count, exact=False, algorithm=source.info.mask_source,
                                        requested=None, regrown=again))
        if self._wandb is not None:  # after its inferred events, which the row counts
            self._wandb.forward(sample)

    def _follow_model(self, now: float) -> None:
        """Switches every layer whose storage changed since the last sample to the source that reads it
        now, and records each change before the sample that first measures it."""
        changes = self._tracker.refresh()
        if not changes:
            return
        self._sources = self._tracker.sources
        for change in changes:
            self._history.forget(change.name)  # a mask diff across two kinds of storage means nothing
            self._write(LayerRecord(run=self.run_id, seq=0, step=self._step, time=now, layer=change.name,
                                    info=change.info, reason=change.reason))
        self._update_diff_layers()

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
        if self._disabled or self._closed or self._recorder is None:
            return
        started = time.perf_counter()
        # By default the algorithm updates inside the step the user has not yet reported with step().
        step = self._step_counter() if self._step_counter else self._step + 1
        for op, count, requested, rows, regrown in (
                ("drop", change.dropped, change.requested_drop, change.dropped_rows, None),
                ("grow", change.grown, None, change.grown_rows, change.regrown)):
            self._guard(self._write, EventRecord(
                run=self.run_id, seq=0, step=step, time=time.time(), layer=change.layer, op=op, count=count,
                exact=True, algorithm=change.algorithm, requested=requested, rows=rows, regrown=regrown,
            ))
        # the observation and its events' writes, both in the training thread
        self.total_cost_ms += change.cost_ms + (time.perf_counter() - started) * 1000

    def _finish(self, status: str) -> None:
        if self._wandb_wanted:
            self._look_for_wandb_run()
            self._warn_no_wandb_run()
        if self._step != self._last_sampled_step:
            self._sample()
        self._flush_pending()
        self._write(EndRecord(run=self.run_id, seq=0, step=self._step, time=time.time(), status=status))
        # the forwarder closes in close(), after the report (_close_wandb)

    def _close_at_exit(self) -> None:
        if not self._closed:
            self.close("interrupted")

    def _shutdown(self) -> None:
        """Releases everything; each step is guarded on its own, so one failing cannot skip the others or
        raise into the caller (this runs from error handlers and at interpreter exit)."""
        unhook, self._unhook = self._unhook, lambda: None
        for step in (unhook, self._recorder.close if self._recorder else None, lambda: atexit.unregister(self._close_at_exit)):
            try:
                if step is not None:
                    step()
            except Exception as error:  # noqa: BLE001 - nothing may escape a shutdown
                warnings.warn(f"SparseLab Profiler: a shutdown step failed ({type(error).__name__}: {error})", RuntimeWarning, stacklevel=2)


def _wandb_installed() -> bool:
    return importlib.util.find_spec("wandb") is not None
