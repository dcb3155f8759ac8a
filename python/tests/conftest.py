import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[2] / "test" / "vectors"


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def vectors_dir() -> Path:
    return VECTORS
