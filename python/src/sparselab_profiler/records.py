"""Wire records of schema version 1, mirrored from packages/core/src/schema.ts, with their validator."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional, Union

SCHEMA_VERSION = 1
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
StorageFormat = Literal["padded_csr", "dense", "dense_masked", "coo", "csr", "semi_structured_2_4"]
MaskSource = Literal["sparselab", "torch_prune", "parametrization", "rigl_torch", "native_sparse", "inferred_zeros"]
STORAGE_FORMATS: tuple[str, ...] = StorageFormat.__args__
MASK_SOURCES: tuple[str, ...] = MaskSource.__args__

# Size limits of schema v1, mirrored from packages/core/src/schema.ts: the server rejects larger records.
MAX_HISTOGRAM_BINS = 1024  # bins of one layer's histogram
MAX_LAYERS = 100_000  # layers of one run record or sample
MAX_SHAPE_DIMS = 8  # dimensions of one layer's shape
MAX_EVENT_ROWS = 1_000_000  # output rows one topology event may break its count into
MAX_REASON_CHARS = 500  # characters of a layer record's reason
MAX_DEVICE_CHARS = 64  # characters of a layer's device


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


@dataclass
class RunRecord:
    run: str
    name: str
    started: float
    algorithm: Optional[AlgorithmInfo]
    layers: list[LayerInfo]
    sampler: dict[str, int]
    host: str = ""
    profiler: str = ""
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
class EndRecord:
    run: str
    seq: int
    step: int
    time: float
    status: Literal["finished", "crashed", "interrupted"]
    type: Literal["end"] = "end"


Record = Union[RunRecord, SampleRecord, EventRecord, SamplerRecord, LayerRecord, EndRecord]


def _plain(value: Any) -> Any:
    # dataclasses.asdict deep-copies every leaf; our records hold only JSON types, so vars() suffices.
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_json(record: Record) -> str:
    """One NDJSON line (without the newline); NaN or Infinity can never reach the wire."""
    return json.dumps(_plain(record), separators=(",", ":"), allow_nan=False)


class RecordError(ValueError):
    """A record that does not fit schema v1; `path` names the field, as in the TypeScript validator."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# A check raises RecordError for a value that does not fit at `path`.
Check = Callable[[Any, str], None]


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:40] + "…", ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")  # as JavaScript writes them
    return repr(value)


def _number(minimum: float = -math.inf) -> Check:
    def check(v: Any, p: str) -> None:
        is_number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if is_number and not math.isfinite(v):  # 1e999 reads as inf: "≥ 0" would seem to allow it
            raise RecordError(p, f"expected a finite number, got {_describe(v)}")
        if not (is_number and v >= minimum):
            raise RecordError(p, f"expected {'a finite number' if minimum == -math.inf else f'a number ≥ {minimum:g}'}, got {_describe(v)}")
    return check


def _integer(minimum: int = 0) -> Check:
    def check(v: Any, p: str) -> None:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and abs(v) <= 2**53 - 1 and v >= minimum
        if not ok:
            raise RecordError(p, f"expected an integer ≥ {minimum}, got {_describe(v)}")
    return check


def _string(test: Callable[[str], bool] = lambda s: len(s) > 0, what: str = "a non-empty string") -> Check:
    def check(v: Any, p: str) -> None:
        if not (isinstance(v, str) and test(v)):
            raise RecordError(p, f"expected {what}, got {_describe(v)}")
    return check


def _boolean(v: Any, p: str) -> None:
    if not isinstance(v, bool):
        raise RecordError(p, f"expected true or false, got {_describe(v)}")


def _one_of(*allowed: Any) -> Check:
    def check(v: Any, p: str) -> None:
        if isinstance(v, bool) or v not in allowed:
            raise RecordError(p, f"expected one of {', '.join(json.dumps(a) for a in allowed)}, got {_describe(v)}")
    return check


def _nullable(inner: Check) -> Check:
    def check(v: Any, p: str) -> None:
        if v is not None:
            inner(v, p)
    return check


def _text(maximum: int) -> Check:
    # len() counts code points; the TypeScript validator counts the same way, not UTF-16 units
    return _string(lambda s: 0 < len(s) <= maximum, f"a non-empty string of at most {maximum} characters")


def _optional(inner: Check) -> Check:
    """A field that logs of older profilers lack: absent passes, present must fit."""
    def check(v: Any, p: str) -> None:
        inner(v, p)
    check.optional = True  # type: ignore[attr-defined]
    return check


def _array(item: Check, minimum: int = 0, maximum: float = math.inf) -> Check:
    def check(v: Any, p: str) -> None:
        if not isinstance(v, list):
            raise RecordError(p, f"expected an array, got {_describe(v)}")
        if not minimum <= len(v) <= maximum:
            most = "Infinity" if maximum == math.inf else int(maximum)
            raise RecordError(p, f"expected between {minimum} and {most} items, got {len(v)}")
        for i, x in enumerate(v):
            item(x, f"{p}[{i}]")
    return check


def _object(shape: dict[str, Check], refine: Optional[Callable[[dict, str], None]] = None) -> Check:
    def check(v: Any, p: str) -> None:
        if not isinstance(v, dict):
            raise RecordError(p, f"expected an object, got {_describe(v)}")
        for key, inner in shape.items():
            at = f"{p}.{key}" if p else key
            if key not in v:
                if getattr(inner, "optional", False):
                    continue
                raise RecordError(at, "is missing")
            inner(v[key], at)
        for key in v:
            if key not in shape:
                raise RecordError(f"{p}.{key}" if p else key, "is not a field of this record")
        if refine:
            refine(v, p)
    return check


