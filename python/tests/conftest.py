import json
import os
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[2] / "test" / "vectors"

# Tests read run logs; one test turns the automatic HTML report back on to check it.
os.environ["SPARSELAB_PROFILER_REPORT"] = "0"


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def vectors_dir() -> Path:
    return VECTORS
