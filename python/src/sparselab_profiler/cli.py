"""`sparselab-profiler serve|export|demo` for pip users: the one-file CLI this package ships, run by the
Node.js found here (see `server_launcher.locate_cli`), so nobody needs npm.

    sparselab-profiler serve --logdir ./sparsity_runs        # also: python -m sparselab_profiler serve
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

from .server_launcher import CliNotFound, locate_cli


def main(argv: Optional[list[str]] = None) -> int:
    """Runs the CLI with `argv` (default: this process's arguments) and returns its exit code.

    On POSIX Node replaces this process, so Ctrl-C, SIGTERM and the exit code are the server's own.

    Example:
        >>> main(["export", "sparsity_runs/<run>", "-o", "report.html"])
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        command = [*locate_cli(), *args]
    except CliNotFound as problem:
        print(f"sparselab-profiler: {problem}", file=sys.stderr)
        return 1
    # `demo` trains in a Python of its own: this one, which has this package and torch, unless told otherwise.
    env = {**os.environ, "SPARSELAB_PROFILER_PYTHON": os.environ.get("SPARSELAB_PROFILER_PYTHON", sys.executable)}
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execvpe(command[0], command, env)
        except OSError as error:
            print(f"sparselab-profiler: cannot run {command[0]} ({error.strerror})", file=sys.stderr)
            return 127
    # Windows has no exec: Ctrl-C reaches the whole console, Node included, so wait for it to finish.
    with subprocess.Popen(command, env=env) as child:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue
