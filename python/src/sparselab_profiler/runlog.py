"""The durable run log: `<logdir>/<run>/records.ndjson`, one record per line, seq == line number."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from .records import Record, to_json

RECORDS_FILE = "records.ndjson"


class RunLogWriter:
    """Appends records and flushes each one, so a killed process leaves every written record on disk."""

    def __init__(self, run_dir: Path, on_write: Optional[Callable[[], None]] = None):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / RECORDS_FILE
        self._file = open(self.path, "a", encoding="utf-8")
        self._on_write = on_write

    def write(self, record: Record) -> None:
        self._file.write(to_json(record) + "\n")
        self._file.flush()
        if self._on_write:
            self._on_write()

    def close(self) -> None:
        self._file.close()
