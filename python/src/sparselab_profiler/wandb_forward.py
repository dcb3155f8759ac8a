"""Forwards the profiler's samples into the user's own Weights & Biases run, without disturbing its rows.

Each written sample becomes one W&B row of keys under ``sparselab/`` (see `wandb_row`), plotted against its own
step metric ``sparselab/step`` (the training step), so where a row lands in W&B's ``_step`` never matters to our
charts. What matters is whose call owns ``_step``, and that decides whose data survives (checked against the real
client in offline mode, tests/test_wandb_forward.py):

* a plain ``run.log(row)`` commits a row of its own and advances ``_step``: every later implicit-step user row is
  shifted by one per sample, and a user logging ``step=epoch`` sees its next rows dropped as "less than the
  current step";
* ``run.log(row, step=ours)`` drops our rows, or theirs, whenever the two step counters disagree;
* ``run.log(row, commit=False)`` only adds keys to the row being built, which the user's next commit (or
  ``run.finish()``) writes: no user row moves, gains a ``_step`` or is dropped.

So `WandbForwarder` never commits while the user may still log: each row *rides on the user's next commit*. A row
waits in a queue until the user has committed the one that carries the previous row (the client's history step
moved since we placed it), so two of our rows never meet in the same W&B row and none overwrites another. A user
who commits at least as often as we forward (once a step, ``step=global_step``, Lightning's logger, once an epoch
with ``every`` of an epoch or more) therefore carries every sample, in order, at most one forward late.

Rows still waiting when the user calls ``run.finish()`` (always the last one or two under a user who logs
``step=k``, whose last row stays open until finish; all of them under a user who never logs) are committed as
rows of our own, one each, from a hook W&B runs at the start of ``finish`` (an early teardown hook): the user's
logging is over by then, so there is no later user row to shift or drop. Rows waiting while the user still logs,
but less often than we forward, wait in order (at most `max_pending`, the oldest past it left to the run log and
counted). Where the client has no such hook (another W&B version), `close` commits the waiting rows itself when
no user row was committed while the profiler ran, and otherwise leaves them to the run log with a warning.
A sample written after ``run.finish()`` is not forwarded.

The forwarder attaches once a run exists: at ``attach()`` when there is one, else at the first training step that
finds one (loggers such as Lightning's ``WandbLogger`` and HF's ``WandbCallback`` create theirs lazily, which may
come after ``attach()``). What the profiler recorded before then (the sample taken at ``attach()`` among it, and
the drop/grow events up to then) stays in the run log only: it is not forwarded.

At the profiler's ``close()``, after the report, while the run is still live (before ``run.finish()``), `publish`
saves the run log (``records.ndjson``) and ``report.html`` into the run's files, puts the count of the run's flags
per severity (from ``sparselab-profiler check``) into the summary as ``sparselab/flags/<severity>``, and sends
each critical flag as a W&B alert (at most `MAX_ALERTS`, then one alert for the rest). A failure there prints one
warning; the run log and the rows already forwarded are unaffected.

Calls come from the training thread only (``wandb.log`` is not thread-safe), and no error escapes: the first one
prints a warning and stops forwarding, while profiling goes on.
"""

from __future__ import annotations

import glob
import warnings
from collections import deque
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from .records import EventRecord, SampleRecord

PREFIX = "sparselab/"
STEP_METRIC = "sparselab/step"
#: W&B rejects histograms of more bins (ValueError); larger ones are merged pairwise down to it.
MAX_WANDB_BINS = 512
#: Layers with per-layer keys: the largest by numel; the others count in the model totals only.
DEFAULT_MAX_LAYERS = 64
#: Rows waiting for a user commit; past it the oldest is left to the run log (and counted).
DEFAULT_MAX_PENDING = 10_000
#: Critical flags sent as alerts of their own at close; one more alert sums up the rest.
MAX_ALERTS = 10
#: W&B rejects an alert title of 64 characters or more.
MAX_TITLE = 63
SEVERITIES = ("critical", "warning", "info")


