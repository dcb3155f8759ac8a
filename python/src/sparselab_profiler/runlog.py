"""The durable run log: `<logdir>/<run>/records.ndjson`, one record per line, seq == line number."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from .records import Record, to_json

RECORDS_FILE = "records.ndjson"


class RunLogWriter:
    """Appends records and flushes each one, so a killed process leaves every written record on disk."""

    def __init__(self, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / RECORDS_FILE
        self._file = open(self.path, "a", encoding="utf-8")
        self.on_write: Optional[Callable[[], None]] = None  # told after each record, e.g. to wake the sender

    def write(self, record: Record) -> None:
        self._file.write(to_json(record) + "\n")
        self._file.flush()
        if self.on_write:
            self.on_write()

    def close(self) -> None:
        self._file.close()
