#!/usr/bin/env bash
# Builds every tool the project needs into bin/ from pinned Go modules (hack/tools/*),
# so a fresh machine needs nothing but Go and the Go module proxy. A tool is rebuilt
# only when its binary is missing or its pinned module set changed.
#
#   hack/tools.sh            build everything that is missing
#   hack/tools.sh etcd helm  build just those groups
#
# Groups: etcd, kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler),
# kwok (kwok, kwokctl), controller-gen, helm, helm4 (Helm 4, for the e2e specs of its
# --wait: docs/gitops.md), kustomize, golangci-lint, promtool, flux (source-controller,
# kustomize-controller, gitserver and their CRDs in bin/flux-crds, for the e2e specs
# labelled gitops: test/utils/flux.go). Not in the
# default set, built by `hack/real-node.sh tools` (make tools-real-node) where the real node can run:
# node (kubelet, kube-proxy, appstack-cri), coredns, real-node (the egress CONNECT
# proxy of hack/tools/real-node), metrics-server (run beside the real node, serving
# metrics.k8s.io). Also not in the default set: chromium (make tools-chromium, which
# make test-e2e needs), Debian's package rather than a Go build: the headless browser
# of the dashboard's e2e specs (test/utils/browser.go).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCALBIN:-$ROOT/bin}
STAMPS=$BIN/.stamps
mkdir -p "$BIN" "$STAMPS"

# Everything the control plane reports about itself comes from these.
KUBE_VERSION=v1.36.3
kube_ldflags() {
  local major minor v out="-s -w"
  major=$(echo "${KUBE_VERSION#v}" | cut -d. -f1)
  minor=$(echo "${KUBE_VERSION#v}" | cut -d. -f2)
  # component-base is what a binary reports (--version, /version); client-go is what
  # it says in its user agent (the audit log), as Kubernetes' own build stamps both.
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=$major -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$out"
}

# helm's version, and the Kubernetes version it assumes without a cluster (helm
# template, helm lint) from the client-go it is built with, as helm's Makefile does.
helm_ldflags() {
  local dir=$ROOT/hack/tools/helm helm client minor
  helm=$(awk '$2 == "helm.sh/helm/v3" {print $3; exit}' "$dir/go.mod")
  client=$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "$dir/go.mod")
  minor=$(echo "${client#v}" | cut -d. -f2)
  echo "-s -w -X helm.sh/helm/v3/internal/version.version=$helm -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
    "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
    "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
}

# Helm 4's version, stamped as its Makefile does for a tag. It finds the Kubernetes
# version it assumes in its own build info (the client-go it is built with), so it
# needs nothing more.
helm4_ldflags() {
  local v
  v=$(awk '$2 == "helm.sh/helm/v4" {print $3; exit}' "$ROOT/hack/tools/helm4/go.mod")
  echo "-s -w -X helm.sh/helm/v4/internal/version.version=$v -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
}

