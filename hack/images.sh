#!/usr/bin/env bash
# Writes the project's images as archives into bin/images/ without a Docker daemon
# (docs/images.md): the operator built from this tree, the pod sandbox and the test
# server. `make images` and the real node (hack/real-node.sh up, which imports them
# into its containerd) call it; every run rebuilds the operator image from the tree
# (a few seconds with a warm Go cache; same inputs, same digests).
#
# Environment: IMG (appstack-operator:<VERSION>), IMAGES_DIR (bin/images). The operator
# carries the version stamps of hack/version.sh. Arguments go to appstack-images
# (e.g. -only operator).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCALBIN:-$ROOT/bin}
IMG=${IMG:-appstack-operator:$("$ROOT/hack/version.sh")}
IMAGES_DIR=${IMAGES_DIR:-$BIN/images}

if [[ ! -x /bin/busybox ]]; then
  echo "==> installing busybox-static (the testserver image's applets)"
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends busybox-static >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends busybox-static >/dev/null; }
fi
go -C "$ROOT/hack/images" build -trimpath -o "$BIN/appstack-images" .
"$BIN/appstack-images" -root "$ROOT" -out "$IMAGES_DIR" -operator-image "$IMG" \
  -operator-ldflags "$("$ROOT/hack/version.sh" ldflags)" "$@"
