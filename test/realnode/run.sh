#!/usr/bin/env bash
# make test-real-node: the seeds on live containers. Starts a throwaway local cluster
# with one real node (REAL_NODE=1 hack/dev-cluster.sh up), loads the testserver images
# into the node, installs the CRD, runs the operator built from this tree as a process
# on this machine, runs the realnode Ginkgo suite (go test -tags realnode), and tears
# everything down, also on failure or interrupt. Needs root on Linux (the real node).
#
# Environment: REALNODE_CLUSTER (appstack-realnode; not CLUSTER_NAME, which the Makefile
# exports as appstack-dev), METRICS_ADDR (127.0.0.1:18393),
# REALNODE_KEEP=1 leaves the cluster and the operator running, GO_TEST_FLAGS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${LOCALBIN:-$ROOT/bin}
export CLUSTER_NAME=${REALNODE_CLUSTER:-appstack-realnode}
METRICS_ADDR=${METRICS_ADDR:-127.0.0.1:18393}
export KUBECONFIG=$BIN/$CLUSTER_NAME.kubeconfig
OP_LOG=$BIN/$CLUSTER_NAME.manager.log
OP_PID=
cd "$ROOT"

log() { echo "==> realnode: $*"; }

why=$(hack/real-node.sh can-run) || { echo "!! realnode: cannot run here: $why" >&2; exit 1; }

teardown() {
  local rc=$?
  if [[ ${REALNODE_KEEP:-} == 1 ]]; then
    log "REALNODE_KEEP=1: cluster $CLUSTER_NAME and operator (pid ${OP_PID:-none}) left running"
    exit $rc
  fi
  if [[ -n $OP_PID ]] && kill -0 "$OP_PID" 2>/dev/null; then
    kill -TERM "$OP_PID" 2>/dev/null || true
    wait "$OP_PID" 2>/dev/null || true
  fi
  log "tearing down cluster $CLUSTER_NAME"
  REAL_NODE=1 hack/dev-cluster.sh down || rc=1
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

start=$SECONDS
for img in pause-3.10 testserver-0.1.0 testserver-0.2.0; do
  [[ -f $BIN/images/$img.tar ]] || { log "bin/images/$img.tar missing: make images"; make --no-print-directory images; break; }
done
make --no-print-directory build tools-cluster

log "starting cluster $CLUSTER_NAME with a real node"
hack/dev-cluster.sh down >/dev/null 2>&1 || true
REAL_NODE=1 hack/dev-cluster.sh up
hack/real-node.sh import "$BIN/images/testserver-0.1.0.tar" "$BIN/images/testserver-0.2.0.tar" >/dev/null
log "imported appstack.dev/testserver:0.1.0 and :0.2.0 into the node"

kubectl apply --server-side -f config/crd/bases >/dev/null
for i in $(seq 60); do
  kubectl wait --for=condition=Established crd/appstacks.apps.appstack.dev --timeout=10s >/dev/null 2>&1 && break
  sleep 1
done

log "starting the operator (bin/manager, log $OP_LOG)"
"$BIN/manager" --metrics-bind-address="$METRICS_ADDR" --metrics-secure=false \
  --health-probe-bind-address=0 >"$OP_LOG" 2>&1 &
OP_PID=$!

log "setup took $((SECONDS - start))s; running the suite"
# bin/ first on the PATH: `kubectl appstack` is bin/kubectl-appstack.
PATH=$BIN:$PATH go test -tags realnode ./test/realnode/ -count=1 -timeout 20m -v -ginkgo.v ${GO_TEST_FLAGS:-}
log "suite passed; $((SECONDS - start))s so far"