# group -> "module-dir|ldflags|package=binary ..."
spec() {
  case "$1" in
    etcd) echo "etcd||go.etcd.io/etcd/server/v3=etcd" ;;
    kubernetes) echo "kubernetes|$(kube_ldflags)|k8s.io/kubernetes/cmd/kube-apiserver=kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager=kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler=kube-scheduler" ;;
    kwok) echo "kwok|-s -w -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBE_VERSION#v}|sigs.k8s.io/kwok/cmd/kwok=kwok sigs.k8s.io/kwok/cmd/kwokctl=kwokctl" ;;
    controller-gen) echo "controller-gen|-s -w|sigs.k8s.io/controller-tools/cmd/controller-gen=controller-gen" ;;
    helm) echo "helm|$(helm_ldflags)|helm.sh/helm/v3/cmd/helm=helm" ;;
    helm4) echo "helm4|$(helm4_ldflags)|helm.sh/helm/v4/cmd/helm=helm4" ;;
    kustomize) echo "kustomize|-s -w|sigs.k8s.io/kustomize/kustomize/v5=kustomize" ;;
    # What `golangci-lint version` reports, set as its .goreleaser.yml does: the release
    # pinned in hack/tools/golangci-lint/go.mod, its tagged commit and that commit's time
    # (the module's .info Time). Change all three with the pin.
    golangci-lint) echo "golangci-lint|-s -w -X main.version=2.13.1 -X main.commit=6d2288e0 -X main.date=2026-08-20T14:25:22Z|github.com/golangci/golangci-lint/v2/cmd/golangci-lint=golangci-lint" ;;
    # promtool of Prometheus 3.16.0 (module v0.316.0), stamped as Prometheus' own
    # build stamps it (the date is the module's .info Time). Built without the service
    # discovery plugins (build_tags): checking and testing rules needs none, and some
    # of their pinned dependencies are not served by the Go module proxy. Its go.mod
    # therefore cannot be tidied; change the pin with
    #   go build -mod=mod -tags remove_all_sd github.com/prometheus/prometheus/cmd/promtool
    promtool) echo "promtool|-s -w -X github.com/prometheus/common/version.Version=3.16.0 -X github.com/prometheus/common/version.BuildDate=20261105-15:06:51|github.com/prometheus/prometheus/cmd/promtool=promtool" ;;
    # Flux's source-controller and kustomize-controller of one Flux release (v2.9), the
    # newest that builds with this Go without a toolchain switch, and the e2e
    # suite's Git server (hack/tools/flux/gitserver). Their main packages are their
    # modules' roots; the go.mod carries the replace directives of theirs. `go mod
    # tidy` there stops at a module that only source-controller's own tests import,
    # which the Go module proxy does not serve: change the pins with `go mod tidy -e`.
    flux) echo "flux|-s -w|github.com/fluxcd/source-controller=source-controller github.com/fluxcd/kustomize-controller=kustomize-controller ./gitserver=gitserver" ;;
    # Opt-in groups for the real node (hack/real-node.sh); not in ALL.
    node) echo "node|$(kube_ldflags)|k8s.io/kubernetes/cmd/kubelet=kubelet k8s.io/kubernetes/cmd/kube-proxy=kube-proxy ./cri=appstack-cri" ;;
    coredns) echo "coredns|-s -w|github.com/coredns/coredns=coredns" ;;
    real-node) echo "real-node|-s -w|./egress-proxy=appstack-egress-proxy" ;;
    # metrics-server reports its version through client-go's version package.
    metrics-server) echo "metrics-server|-s -w -X k8s.io/client-go/pkg/version.gitVersion=v0.9.0 -X k8s.io/client-go/pkg/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.buildDate=1970-01-01T00:00:00Z|sigs.k8s.io/metrics-server/cmd/metrics-server=metrics-server" ;;
    *) echo "hack/tools.sh: unknown tool group '$1'" >&2; return 1 ;;
  esac
}

ALL=(etcd kubernetes kwok controller-gen helm helm4 kustomize golangci-lint promtool flux)

# Build tags of a group, when it needs any.
build_tags() {
  case "$1" in
    promtool) echo remove_all_sd ;;
  esac
}

