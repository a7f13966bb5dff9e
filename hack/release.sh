#!/usr/bin/env bash
# `make release`: the release's artifacts in dist/, all made on this machine
# without Docker or a registry.
#
#   dist/crds.yaml                         the AppStack CRD, its own install step, first:
#                                          `kubectl apply --server-side -f dist/crds.yaml` (config/crd)
#   dist/install.yaml                      RBAC, namespace, Deployment, metrics Service and the
#                                          admission policy, no CRD: `kubectl apply -f dist/install.yaml`
#                                          (config/default, kubebuilder's build-installer), so that
#                                          `kubectl delete -f dist/install.yaml` never deletes the CRD
#                                          and with it every AppStack
#   dist/appstack-operator-<v>.tgz          the Helm chart (helm package)
#   dist/kubectl-appstack_<v>_<os>_<arch>.tar.gz   the plugin for linux/darwin x amd64/arm64
#   dist/appstack-operator-<v>.image.tar    the operator image archive (hack/images: one layer,
#                                          non-root; `ctr -n k8s.io images import` or `docker load`)
#   dist/appstack.yaml                      the krew plugin manifest (sha256 of each archive)
#   dist/SHA256SUMS                         sha256sum of everything above
#
#   hack/release.sh [DIR]                   everything into DIR (dist)
#   hack/release.sh install-yaml FILE       only the installer (the e2e suite applies it)
#   hack/release.sh crds-yaml FILE          only the CRD file
#
# The version is VERSION (hack/verify.sh checks the chart and kustomize agree);
# binaries carry the stamps of hack/version.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCALBIN:-$ROOT/bin}
VERSION=$("$ROOT/hack/version.sh")
LDFLAGS=$("$ROOT/hack/version.sh" ldflags)
REPO_URL=https://github.com/appstack-dev/appstack-operator

log() { echo "==> $*"; }
die() { echo "!! release: $*" >&2; exit 1; }

install_yaml() {
  local out=$1
  [[ -x $BIN/kustomize ]] || "$ROOT/hack/tools.sh" kustomize >/dev/null
  {
    echo "# appstack-operator $VERSION: kubectl apply -f install.yaml, after crds.yaml"
    echo "# (config/default: namespace appstack-system, Pod Security restricted; image appstack-operator:$VERSION)."
    echo "# It holds no CRD, so \`kubectl delete -f install.yaml\` removes the operator and keeps every AppStack."
    "$BIN/kustomize" build "$ROOT/config/default"
  } >"$out.tmp"
  grep -q "image: appstack-operator:$VERSION\$" "$out.tmp" ||
    die "config/default does not install image appstack-operator:$VERSION (config/manager/kustomization.yaml newTag)"
  ! grep -q "^kind: CustomResourceDefinition\$" "$out.tmp" ||
    die "config/default includes a CustomResourceDefinition; the CRD belongs in config/crd only (crds.yaml), or deleting the operator deletes every AppStack"
  mv "$out.tmp" "$out"
}

crds_yaml() {
  local out=$1
  [[ -x $BIN/kustomize ]] || "$ROOT/hack/tools.sh" kustomize >/dev/null
  {
    echo "# appstack-operator $VERSION: the AppStack CRD. Install and upgrade it first, then the operator:"
    echo "#   kubectl apply --server-side -f crds.yaml"
    echo "# Deleting it deletes every AppStack (the operator takes each apart; retained volumes stay)."
    "$BIN/kustomize" build "$ROOT/config/crd"
  } >"$out.tmp"
  [[ $(grep -c "^kind: " "$out.tmp") == 1 ]] && grep -q "^kind: CustomResourceDefinition\$" "$out.tmp" ||
    die "config/crd should build exactly the AppStack CustomResourceDefinition"
  mv "$out.tmp" "$out"
}

release() {
  local dist=$1 start=$SECONDS
  [[ -x $BIN/helm ]] || "$ROOT/hack/tools.sh" helm >/dev/null
  rm -rf "$dist"
  mkdir -p "$dist"
  dist=$(cd "$dist" && pwd)

  crds_yaml "$dist/crds.yaml"
  log "crds.yaml"
  install_yaml "$dist/install.yaml"
  log "install.yaml"

  "$BIN/helm" lint "$ROOT/charts/appstack-operator" >/dev/null || die "helm lint charts/appstack-operator failed"
  "$BIN/helm" package "$ROOT/charts/appstack-operator" -d "$dist" >/dev/null
  [[ -f $dist/appstack-operator-$VERSION.tgz ]] || die "helm package did not write appstack-operator-$VERSION.tgz (Chart.yaml version?)"
  log "appstack-operator-$VERSION.tgz"

  local os arch name tmp platforms=""
  tmp=$(mktemp -d)
  for os in linux darwin; do
    for arch in amd64 arm64; do
      name=kubectl-appstack_${VERSION}_${os}_${arch}
      mkdir -p "$tmp/$name"
      (cd "$ROOT" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "-s -w $LDFLAGS" \
        -o "$tmp/$name/kubectl-appstack" ./cmd/kubectl-appstack)
      # Same bytes for the same commit: fixed order, owner and time stamps.
      tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$tmp/$name" -cf - kubectl-appstack |
        gzip -n >"$dist/$name.tar.gz"
      platforms+="  - selector:
      matchLabels: {os: $os, arch: $arch}
    uri: $REPO_URL/releases/download/v$VERSION/$name.tar.gz
    sha256: $(sha256sum "$dist/$name.tar.gz" | cut -d' ' -f1)
    bin: kubectl-appstack
"
      log "$name.tar.gz"
    done
  done
  rm -rf "$tmp"

  IMG=appstack-operator:$VERSION IMAGES_DIR=$dist/image "$ROOT/hack/images.sh" -only operator >/dev/null
  mv "$dist/image/operator-$VERSION.tar" "$dist/appstack-operator-$VERSION.image.tar"
  rmdir "$dist/image"
  log "appstack-operator-$VERSION.image.tar"

  cat >"$dist/appstack.yaml" <<EOF
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: appstack
spec:
  version: v$VERSION
  homepage: $REPO_URL
  shortDescription: Render, inspect and roll back AppStacks
  description: |
    Works with AppStack resources of appstack-operator: renders a stack offline into
    the exact objects the operator would apply, shows a stack's components, objects
    and pods as a tree with the reason a part is not Ready, lists and rolls back its
    revisions, and prints the plugin's and the operator's versions.
  platforms:
$platforms
EOF
  log "appstack.yaml (krew)"

  (cd "$dist" && sha256sum -- *.yaml *.tgz *.tar.gz *.image.tar >SHA256SUMS)
  log "SHA256SUMS"
  log "release $VERSION in $dist after $((SECONDS - start))s:"
  (cd "$dist" && ls -l)
}

case "${1:-}" in
  install-yaml) [[ $# == 2 ]] || die "usage: $0 install-yaml FILE"; install_yaml "$2" ;;
  crds-yaml) [[ $# == 2 ]] || die "usage: $0 crds-yaml FILE"; crds_yaml "$2" ;;
  *) release "${1:-$ROOT/dist}" ;;
esac