def merge_bins(counts: Sequence[int], edges: Sequence[float], most: int = MAX_WANDB_BINS) -> tuple[list[int], list[float]]:
    """Merges neighbouring bins pairwise until at most `most` remain; an odd last bin stays alone, so every
    merged edge is one of the original edges and the counts stay exact.

    Example:
        >>> merge_bins([1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5], most=3)
        ([3, 7, 5], [0, 2, 4, 5])
    """
    counts, edges = list(counts), list(edges)
    while len(counts) > most:
        counts = [sum(counts[i:i + 2]) for i in range(0, len(counts), 2)]
        edges = edges[::2] + ([edges[-1]] if (len(edges) - 1) % 2 else [])
    return counts, edges


def largest_layers(sample: SampleRecord, max_layers: int) -> list[str]:
    """The names of the `max_layers` largest layers by numel (ties: the sample's order)."""
    order = sorted(range(len(sample.layers)), key=lambda i: -sample.layers[i].numel)
    return [sample.layers[i].name for i in sorted(order[:max_layers])]


def wandb_row(sample: SampleRecord, events: Sequence[EventRecord] = (), max_layers: int = DEFAULT_MAX_LAYERS) -> dict[str, Any]:
    """One W&B row for a sample and the drop/grow events since the previous forwarded one: model totals, and per
    layer (only the `max_layers` largest by numel) sparsity, nnz, the histogram of its non-zero weights (exact
    counts, equal bins over the sample's [lo, hi]) and drops/grows.

    Example:
        >>> row = wandb_row(sample, events)
        >>> row["sparselab/model/sparsity"], row["sparselab/layer/fc1/hist"]
        (0.9, <wandb.sdk.data_types.histogram.Histogram ...>)
    """
    import wandb

    nnz = sum(layer.nnz for layer in sample.layers)
    numel = sum(layer.numel for layer in sample.layers)
    drops: dict[str, int] = {}
    grows: dict[str, int] = {}
    for event in events:
        into = drops if event.op == "drop" else grows
        into[event.layer] = into.get(event.layer, 0) + event.count
    row: dict[str, Any] = {
        STEP_METRIC: sample.step,
        "sparselab/model/sparsity": 1.0 - nnz / numel if numel else 0.0,
        "sparselab/model/nnz": nnz,
        "sparselab/model/bytes": sum(layer.bytes for layer in sample.layers),
        "sparselab/model/dense_bytes": sum(layer.dense_bytes for layer in sample.layers),
        "sparselab/model/drops": sum(drops.values()),
        "sparselab/model/grows": sum(grows.values()),
    }
    keep = set(largest_layers(sample, max_layers))
    for layer in sample.layers:
        if layer.name not in keep:
            continue
        key = f"sparselab/layer/{layer.name}/"
        edges = np.linspace(layer.hist.lo, layer.hist.hi, len(layer.hist.counts) + 1).tolist()
        counts, edges = merge_bins(layer.hist.counts, edges)
        row[key + "sparsity"] = layer.sparsity
        row[key + "nnz"] = layer.nnz
        row[key + "hist"] = wandb.Histogram(np_histogram=(counts, edges))
        row[key + "drops"] = drops.get(layer.name, 0)
        row[key + "grows"] = grows.get(layer.name, 0)
    return row