# The group's own sources (commands in its module directory) that its stamp covers;
# nothing for the groups whose stamps were made without them.
local_sources() {
  case "$1" in
    flux) cat "$ROOT"/hack/tools/flux/gitserver/*.go ;;
  esac
}

# What a group puts in bin/ besides its binaries, and how: the Flux controllers'
# CRDs (config/crd/bases of their modules, at the versions go.mod pins), which the
# e2e suite applies from bin/flux-crds.
extra_outputs() {
  case "$1" in
    flux) echo flux-crds ;;
  esac
}
build_extras() {
  local dir=$2 out=$BIN/flux-crds mod moddir
  case "$1" in
    flux)
      rm -rf "$out.tmp" && mkdir -p "$out.tmp"
      for mod in github.com/fluxcd/source-controller github.com/fluxcd/kustomize-controller; do
        moddir=$(cd "$dir" && go mod download "$mod" && go list -m -f '{{.Dir}}' "$mod")
        cp "$moddir"/config/crd/bases/*.yaml "$out.tmp/"
      done
      chmod 644 "$out.tmp"/*.yaml
      rm -rf "$out" && mv "$out.tmp" "$out"
      ;;
  esac
}

# installed PKG: dpkg has PKG installed and configured (not only unpacked, as during
# another apt-get's run); true where there is no dpkg, the binary's presence decides.
installed() {
  command -v dpkg-query >/dev/null || return 0
  [[ $(dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null) == "ii " ]]
}

# install_chromium installs Debian's chromium package when the browser is missing,
# and stamps its version. It is a package, not a Go build: it needs root and apt-get,
# and apt-get update runs only when the package lists do not know chromium (a fresh
# container) or the install fails on stale lists. $CHROMIUM names another browser
# binary, which is then used as it is (test/utils/browser.go reads it too).
install_chromium() {
  local exe=${CHROMIUM:-/usr/bin/chromium} start out version apt
  # Another install at the same time (a second suite) is waited for, not failed on.
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
  if [[ ! -x $exe ]] || { [[ -z ${CHROMIUM:-} ]] && ! installed chromium; }; then
    [[ -z ${CHROMIUM:-} ]] || { echo "!! CHROMIUM=$CHROMIUM is not an executable; unset it to install Debian's chromium" >&2; return 1; }
    command -v apt-get >/dev/null || { echo "!! Debian's chromium is not installed ($exe) and there is no apt-get to install it: install a Chromium and set CHROMIUM=/path/to/it" >&2; return 1; }
    [[ $(id -u) == 0 ]] || { echo "!! Debian's chromium is not installed ($exe) and installing it needs root: sudo hack/tools.sh chromium (or set CHROMIUM=/path/to/a/chromium)" >&2; return 1; }
    start=$(date +%s)
    out=$(mktemp)
    echo "==> installing Debian's chromium (apt-get)"
    if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      "${apt[@]}" update >"$out" 2>&1 || { tail -20 "$out" >&2; rm -f "$out"; echo "!! apt-get update failed" >&2; return 1; }
    fi
    # Without its recommends (udev, upower, a notification daemon, printer setup: a
    # desktop's), but with fonts-liberation, so that a machine without fonts draws the
    # page's text in screenshots.
    if ! "${apt[@]}" install -y --no-install-recommends chromium fonts-liberation >"$out" 2>&1; then
      # The lists may name a version the mirror no longer has.
      if ! { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends chromium fonts-liberation; } >"$out" 2>&1; then
        tail -20 "$out" >&2
        rm -f "$out"
        echo "!! apt-get install chromium failed (output above)" >&2
        return 1
      fi
    fi
    rm -f "$out"
    echo "==> chromium installed in $(($(date +%s) - start))s"
  fi
  if [[ -z ${CHROMIUM:-} ]] && installed chromium; then
    version=$(dpkg-query -W -f '${Version}' chromium)
  else
    version=$("$exe" --version)
  fi
  [[ $(cat "$STAMPS/chromium" 2>/dev/null) == "$version" ]] || echo "$version" >"$STAMPS/chromium"
}

build_group() {
  local group=$1 s dir ldflags tags pkgs stamp want pkg out extra missing=0 start from
  s=$(spec "$group")
  tags=$(build_tags "$group")
  dir=$ROOT/hack/tools/${s%%|*}
  s=${s#*|}
  ldflags=${s%%|*}
  pkgs=${s#*|}
  # The stamp covers the pinned module set, the flags (the tags only when there are
  # any, so the other groups' stamps stay as they were) and the Go version.
  want=$(cat "$dir/go.mod" "$dir/go.sum" <(echo "$ldflags") <(echo "${tags:+-tags $tags}" | grep .) <(go env GOVERSION) <(local_sources "$group") | sha256sum | cut -c1-16)
  stamp=$STAMPS/$group
  for pkg in $pkgs; do
    [[ -x $BIN/${pkg#*=} ]] || missing=1
  done
  for extra in $(extra_outputs "$group"); do
    [[ -e $BIN/$extra ]] || missing=1
  done
  if [[ $missing == 0 && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  start=$(date +%s)
  for pkg in $pkgs; do
    out=$BIN/${pkg#*=}
    from=$(awk '/^require [^(]/ {print $2 "@" $3; exit}' "$dir/go.mod")
    echo "==> building ${pkg#*=} from ${from:-hack/tools/${dir##*/}}"
    if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out.tmp" "${pkg%=*}"); then
      echo "!! building ${pkg#*=} failed: (cd hack/tools/${dir##*/} && CGO_ENABLED=0 go build -trimpath -tags '$tags' -ldflags '$ldflags' -o $out ${pkg%=*})" >&2
      rm -f "$out.tmp"
      return 1
    fi
    mv "$out.tmp" "$out"
  done
  build_extras "$group" "$dir"
  echo "$want" >"$stamp"
  echo "==> $group built in $(($(date +%s) - start))s"
}

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=("${ALL[@]}")
total_start=$(date +%s)
built=0
for g in "${groups[@]}"; do
  before=$(cat "$STAMPS/$g" 2>/dev/null || true)
  if [[ $g == chromium ]]; then
    install_chromium
    continue
  fi
  build_group "$g"
  [[ $(cat "$STAMPS/$g") == "$before" ]] || built=1
done
if [[ $built == 1 ]]; then
  echo "==> tools ready in $BIN after $(($(date +%s) - total_start))s (a cold build of everything takes 25-35 min on 2 cores, Flux and Helm 4 half of it)"
fi
