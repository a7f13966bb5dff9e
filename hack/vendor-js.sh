#!/usr/bin/env bash
# Installs the dashboard's pinned JavaScript (hack/js/package-lock.json, checked
# against the lock's integrity hashes by npm ci) and copies what the binaries embed
# into internal/graph/dagre/: dagre's browser bundle (graphlib inside) and the
# licenses of both. The copies are committed, so building needs no npm; `make
# vendor-js` runs this when the lock changes, and `hack/verify.sh` (when npm is
# installed) fails if a copy differs from what the lock gives.
#   hack/vendor-js.sh [DEST]   DEST defaults to internal/graph/dagre
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-internal/graph/dagre}
command -v npm >/dev/null || { echo "vendor-js: npm is not installed; install Node.js's npm (Debian: apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp hack/js/package.json hack/js/package-lock.json "$work/"
(cd "$work" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
mkdir -p "$dest"
pkg=$work/node_modules/@dagrejs
cp "$pkg/dagre/dist/dagre.min.js" "$dest/dagre.min.js"
{
  echo "The dashboard and \`kubectl appstack graph -o svg\` embed dagre.min.js: @dagrejs/dagre $(node -p "require('$pkg/dagre/package.json').version" 2>/dev/null || echo) with @dagrejs/graphlib $(node -p "require('$pkg/graphlib/package.json').version" 2>/dev/null || echo) bundled in it."
  echo "Both are under the MIT license:"
  echo
  echo "== @dagrejs/dagre =="; cat "$pkg/dagre/LICENSE"
  echo; echo "== @dagrejs/graphlib =="; cat "$pkg/graphlib/LICENSE"
} >"$dest/LICENSE"