class WandbForwarder:
    """Forwards samples into a live W&B run on the user's own commits (the module docstring says why and when).

    Args:
        run: the ``wandb.run`` to forward into.
        every: forward every this many written samples; the events in between add up into the next. Default 1.
        max_layers: layers with per-layer keys, the largest by numel. Default 64.
        max_pending: rows that may wait for a user commit. Default 10 000.
        settings: the profiler's settings, added to the run config under ``sparselab``. Default none.

    Example:
        >>> forwarder = WandbForwarder(wandb.run, settings={"every": 10})
        >>> forwarder.add_event(event); forwarder.forward(sample)  # at each written record
        >>> forwarder.pump()  # at each training step: places a waiting row once the user committed
        >>> forwarder.close()
        >>> forwarder.publish([log_path, report_path], run_dir, read_flags)  # after the report, before run.finish()
    """

    def __init__(self, run: Any, *, every: int = 1, max_layers: int = DEFAULT_MAX_LAYERS,
                 max_pending: int = DEFAULT_MAX_PENDING, settings: Optional[Mapping[str, Any]] = None):
        self.run = run
        self.every = every
        self.max_layers = max_layers
        self._queue: deque[dict[str, Any]] = deque()
        self._max_pending = max_pending
        self._events: list[EventRecord] = []
        self._samples = 0
        self._placed_at: Optional[int] = None  # the run's history step when our last row went in, until committed
        self._broken = False
        self._finished = False
        self.left_out = 0  # rows that never reached W&B (queue full, or still waiting at close)
        self.forwarded = 0
        self._start_step = 0
        self._at_finish = False
        self._safely(self._start, settings)

    def _start(self, settings: Optional[Mapping[str, Any]]) -> None:
        self.run.define_metric(STEP_METRIC, hidden=True)
        self.run.define_metric(PREFIX + "*", step_metric=STEP_METRIC)
        if settings is not None:
            self.run.config.update({"sparselab": dict(settings)}, allow_val_change=True)
        self._start_step = self._run_step()
        self._at_finish = _add_finish_hook(self.run, self._flush_at_finish)

    def add_event(self, event: EventRecord) -> None:
        """Counts a drop/grow event into the row of the first sample at or after its step."""
        self._safely(self._events.append, event)

    def forward(self, sample: SampleRecord) -> None:
        """Queues the row of every `every`-th sample and places it when the user's rows allow."""
        self._safely(self._forward, sample)

    def pump(self) -> None:
        """Places the next waiting row once the user committed the one carrying our previous row."""
        if self._queue:
            self._safely(self._pump)

    def close(self) -> None:
        """Commits the waiting rows when the user never committed one, else counts them as left out."""
        self._safely(self._close)

    @property
    def live(self) -> bool:
        """Whether the run still takes data from us: not finished, and forwarding not stopped by an error."""
        return not (self._broken or self._finished or getattr(self.run, "_is_finished", False))

    def publish(self, files: Sequence[Path], base: Path, read_flags: Callable[[], list[dict]]) -> None:
        """At close, while the run is live: saves `files` into the run's files (named relative to `base`), and
        sends the flags `read_flags()` returns (``sparselab-profiler check --json``'s) as summary counts per
        severity and, for the critical ones, alerts. Never raises: a failure prints one warning."""
        if not self.live:
            return
        problems = {}
        for what, step in (("files", lambda: self._save(files, base)), ("flags", lambda: self._send_flags(read_flags()))):
            try:
                step()
            except Exception as error:  # noqa: BLE001 - W&B's share of close must never reach the caller
                problems[what] = f"{type(error).__name__}: {str(error)[:300]}"
        if problems:
            warnings.warn(f"SparseLab Profiler: W&B did not get the run's {' or '.join(problems)} at close "
                          f"({'; '.join(problems.values())}); the run log is complete.", RuntimeWarning, stacklevel=3)

    def _save(self, files: Sequence[Path], base: Path) -> None:
        for path in files:
            self.run.save(glob.escape(str(path)), base_path=str(base), policy="now")

    def _send_flags(self, flags: list[dict]) -> None:
        import wandb

        counts = dict.fromkeys(SEVERITIES, 0)
        for flag in flags:
            counts[flag["severity"]] = counts.get(flag["severity"], 0) + 1
        self.run.summary.update({f"{PREFIX}flags/{severity}": n for severity, n in counts.items()})
        critical = [flag for flag in flags if flag["severity"] == "critical"]
        for flag in critical[:MAX_ALERTS]:
            self.run.alert(title=alert_title(flag), text=alert_text(flag), level=wandb.AlertLevel.ERROR)
        if critical[MAX_ALERTS:]:
            title, text = rest_alert(critical[MAX_ALERTS:])
            self.run.alert(title=title, text=text, level=wandb.AlertLevel.ERROR)

    def _safely(self, fn, *args) -> None:
        if self._broken or self._finished:
            return
        try:
            fn(*args)
        except Exception as error:  # forwarding must never reach the training loop, nor stop the profiler
            self._broken = True
            warnings.warn(f"SparseLab Profiler: forwarding to W&B stopped ({type(error).__name__}: {error}); "
                          "the run log and dashboard are unaffected.", RuntimeWarning, stacklevel=3)

    def _run_step(self) -> int:
        # The client's own counter: reading it costs nothing, while run.step asks the service for it.
        for name in ("_local_step", "_step"):
            value = getattr(self.run, name, None)
            if isinstance(value, int):
                return value
        return int(self.run.step)

    def _forward(self, sample: SampleRecord) -> None:
        self._samples += 1
        if (self._samples - 1) % self.every:
            return
        events = [e for e in self._events if e.step <= sample.step]
        self._events = [e for e in self._events if e.step > sample.step]
        if len(self._queue) >= self._max_pending:
            self._queue.popleft()
            self.left_out += 1
        self._queue.append(wandb_row(sample, events, self.max_layers))
        self._pump()

    def _pump(self) -> None:
        step = self._run_step()
        if self._queue and self._placed_at != step:
            self.run.log(self._queue.popleft(), commit=False)
            self._placed_at = step
            self.forwarded += 1

    def _flush_at_finish(self) -> None:
        self._safely(self._commit_own_rows)
        self._safely(self._warn_left_out)
        self._finished = True

    def _commit_own_rows(self) -> None:
        self._pump()
        while self._queue:
            self.run.log({}, commit=True)  # writes the row holding our previous sample
            self.run.log(self._queue.popleft(), commit=False)
            self.forwarded += 1

    def _close(self) -> None:
        self._pump()
        if self._at_finish:
            return  # what still waits goes at run.finish()
        if self._queue and self._run_step() == self._start_step:
            self._commit_own_rows()  # no user row to shift: W&B's history is ours
        if self._queue:
            self.left_out += len(self._queue)
            self._queue.clear()
        self._warn_left_out()

    def _warn_left_out(self) -> None:
        if self.left_out:
            warnings.warn(f"SparseLab Profiler: {self.left_out} sample(s) were not forwarded to W&B, whose rows "
                          "commit less often than the profiler samples; they are in the run log. Raise `every` "
                          "or log to W&B more often to carry them all.", RuntimeWarning, stacklevel=3)


