#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: npm packages, TypeScript build, Python venv with torch +
# sparselab, and (with --browser) Debian's chromium for the real-browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/turbo ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  # Exactly what the lockfile pins; it lists every platform's optional packages (vite's Windows-only
  # one too), so a fresh clone's install leaves package-lock.json as it is.
  npm ci --no-audit --no-fund
fi
echo "setup: building TypeScript packages"
npx turbo run build --output-logs=errors-only

# The venv is rebuilt only when python/pyproject.toml changes; pip's cache makes a rebuild cheap.
stamp=".venv/.installed-$(sha1sum python/pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: creating the Python venv in .venv (torch, sparselab, lightning, transformers, scikit-learn, pytest:"
  echo "       a few minutes and about 1 GB the first time; pip lists each package below)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  # Only what is being fetched and installed, not pip's pages of "already satisfied"; a pip failure still fails (pipefail).
  .venv/bin/python -m pip install -e "python[test]" | { grep -E --line-buffered '^(Collecting|Installing|Successfully)' || true; }
  rm -f .venv/.installed-* && touch "$stamp"
fi

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
