import json

import pytest

from conftest import VECTORS
from sparselab_profiler.records import RecordError, validate_record

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
