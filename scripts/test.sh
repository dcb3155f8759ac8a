#!/usr/bin/env bash
# Every test: TypeScript unit tests, Python tests, then end-to-end and real-browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
echo "== Type checks"
npx turbo run typecheck --output-logs=errors-only
echo "== TypeScript unit tests"
npx vitest run --project unit
echo "== Python tests"
.venv/bin/python -m pytest python/tests
echo "== End-to-end and browser tests"
npx vitest run --project e2e
