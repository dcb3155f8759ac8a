import json

import pytest

from conftest import INVALID_VECTORS, VALID_LINES
from sparselab_profiler import records
from sparselab_profiler.records import LayerInfo, LayerRecord, to_json
from wire_schema import SCHEMA, RecordError, validate_record

VALID = [json.loads(line) for line in VALID_LINES]


@pytest.mark.parametrize("record", VALID, ids=[r["type"] for r in VALID])
def test_valid_vectors_pass(record):
    validate_record(record)


@pytest.mark.parametrize("vector", INVALID_VECTORS, ids=[v["case"] for v in INVALID_VECTORS])
def test_invalid_vectors_fail_at_the_same_field_as_typescript(vector):
    with pytest.raises(RecordError) as error:
        validate_record(vector["record"])
    assert error.value.path == vector["path"]


def test_a_layer_record_written_by_python_is_the_vector(valid_records):
    vector = next(r for r in valid_records if r["type"] == "layer")
    info = LayerInfo(name="head", shape=[2, 4], numel=8, dtype="bfloat16", format="dense", mask_source="inferred_zeros",
                     aliases=["embed.weight"])
    record = LayerRecord(run=vector["run"], seq=6, step=100, time=1744712101.38, layer="head", info=info,
                         reason="dtype changed (float32 → bfloat16)")
    assert json.loads(to_json(record)) == vector
    gone = LayerRecord(run=vector["run"], seq=6, step=100, time=1.0, layer="head", info=None, reason="module removed")
    assert json.loads(to_json(gone))["info"] is None


def test_reason_counts_code_points_as_typescript_does(valid_records):
    vector = next(r for r in valid_records if r["type"] == "layer")
    validate_record({**vector, "reason": "🧪" * 500})  # 1000 UTF-16 units, 500 characters
    with pytest.raises(RecordError) as error:
        validate_record({**vector, "reason": "🧪" * 501})
    assert (error.value.path, error.value.keyword) == ("reason", "maxLength")


def test_the_limits_python_writes_within_are_the_schemas():
    run, sample, info = (SCHEMA["$defs"][name]["properties"] for name in ("RunRecord", "SampleRecord", "LayerInfo"))
    assert SCHEMA["$defs"]["Histogram"]["properties"]["counts"]["maxItems"] == records.MAX_HISTOGRAM_BINS == 1024
    assert run["layers"]["maxItems"] == sample["layers"]["maxItems"] == records.MAX_LAYERS
    assert info["shape"]["maxItems"] == records.MAX_SHAPE_DIMS
    assert SCHEMA["$defs"]["EventRecord"]["properties"]["rows"]["anyOf"][0]["maxItems"] == records.MAX_EVENT_ROWS
    assert SCHEMA["$defs"]["LayerRecord"]["properties"]["reason"]["maxLength"] == records.MAX_REASON_CHARS
    assert info["device"]["maxLength"] == records.MAX_DEVICE_CHARS
    assert info["format"]["enum"] == list(records.STORAGE_FORMATS)
    assert info["mask_source"]["enum"] == list(records.MASK_SOURCES)
    assert run["schema"]["const"] == records.SCHEMA_VERSION


def test_the_flag_thresholds_python_checks_are_the_schemas():
    declared = SCHEMA["$defs"]["FlagThresholds"]["properties"]
    kinds = {int: "integer", float: "number"}
    assert {name: (kinds[kind], least) for name, (kind, least) in records.FLAG_THRESHOLDS.items()} == \
        {name: (spec["type"], spec["minimum"]) for name, spec in declared.items()}
