#!/usr/bin/env bash
# The build's version, from VERSION and git, for the link-time stamps of
# internal/version (make build, make release, hack/images.sh).
#
#   hack/version.sh           0.1.0
#   hack/version.sh ldflags   -X …/internal/version.Version=0.1.0 -X ….Commit=abc1234 -X ….Date=…
#
# Commit is the short hash, with "-dirty" when tracked files differ from it; Date is
# the commit's date (not the build's), so the same commit builds the same bytes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(tr -d ' \n' <"$ROOT/VERSION")
commit=unknown date=unknown
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  commit=$(git -C "$ROOT" rev-parse --short=12 HEAD)
  git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || commit+=-dirty
  date=$(TZ=UTC git -C "$ROOT" show -s --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ HEAD)
fi
case "${1:-}" in
  "") echo "$version" ;;
  ldflags)
    p=github.com/appstack-dev/appstack-operator/internal/version
    echo "-X $p.Version=$version -X $p.Commit=$commit -X $p.Date=$date"
    ;;
  *) echo "usage: $0 [ldflags]" >&2; exit 2 ;;
esac
