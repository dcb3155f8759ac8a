#!/usr/bin/env bash
# Release artifacts. The one version of a release is the CLI's, `version` in
# packages/sparselab-profiler/package.json, which `changeset version` bumps from .changeset/*.md; the
# Python distribution takes it over (python/pyproject.toml `version`, `__version__` in the package).
#
#   scripts/release.sh --dry-run   every artifact into dist/: the six npm tarballs and the wheel and sdist,
#                                  versioned as the pending changesets say, in a temporary copy of the
#                                  working tree (the repository is left as it is, apart from builds)
#   scripts/release.sh --version   version the repository itself: `changeset version`, the Python version
#                                  set to the CLI's, and package-lock.json's copies of the workspace
#                                  versions brought along, so `npm ci` stays exact (commit the result)
#
# Publishing is not set up here: with no option the script refuses.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

PACKAGES=(core runlog export server-hono dashboard-preact wandb-adapter sparselab-profiler)

# Runs `changeset version` in $1 and writes the CLI's new version into $1's Python distribution.
version_packages() {
  (cd "$1" && "$repo/node_modules/.bin/changeset" version)
  local version
  version=$(node -p "require('$1/packages/sparselab-profiler/package.json').version")
  set_line "$1/python/pyproject.toml" '^version = "[^"]*"$' "version = \"$version\""
  set_line "$1/python/src/sparselab_profiler/__init__.py" '^__version__ = "[^"]*"$' "__version__ = \"$version\""
  echo "release: version $version"
}

# Replaces the one line of $1 matching the extended regex $2 by $3; fails unless exactly one matches.
set_line() {
  local count
  count=$(grep -cE "$2" "$1" || true)
  if [ "$count" != 1 ]; then
    echo "release: expected one line matching $2 in $1, found $count" >&2
    exit 1
  fi
  sed -i -E "s|$2|$3|" "$1"
}

case "${1:-}" in
  --version)
    version_packages "$repo"
    npm install --package-lock-only --no-audit --no-fund
    exit 0
    ;;
  --dry-run) ;;
  *)
    echo "release: publishing is not set up here. scripts/release.sh --dry-run builds every artifact into dist/;" >&2
    echo "release: scripts/release.sh --version versions the repository." >&2
    exit 2
    ;;
esac

if [ ! -x .venv/bin/python ] || [ ! -x node_modules/.bin/changeset ]; then
  echo "release: run ./scripts/setup.sh first (node_modules and the Python venv)" >&2
  exit 1
fi

echo "release: building the packages (dist/ of each, and the one-file CLI the wheel ships)"
npx turbo run build --output-logs=errors-only

stage=$(mktemp -d "${TMPDIR:-/tmp}/slp-release-XXXXXX")
trap 'rm -rf "$stage"' EXIT
# The working tree as git sees it (tracked and new files, nothing ignored), plus the builds.
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$stage" -xf -
tar -cf - packages/*/dist packages/sparselab-profiler/dist-bundle | tar -C "$stage" -xf -
version_packages "$stage"
version=$(node -p "require('$stage/packages/sparselab-profiler/package.json').version")

rm -rf dist
mkdir dist
echo "release: npm tarballs"
(cd "$stage" && npm pack --silent "${PACKAGES[@]/#/--workspace=packages/}" --pack-destination "$repo/dist" >/dev/null)

echo "release: Python sdist, then the wheel built from it"
# setuptools' own PEP 517 hooks with the venv's setuptools: `python -m build` would fetch another
# setuptools into an isolated environment on every run.
(cd "$stage/python" && "$repo/.venv/bin/python" -c 'import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])' "$repo/dist" >/dev/null)
.venv/bin/python -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w dist "dist/sparselab_profiler-$version.tar.gz"

# Every artifact names the release's version and carries the LICENSE.
.venv/bin/python - "$version" "${PACKAGES[@]}" <<'EOF'
import json, sys, tarfile, zipfile
from pathlib import Path

version, packages = sys.argv[1], sys.argv[2:]
license_text = Path("LICENSE").read_text()
dist = Path("dist")
artifacts = {}
for folder in packages:
    name = "sparselab-profiler" if folder == "sparselab-profiler" else f"sparselab-profiler-{folder}"
    [tarball] = dist.glob(f"{name}-[0-9]*.tgz")
    with tarfile.open(tarball) as archive:
        manifest = json.load(archive.extractfile("package/package.json"))
        artifacts[tarball] = archive.extractfile("package/LICENSE").read().decode()
    if folder == "sparselab-profiler" and manifest["version"] != version:
        sys.exit(f"release: {tarball.name} is version {manifest['version']}, not {version}")
sdist = dist / f"sparselab_profiler-{version}.tar.gz"
with tarfile.open(sdist) as archive:
    artifacts[sdist] = archive.extractfile(f"sparselab_profiler-{version}/LICENSE").read().decode()
[wheel] = dist.glob(f"sparselab_profiler-{version}-*.whl")
with zipfile.ZipFile(wheel) as archive:
    artifacts[wheel] = archive.read(f"sparselab_profiler-{version}.dist-info/licenses/LICENSE").decode()
for path, text in artifacts.items():
    if text != license_text:
        sys.exit(f"release: {path.name} carries another LICENSE")
    print(f"  {path.name:<52} {path.stat().st_size:>9} bytes")
EOF
echo "release: dry run done: version $version, every artifact in dist/ (nothing published)"
