"""The durable run log: `<logdir>/<run>/records.ndjson`, one record per line, seq == line number."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Optional

from .records import Record, to_json

RECORDS_FILE = "records.ndjson"


class RunLogWriter:
    """Appends each record with one unbuffered write, so a killed process leaves every written record on
    disk and a failed write leaves nothing behind to be flushed again later.

    A write that fails (a full disk, a lost mount) truncates the log back to its last complete line and
    raises; the log then holds exactly the records before it (`complete_records`), and refuses more, so
    seq k stays on line k.
    """

    def __init__(self, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / RECORDS_FILE
        self._fd: Optional[int] = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size
        self.complete_records = 0
        self.failure: Optional[OSError] = None
        self.on_write: Optional[Callable[[], None]] = None  # told after each record, e.g. to wake the sender
        #: time spent encoding and appending records, in milliseconds (a sample's own record is written after
        #: its cost_ms is taken, so this is the part of the profiler's time that cost_ms cannot hold)
        self.write_ms = 0.0

    def write(self, record: Record) -> None:
        if self.failure is not None or self._fd is None:
            raise OSError(f"the run log {self.path} is closed")
        started = time.perf_counter()
        try:
            self._append(record)
        finally:
            self.write_ms += (time.perf_counter() - started) * 1000
        if self.on_write:
            self.on_write()

    def _append(self, record: Record) -> None:
        data = (to_json(record) + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:  # os.write may write part of the line and report how much
                view = view[os.write(self._fd, view):]
        except OSError as error:
            self.failure = error
            try:
                os.ftruncate(self._fd, self._size)  # no torn last line
            except OSError:
                pass
            raise
        self._size += len(data)
        self.complete_records += 1

    def close(self) -> None:
        """Never raises: there is nothing buffered left to write."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
