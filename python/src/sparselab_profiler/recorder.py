"""RunRecorder: one run's identity and where its records go — the run log, the dashboard server, the report."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from pathlib import Path
from typing import Optional

from .notebook import in_notebook, show_dashboard
from .records import Record
from .runlog import RunLogWriter
from .sender import LogSender
from .server_launcher import CliNotFound, ensure_server, locate_cli, wait_until_answering


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "run"


class RunRecorder:
    """Numbers each record (seq k is line k of `<logdir>/<run>/records.ndjson`), appends it to the run log
    and, with a `server`, streams the log there (starting a loopback server when none answers).

    `write` raises only when the run log cannot be written (then `lost_after()` says where it stops);
    `close` never raises.

    Example:
        >>> recorder = RunRecorder(name="resnet-set", logdir=Path("./sparsity_runs"), server="http://127.0.0.1:8080")
        >>> recorder.write(run_record); recorder.start(); ...; recorder.close(); recorder.write_report()
    """

    def __init__(self, *, name: str, logdir: Path, server: Optional[str]):
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(name)}-{secrets.token_hex(2)}"
        self.logdir = logdir
        self.server = server
        self.server_pid: Optional[int] = None  # set when the server was started here
        self._log = RunLogWriter(logdir / self.run_id)
        self._sender: Optional[LogSender] = None
        self._server_answers = False
        self._seq = 0
        self._last_step = 0  # step of the last record the log holds
        if server:
            self._server_answers, self.server_pid = ensure_server(server, logdir)
            self._sender = LogSender(f"{server}/api/ingest", self.run_id, self._log.path, quiet_s=10.0 if self.server_pid else 0.0)
            self._log.on_write = self._sender.notify

    @property
    def log_path(self) -> Path:
        return self._log.path

    @property
    def dashboard_url(self) -> Optional[str]:
        return f"{self.server}/?run={self.run_id}" if self.server else None

    @property
    def log_failed(self) -> bool:
        return self._log.failure is not None

    @property
    def write_ms(self) -> float:
        """Time spent encoding and appending records to the run log so far, in milliseconds."""
        return self._log.write_ms

    def write(self, record: Record) -> None:
        """Gives `record` the next seq and appends it to the run log."""
        record.seq = self._seq
        self._log.write(record)
        self._seq += 1
        self._last_step = getattr(record, "step", 0)

    def start(self) -> None:
        """Starts streaming to the server; prints the dashboard URL when something will answer there."""
        if self._sender is None:
            return
        self._sender.start()
        if self._server_answers or self.server_pid:  # never a URL where nothing will answer
            print(f"SparseLab Profiler: dashboard {self.dashboard_url}", flush=True)
            if in_notebook():
                if self.server_pid:  # a frame loaded before the new server listens would show an error page
                    wait_until_answering(self.server, timeout_s=5.0)
                show_dashboard(self.dashboard_url)

    def lost_after(self) -> str:
        """Where the run log stops, once a write failed."""
        written = self._log.complete_records
        if not written:
            return f"{self._log.path} holds nothing"
        return f"{self._log.path} holds records 0 to {written - 1}, up to step {self._last_step}; what came after was lost"

    def close(self) -> None:
        """Waits briefly for the server to have every record (saying what did not arrive) and closes the log."""
        sender, self._sender = self._sender, None
        try:
            if sender is not None and not sender.close(timeout_s=5.0):
                self._say_undelivered(sender)
        finally:
            self._log.close()

    def _say_undelivered(self, sender: LogSender) -> None:
        where = f"the run log {self.log_path} has them all" if not self.log_failed else f"see {self.log_path}"
        if not sender.answered:
            print(f"SparseLab Profiler: the server at {self.server} never answered; none of the {sender.undelivered} records "
                  f"reached it ({where}). View the run with: sparselab-profiler serve --logdir {self.logdir}", flush=True)
        else:
            print(f"SparseLab Profiler: {sender.undelivered} records did not reach {self.server}; {where}.", flush=True)

    def write_report(self) -> None:
        """Writes `<logdir>/<run>/report.html` with the CLI, or says how to make it."""
        run_dir = self.log_path.parent
        try:
            cli = locate_cli()
        except CliNotFound as problem:
            print(f"SparseLab Profiler: run recorded in {run_dir}; no report, as {problem}. "
                  f"Then make it with: sparselab-profiler export {run_dir}")
            return
        target = run_dir / "report.html"
        done = subprocess.run([*cli, "export", str(run_dir), "-o", str(target)], capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            print(f"SparseLab Profiler: report {target}", flush=True)
        else:
            print(f"SparseLab Profiler: could not write the report ({done.stderr.strip()[:300]}); the run log {self.log_path} is complete.")

    def read_flags(self) -> list[dict]:
        """The run's flags, as `sparselab-profiler check <run dir> --json` gives them (the CLI of the report).
        Raises `CliNotFound` where the CLI cannot run here, RuntimeError when check cannot read the run."""
        run_dir = self.log_path.parent
        done = subprocess.run([*locate_cli(), "check", str(run_dir), "--json", "--fail-on", "never"],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"sparselab-profiler check exited {done.returncode}: {done.stderr.strip()[:300]}")
        return json.loads(done.stdout)["flags"]
