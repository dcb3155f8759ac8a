#!/usr/bin/env bash
# The demo: real SparseLab RigL training on the digits data, streamed to the live dashboard at
# http://127.0.0.1:8080/, ending with an exported one-file report beside the run log.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec node_modules/.bin/sparselab-profiler demo --python .venv/bin/python --step-delay "${STEP_DELAY:-0.01}" "$@"
