"""`python -m sparselab_profiler serve|export|demo`: the same CLI as the `sparselab-profiler` command."""

import sys

from .cli import main

sys.exit(main())