def _params(v: Any, p: str) -> None:
    if not isinstance(v, dict):
        raise RecordError(p, f"expected an object, got {_describe(v)}")
    for key, value in v.items():
        ok = value is None or isinstance(value, (str, bool)) or (isinstance(value, (int, float)) and math.isfinite(value))
        if not ok:
            raise RecordError(f"{p}.{key}", f"expected a number, string, boolean or null, got {_describe(value)}")


def _histogram_refine(h: dict, p: str) -> None:
    if not h["lo"] < h["hi"]:
        raise RecordError(f"{p}.hi", f"must be greater than lo ({h['lo']:g})")


def _layer_sample_refine(layer: dict, p: str) -> None:
    nnz, numel = layer["nnz"], layer["numel"]
    if nnz > numel:
        raise RecordError(f"{p}.nnz", f"must not exceed numel ({numel}), got {nnz}")
    if abs(layer["sparsity"] - (1 - nnz / numel)) > 1e-6:
        raise RecordError(f"{p}.sparsity", f"must equal 1 - nnz/numel ({1 - nnz / numel}), got {layer['sparsity']}")
    counted = sum(layer["hist"]["counts"])
    if counted + layer["nonfinite"] > nnz:
        raise RecordError(f"{p}.hist.counts", f"sum {counted} plus nonfinite exceeds nnz ({nnz})")


def _event_refine(event: dict, p: str) -> None:
    if event["rows"] is not None and sum(event["rows"]) != event["count"]:
        raise RecordError(f"{p}.rows" if p else "rows", f"must add up to count ({event['count']}), got {sum(event['rows'])}")


def _layer_record_refine(record: dict, p: str) -> None:
    info = record["info"]
    if info is not None and info["name"] != record["layer"]:
        raise RecordError(f"{p}.info.name" if p else "info.name", f"must equal layer ({_describe(record['layer'])}), got {_describe(info['name'])}")


_RUN_ID = _string(lambda s: bool(RUN_ID_PATTERN.match(s)) and ".." not in s,
                  'a run id (letters, digits, ".", "_", "-"; at most 128; no "..")')
_HISTOGRAM = _object({"lo": _number(), "hi": _number(), "counts": _array(_integer(0), 1, MAX_HISTOGRAM_BINS)}, _histogram_refine)
_LAYER_SAMPLE = _object(
    {"name": _string(), "nnz": _integer(0), "numel": _integer(1), "sparsity": _number(0), "bytes": _integer(0),
     "dense_bytes": _integer(0), "hist": _HISTOGRAM, "nonfinite": _integer(0)},
    _layer_sample_refine,
)
_LAYER_INFO = _object({
    "name": _string(), "shape": _array(_integer(0), 0, MAX_SHAPE_DIMS), "numel": _integer(1), "dtype": _string(),
    "format": _one_of(*STORAGE_FORMATS), "mask_source": _one_of(*MASK_SOURCES),
    "aliases": _optional(_array(_string(), 0, MAX_LAYERS)), "device": _optional(_text(MAX_DEVICE_CHARS)),
})
_CHECKS: dict[str, Check] = {
    "run": _object({
        "type": _one_of("run"), "run": _RUN_ID, "seq": _one_of(0), "name": _string(), "started": _number(0),
        "schema": _one_of(SCHEMA_VERSION), "host": _string(), "profiler": _string(),
        "algorithm": _nullable(_object({"name": _string(), "params": _params})),
        "layers": _array(_LAYER_INFO, 0, MAX_LAYERS),
        "sampler": _object({"every": _integer(1)}),
    }),
    "sample": _object({
        "type": _one_of("sample"), "run": _RUN_ID, "seq": _integer(1), "step": _integer(0), "time": _number(0),
        "layers": _array(_LAYER_SAMPLE, 0, MAX_LAYERS), "cost_ms": _number(0), "step_ms": _nullable(_number(0)),
    }),
    "event": _object({
        "type": _one_of("event"), "run": _RUN_ID, "seq": _integer(1), "step": _integer(0), "time": _number(0),
        "layer": _string(), "op": _one_of("drop", "grow"), "count": _integer(0), "exact": _boolean,
        "algorithm": _string(), "requested": _nullable(_integer(0)), "rows": _nullable(_array(_integer(0), 0, MAX_EVENT_ROWS)),
    }, _event_refine),
    "sampler": _object({
        "type": _one_of("sampler"), "run": _RUN_ID, "seq": _integer(1), "step": _integer(0), "time": _number(0),
        "every": _integer(1), "overhead": _number(0),
    }),
    "layer": _object({
        "type": _one_of("layer"), "run": _RUN_ID, "seq": _integer(1), "step": _integer(0), "time": _number(0),
        "layer": _string(), "info": _nullable(_LAYER_INFO), "reason": _text(MAX_REASON_CHARS),
    }, _layer_record_refine),
    "end": _object({
        "type": _one_of("end"), "run": _RUN_ID, "seq": _integer(1), "step": _integer(0), "time": _number(0),
        "status": _one_of("finished", "crashed", "interrupted"),
    }),
}


def validate_record(value: Any) -> None:
    """Raises RecordError naming the first field of `value` that does not fit schema v1."""
    if not isinstance(value, dict):
        raise RecordError("", f"expected a JSON object, got {_describe(value)}")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in _CHECKS:
        raise RecordError("type", f"expected one of {', '.join(json.dumps(k) for k in _CHECKS)}, got {_describe(kind)}")
    if "schema" in value and value["schema"] != SCHEMA_VERSION:
        raise RecordError("schema", f"unsupported schema version {_describe(value['schema'])}; this profiler speaks {SCHEMA_VERSION}")
    _CHECKS[kind](value, "")