def alert_title(flag: Mapping[str, Any]) -> str:
    """``SparseLab: <rule> in <layers>`` (the rule alone for a run-wide flag), cut to W&B's limit.

    Example:
        >>> alert_title({"rule": "non-finite-weights", "layers": ["fc1"]})
        'SparseLab: non-finite-weights in fc1'
    """
    rule = flag["rule"] + (f" ({flag['metric']})" if flag.get("metric") else "")
    layers = list(flag.get("layers") or [])
    where = ", ".join(layers[:2]) + (f" and {len(layers) - 2} more" if len(layers) > 2 else "")
    title = f"SparseLab: {rule}" + (f" in {where}" if where else "")
    return title if len(title) <= MAX_TITLE else title[:MAX_TITLE - 1] + "…"


def alert_text(flag: Mapping[str, Any]) -> str:
    """The flag's message, where (steps) and its suggested fix."""
    steps = f"step {flag['to']}" if flag["from"] == flag["to"] else f"steps {flag['from']} to {flag['to']}"
    return f"{flag['message']} ({steps}).\nFix: {flag['fix']}"


def rest_alert(flags: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The title and text of the one alert for the critical flags past `MAX_ALERTS`: each named, up to 50."""
    text = "\n".join(f"{alert_title(flag)[len('SparseLab: '):]}: {flag['message']}" for flag in flags[:50])
    more = f"\n… and {len(flags) - 50} more" if len(flags) > 50 else ""
    return (f"SparseLab: {len(flags)} more critical flags",
            f"{text}{more}\nAll flags: sparselab-profiler check on the run log (records.ndjson).")


def _add_finish_hook(run: Any, call) -> bool:
    """Runs `call` at the start of ``run.finish()``, while the run still takes rows; False where this client has
    no teardown hooks (they are internal to W&B, hence the care)."""
    try:
        from wandb.sdk.wandb_run import TeardownHook, TeardownStage

        hooks = run._teardown_hooks
    except (ImportError, AttributeError):
        return False
    if not isinstance(hooks, list):
        return False
    hooks.append(TeardownHook(call, TeardownStage.EARLY))
    return True
