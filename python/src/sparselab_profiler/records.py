"""Wire records of schema version 1, as packages/core/src/schema.ts declares them: the types the profiler writes.

The tests validate what it writes through test/vectors/wire.schema.json, generated from that schema."""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

SCHEMA_VERSION = 1
StorageFormat = Literal["padded_csr", "dense", "dense_masked", "coo", "csr", "semi_structured_2_4"]
MaskSource = Literal["sparselab", "torch_prune", "parametrization", "rigl_torch", "native_sparse", "inferred_zeros"]
STORAGE_FORMATS: tuple[str, ...] = StorageFormat.__args__
MASK_SOURCES: tuple[str, ...] = MaskSource.__args__

# Size limits of schema v1, as in packages/core/src/schema.ts (tests/test_vectors.py checks them against the
# generated JSON Schema): the server rejects larger records.
MAX_HISTOGRAM_BINS = 1024  # bins of one layer's histogram
MAX_LAYERS = 100_000  # layers of one run record or sample
MAX_SHAPE_DIMS = 8  # dimensions of one layer's shape
MAX_EVENT_ROWS = 1_000_000  # output rows one topology event may break its count into
MAX_REASON_CHARS = 500  # characters of a layer record's reason
MAX_DEVICE_CHARS = 64  # characters of a layer's device
MAX_SCALARS = 64  # training scalars (loss, accuracy, …) of one sample
MAX_SCALAR_NAME_CHARS = 64  # characters of a training scalar's name, and of a plugin metric's
MAX_METRICS = 16  # user-defined per-layer metrics ("plugin metrics") of one layer sample

#: The flag thresholds a run may set (FlagThresholds in packages/core/src/flags.ts documents each and its default):
#: name → (type, least value), as the schema declares them.
FLAG_THRESHOLDS: dict[str, tuple[type, float]] = {
    "drift": (float, 0), "collapse": (float, 0), "offTarget": (float, 0), "offTargetSamples": (int, 1),
    "offOthers": (float, 0), "magnitudeFactor": (float, 1), "magnitudeWindow": (int, 2), "imbalance": (float, 0),
    "churnUpdates": (int, 1), "churnSettled": (float, 0), "intervalFactor": (float, 1), "deadAbs": (float, 0),
    "padding": (float, 0), "stallUpdates": (int, 1), "stallShare": (float, 0), "splitShare": (float, 0),
}


@dataclass
class LayerInfo:
    name: str
    shape: list[int]
    numel: int
    dtype: str
    format: StorageFormat
    mask_source: MaskSource
    #: other module paths that share this exact weight storage: tied weights are profiled once, under `name`
    aliases: list[str] = field(default_factory=list)
    #: where the weight lives, e.g. "cpu" or "cuda:0"
    device: str = "cpu"


@dataclass
class AlgorithmInfo:
    name: str
    params: dict[str, Union[int, float, str, bool, None]] = field(default_factory=dict)


@dataclass
class Histogram:
    """Counts of non-zero finite values in equal bins over [lo, hi]; the last bin includes hi."""

    lo: float
    hi: float
    counts: list[int]


@dataclass
class LayerSample:
    name: str
    nnz: int
    numel: int
    sparsity: float
    bytes: int
    dense_bytes: int
    hist: Histogram
    nonfinite: int
    #: the user-defined per-layer metrics (plugin_metrics.py): name → value, None where the function returned
    #: NaN or ±Inf; left out of the record when none are registered or none succeeded
    metrics: Optional[dict[str, Optional[float]]] = None
    #: positions active at any sample or hooked topology update since the layer's first sample (or storage
    #: change): the in-time over-parameterization rate is active_ever / numel. Layers with a declared mask only
    active_ever: Optional[int] = None
    #: positions whose active state differs from the layer's previous sample (|previous XOR now|); left out at
    #: its first sample. Mask distance = mask_changed / (previous nnz + nnz)
    mask_changed: Optional[int] = None
    #: the largest |w| among the layer's finite stored values (0.0 when there are none)
    absmax: Optional[float] = None
    #: slots a padded format (Padded-CSR) allocated, live or padding
    capacity: Optional[int] = None


@dataclass
class RunRecord:
    run: str
    name: str
    started: float
    algorithm: Optional[AlgorithmInfo]
    layers: list[LayerInfo]
    #: {"every": the configured interval, "budget": the overhead budget fraction, None when `every` stays fixed}
    sampler: dict[str, Optional[Union[int, float]]]
    host: str = ""
    profiler: str = ""
    #: the run's own flag thresholds over the defaults (FLAG_THRESHOLDS); None: the defaults
    flag_thresholds: Optional[dict[str, Union[int, float]]] = None
    seq: int = 0
    schema: int = SCHEMA_VERSION
    type: Literal["run"] = "run"


