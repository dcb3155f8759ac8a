import json

import pytest

from conftest import VECTORS
from sparselab_profiler.records import LayerInfo, LayerRecord, RecordError, to_json, validate_record

VALID = [json.loads(line) for line in (VECTORS / "valid.ndjson").read_text().splitlines()]
INVALID = [json.loads(line) for line in (VECTORS / "invalid.ndjson").read_text().splitlines()]


@pytest.mark.parametrize("record", VALID, ids=[r["type"] for r in VALID])
def test_valid_vectors_pass(record):
    validate_record(record)


@pytest.mark.parametrize("vector", INVALID, ids=[v["case"] for v in INVALID])
def test_invalid_vectors_fail_at_the_same_field_as_typescript(vector):
    with pytest.raises(RecordError) as error:
        validate_record(vector["record"])
    assert error.value.path == vector["path"]


def test_a_layer_record_written_by_python_is_the_vector():
    vector = next(r for r in VALID if r["type"] == "layer")
    info = LayerInfo(name="head", shape=[2, 4], numel=8, dtype="bfloat16", format="dense", mask_source="inferred_zeros",
                     aliases=["embed.weight"])
    record = LayerRecord(run=vector["run"], seq=6, step=100, time=1744712101.38, layer="head", info=info,
                         reason="dtype changed (float32 → bfloat16)")
    assert json.loads(to_json(record)) == vector
    gone = LayerRecord(run=vector["run"], seq=6, step=100, time=1.0, layer="head", info=None, reason="module removed")
    assert json.loads(to_json(gone))["info"] is None


def test_reason_counts_code_points_as_typescript_does():
    vector = next(r for r in VALID if r["type"] == "layer")
    validate_record({**vector, "reason": "🧪" * 500})  # 1000 UTF-16 units, 500 characters
    with pytest.raises(RecordError) as error:
        validate_record({**vector, "reason": "🧪" * 501})
    assert (error.value.path, error.value.message) == ("reason", f'expected a non-empty string of at most 500 characters, got "{"🧪" * 40}…"')
