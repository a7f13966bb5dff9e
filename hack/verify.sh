#!/usr/bin/env bash
# Fails when a generated file (CRD, ClusterRole, DeepCopy, and the chart's copies of
# those, of the admission policy and of the Argo CD health rule) differs from what
# `make manifests generate` makes from the code and config/, or when Go code is not
# gofmt-ed. It compares the working tree before and after generating, so it works
# with uncommitted changes too.
# Also fails when a file that names the release disagrees with VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
generated=(config/crd/bases config/rbac/role.yaml api/v1alpha1/zz_generated.deepcopy.go docs/api.md charts/appstack-operator/files)
before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
for f in "${generated[@]}"; do
  mkdir -p "$before/$(dirname "$f")"
  [[ -e $f ]] && cp -r "$f" "$before/$f"
done
make --no-print-directory -s manifests generate >/dev/null
stale=0
for f in "${generated[@]}"; do
  if ! diff -r "$before/$f" "$f" >/dev/null 2>&1; then
    echo "!! $f was out of date with the Go markers or the file it is copied from; it has been regenerated — review and commit it"
    stale=1
  fi
done
unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go') 2>/dev/null || true)
if [[ -n $unformatted ]]; then
  echo "!! gofmt needed on:"; echo "$unformatted"; stale=1
fi
# One version everywhere: VERSION is the chart's version and appVersion and the tag
# the chart, kustomize and the local values install.
v=$(tr -d ' \n' <VERSION)
check() { # check FILE REGEX-WITH-VERSION what
  grep -Eq "$2" "$1" || { echo "!! $1: $3 is not VERSION ($v); set it to $v"; stale=1; }
}
check charts/appstack-operator/Chart.yaml "^version: $v\$" "version"
check charts/appstack-operator/Chart.yaml "^appVersion: \"$v\"\$" "appVersion"
check config/manager/kustomization.yaml "^  newTag: $v\$" "the image's newTag"
check hack/real-node-values.yaml "^  tag: $v\$" "image.tag"
# The vendored JavaScript is what hack/js/package-lock.json gives (npm ci checks
# the lock's integrity hashes); skipped where npm is not installed.
if command -v npm >/dev/null; then
  js=$(mktemp -d)
  if ! hack/vendor-js.sh "$js" || ! diff -r "$js" internal/graph/dagre >/dev/null; then
    echo "!! internal/graph/dagre differs from what hack/js/package-lock.json gives; run make vendor-js and commit"
    stale=1
  fi
  rm -rf "$js"
fi
exit $stale