@dataclass
class SampleRecord:
    run: str
    seq: int
    step: int
    time: float
    layers: list[LayerSample]
    cost_ms: float
    step_ms: Optional[float]
    #: name → mean of the values passed to step() since the previous sample, None where one was NaN or ±Inf;
    #: left out of the record when none were passed
    scalars: Optional[dict[str, Optional[float]]] = None
    type: Literal["sample"] = "sample"


@dataclass
class EventRecord:
    run: str
    seq: int
    step: int
    time: float
    layer: str
    op: Literal["drop", "grow"]
    count: int
    exact: bool
    algorithm: str
    requested: Optional[int]
    #: how many of `count` fell in each output row, when the algorithm is hooked per position
    rows: Optional[list[int]] = None
    #: grow events: how many of `count` the layer's previous drop (hooked update, or sample-to-sample diff for
    #: inferred events) had removed; left out where that drop is unknown
    regrown: Optional[int] = None
    type: Literal["event"] = "event"


@dataclass
class SamplerRecord:
    """The adaptive sampler changed the interval: one sample every `every` steps from `step` on."""

    run: str
    seq: int
    step: int
    time: float
    every: int
    overhead: float
    type: Literal["sampler"] = "sampler"


@dataclass
class LayerRecord:
    """A profiled layer's storage changed under the profiler: from `step` on, `info` describes it, or it is
    no longer profiled (`info` None: it left the model). A layer the run record did not list is added."""

    run: str
    seq: int
    step: int
    time: float
    layer: str
    info: Optional[LayerInfo]
    #: why, for people, e.g. "mask removed (torch_prune → inferred_zeros)"
    reason: str
    type: Literal["layer"] = "layer"


@dataclass
class MetricRecord:
    """Declares a plugin metric and its limits: a layer's value above `warn_above` or below `warn_below` is flagged."""

    run: str
    seq: int
    step: int
    time: float
    name: str
    warn_above: Optional[float]
    warn_below: Optional[float]
    type: Literal["metric"] = "metric"


@dataclass
class EndRecord:
    run: str
    seq: int
    step: int
    time: float
    status: Literal["finished", "crashed", "interrupted"]
    type: Literal["end"] = "end"


Record = Union[RunRecord, SampleRecord, EventRecord, SamplerRecord, LayerRecord, MetricRecord, EndRecord]


# Optional fields of schema v1 that are absent, not null, while None.
_ABSENT_WHEN_NONE = frozenset({"flag_thresholds", "scalars", "metrics", "active_ever", "mask_changed", "absmax",
                               "capacity", "regrown"})


_LEAF = (str, int, float, bool, type(None), dict)


def _plain(value: Any) -> Any:
    # dataclasses.asdict deep-copies every leaf; our records hold only JSON types, so vars() suffices. Leaves
    # and lists of leaves (histogram counts, shapes, rows: a list holds one kind) are passed as they are: a call
    # per histogram count made most of a 1,000-layer sample's encoding.
    if isinstance(value, _LEAF):
        return value
    if isinstance(value, list):
        return value if not value or isinstance(value[0], _LEAF) else [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: v if isinstance(v, _LEAF) else _plain(v) for k, v in vars(value).items()
                if v is not None or k not in _ABSENT_WHEN_NONE}
    return value


class gc_paused:
    """No cyclic garbage collection inside: a sample's thousands of short-lived objects (a 1,000-layer sample
    makes ~10 per layer) are freed by reference counting, but while they live each 700 allocations trigger a
    collection, which promotes them to older generations until a full collection walks the whole heap (the
    model, torch, the user's objects): ~160 ms on a 1,000-layer model, every few samples. Leaves a GC that
    the program turned off as it was. A class, not a generator: entered a few times a sample, with caches a
    training step left cold, contextlib's machinery cost ~15 us a time."""

    __slots__ = ("_enabled",)

    def __enter__(self) -> None:
        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            gc.enable()


#: one encoder for every record (json.dumps builds one per call); `_plain` makes a fresh tree, never a cycle
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False)


def to_json(record: Record) -> str:
    """One NDJSON line (without the newline); NaN or Infinity can never reach the wire."""
    with gc_paused():  # the plain dicts of a large sample live only until the encoding returns
        return _ENCODER.encode(_plain(record))
