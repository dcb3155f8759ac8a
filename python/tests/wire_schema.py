"""Validates wire records as the server does: through test/vectors/wire.schema.json, which is generated from
core's schema (`npm run schema`), then by the cross-field rules JSON Schema cannot state, written again here
from packages/core/src/crossFieldRules.ts. Only tests validate records: the package needs no jsonschema."""

from __future__ import annotations

import json
from typing import Any, Optional

from jsonschema import Draft202012Validator, ValidationError

from conftest import VECTORS

SCHEMA: dict = json.loads((VECTORS / "wire.schema.json").read_text())
_VALIDATOR = Draft202012Validator(SCHEMA)

Path = list  # of str keys and int indices, as jsonschema gives them


class RecordError(ValueError):
    """A record that does not fit schema v1; `path` names the field as the TypeScript validator does
    (`layers[1].aliases[0]`), and `keyword` is the JSON Schema keyword that failed (None for a cross-field rule)."""

    def __init__(self, path: str, message: str, keyword: Optional[str] = None):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
        self.keyword = keyword


def format_path(path: Path) -> str:
    """`["layers", 1, "aliases", 0]` → `layers[1].aliases[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _describe(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _cause(error: ValidationError) -> ValidationError:
    # anyOf (a nullable field, a parameter value): a branch that failed on the value's type alone is the wrong
    # branch, not the reason; descend into the one that got further, if any did.
    further = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
    return _cause(further[0]) if further else error


def _schema_error(error: ValidationError) -> RecordError:
    error = _cause(error)
    path, message = list(error.absolute_path), error.message
    # These keywords fail at the object; the TypeScript validator names the field itself.
    if error.validator == "required":
        path.append(next(key for key in error.validator_value if key not in error.instance))
        message = "is missing"
    elif error.validator == "additionalProperties" and error.validator_value is False:
        path.append(next(key for key in error.instance if key not in error.schema.get("properties", {})))
        message = "is not a field of this record"
    return RecordError(format_path(path), message, str(error.validator))


# The cross-field rules, as in packages/core/src/crossFieldRules.ts: each takes an object whose fields fit the
# schema and returns where, relative to it, and why it fails, or None.
Failure = Optional[tuple[Path, str]]


def _histogram_range(h: dict) -> Failure:
    return None if h["lo"] < h["hi"] else (["hi"], f"must be greater than lo ({h['lo']:g})")


def _layer_sample_counts(layer: dict) -> Failure:
    nnz, numel = layer["nnz"], layer["numel"]
    if nnz > numel:
        return ["nnz"], f"must not exceed numel ({numel}), got {nnz}"
    if abs(layer["sparsity"] - (1 - nnz / numel)) > 1e-6:
        return ["sparsity"], f"must equal 1 - nnz/numel ({1 - nnz / numel}), got {layer['sparsity']}"
    counted = sum(layer["hist"]["counts"])
    if counted + layer["nonfinite"] > nnz:
        return ["hist", "counts"], f"sum {counted} plus nonfinite exceeds nnz ({nnz})"
    return None


def _event_rows(event: dict) -> Failure:
    rows = event["rows"]
    if rows is None or sum(rows) == event["count"]:
        return None
    return ["rows"], f"must add up to count ({event['count']}), got {sum(rows)}"


def _layer_record_info(record: dict) -> Failure:
    info = record["info"]
    if info is None or info["name"] == record["layer"]:
        return None
    return ["info", "name"], f"must equal layer ({_describe(record['layer'])}), got {_describe(info['name'])}"


def _cross_field_failure(record: dict) -> Failure:
    """The first cross-field rule the record breaks, in the order the TypeScript validator meets them."""
    if record["type"] == "sample":
        for i, layer in enumerate(record["layers"]):
            for at, failure in ((["hist"], _histogram_range(layer["hist"])), ([], _layer_sample_counts(layer))):
                if failure:
                    return ["layers", i, *at, *failure[0]], failure[1]
    if record["type"] == "event":
        return _event_rows(record)
    if record["type"] == "layer":
        return _layer_record_info(record)
    return None


def validate_record(value: Any) -> None:
    """Raises RecordError naming the field of `value` that does not fit schema v1."""
    error = next(_VALIDATOR.iter_errors(value), None)
    if error is not None:
        raise _schema_error(error)
    failure = _cross_field_failure(value)
    if failure:
        raise RecordError(format_path(failure[0]), failure[1])
