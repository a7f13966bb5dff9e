#!/usr/bin/env bash
# Records the AppStacks the Argo CD health rule is tested on
# (config/argocd/apps.appstack.dev/AppStack/testdata, read by test/argocd through
# health_test.yaml): each case stack is applied on a throwaway kwok-only local
# cluster, the operator of this tree (run as a process) brings it to the state, and
# `kubectl get appstack NAME -o yaml` (without managedFields) is saved. Re-record
# after changing what the operator writes in status, then check the expectations in
# health_test.yaml against the new files (git diff shows what moved; the RolledBack
# message names the time of the rollback, so its expectation moves every time).
#
#   hack/record-argocd-cases.sh                    every case (about 2 minutes once built)
#   CASES="healthy rolledback" hack/record-argocd-cases.sh
#
# Environment: CLUSTER_NAME (argocd-cases; created and deleted here unless
# KEEP_CLUSTER=1), CASES (all of them: healthy warning waiting behind invalidspec
# nsconflict failedcreate claimpending rolledback suspended deleting legacy), OUT
# (the testdata directory), LEGACY_REV (ae557dd: the last operator before the
# Stalled and Reconciling conditions, built from git history for the legacy case).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
export CLUSTER_NAME=${CLUSTER_NAME:-argocd-cases}
OUT=${OUT:-$ROOT/config/argocd/apps.appstack.dev/AppStack/testdata}
CASES=${CASES:-healthy warning waiting behind invalidspec nsconflict failedcreate claimpending rolledback suspended deleting legacy}
LEGACY_REV=${LEGACY_REV:-ae557dd}
export KUBECONFIG=$BIN/$CLUSTER_NAME.kubeconfig
WORK=$(mktemp -d)
OP_PID=

log() { echo "==> $*"; }
die() { echo "!! $*" >&2; exit 1; }

cleanup() {
  stop_operator
  if [[ ${KEEP_CLUSTER:-0} != 1 ]]; then
    "$ROOT/hack/dev-cluster.sh" down >/dev/null 2>&1 || true
  fi
  echo "operator logs: $WORK"
}
trap cleanup EXIT

start_operator() { # start_operator BINARY: the operator in the background, its log in $WORK
  "$1" --metrics-bind-address=0 --health-probe-bind-address=0 >>"$WORK/$(basename "$1").log" 2>&1 &
  OP_PID=$!
  sleep 1
  kill -0 "$OP_PID" 2>/dev/null || die "the operator exited at start; see $WORK/$(basename "$1").log"
}

stop_operator() {
  [[ -n $OP_PID ]] || return 0
  kill "$OP_PID" 2>/dev/null || true
  wait "$OP_PID" 2>/dev/null || true
  OP_PID=
}

apply() { kubectl apply --server-side --field-manager=record-argocd-cases -f - >/dev/null; }

stack() { # stack NAME < SPEC: apply an AppStack whose spec (indented two spaces) is read from stdin
  { printf 'apiVersion: apps.appstack.dev/v1alpha1\nkind: AppStack\nmetadata: {name: %s}\nspec:\n' "$1"; cat; } | apply
}

conditions() { # conditions NAME: "Ready=False/FailedCreate Stalled=True/FailedCreate" as the stack has them
  kubectl get appstack "$1" -o jsonpath='{range .status.conditions[*]}{.type}={.status}/{.reason}{" "}{end}' 2>/dev/null
}

wait_for() { # wait_for NAME TYPE=STATUS/REASON [SECONDS]: until the stack has that condition
  local deadline=$((SECONDS + ${3:-60}))
  until [[ " $(conditions "$1")" == *" $2 "* ]]; do
    ((SECONDS < deadline)) || die "stack $1 never had $2 within ${3:-60}s; it has: $(conditions "$1")"
    sleep 0.5
  done
}

record() { # record FILE NAME WHAT: save the stack as it is now
  { echo "# Recorded by hack/record-argocd-cases.sh from a live stack: $3."
    kubectl get appstack "$2" -o yaml; } >"$OUT/$1"
  log "recorded testdata/$1: $(conditions "$2")"
}

web() { # web [IMAGE] [ANNOTATIONS]: one Deployment component
  printf '  components:\n  - name: web\n    replicas: 2%s\n    containers: [{name: app, image: "%s", ports: [{containerPort: 8080}]}]\n' \
    "${2:+$'\n'    annotations: $2}" "${1:-nginx:1.27}"
}

case_healthy() {
  web | stack healthy
  wait_for healthy Ready=True/Ready
  record healthy.yaml healthy "every component Ready"
}

case_warning() {
  stack warning <<'YAML'
  components:
  - name: web
    containers: [{name: app, image: "nginx:1.27", ports: [{containerPort: 8080}]}]
    ingress: {host: shop.example.com, className: does-not-exist}
YAML
  wait_for warning Ready=True/IngressClassNotFound
  record healthy-warning.yaml warning "Ready, with a warning: its Ingress names a class that does not exist"
}

case_waiting() {
  stack waiting <<'YAML'
  components:
  - name: web
    dependsOn: [db]
    containers: [{name: app, image: "nginx:1.27"}]
  - name: db
    annotations: {appstack.dev/simulate: NotReady}
    containers: [{name: pg, image: "postgres:16", ports: [{containerPort: 5432}]}]
YAML
  wait_for waiting Reconciling=True/Waiting
  record progressing-waiting.yaml waiting "web waits for db, whose pod is not ready yet"
}

case_behind() {
  web | stack behind
  wait_for behind Ready=True/Ready
  # With the operator stopped, the spec changes and a new stack arrives: what Argo CD
  # sees between a sync and the operator's next status write.
  stop_operator
  web nginx:1.28 | stack behind
  web | stack unseen
  record progressing-generation.yaml behind "Ready at generation 1, its image changed (generation 2) while the operator was stopped"
  record progressing-new.yaml unseen "created while the operator was stopped: no status yet"
  start_operator "$BIN/manager-argocd-cases"
}

case_invalidspec() {
  stack invalid <<'YAML'
  components:
  - name: a
    dependsOn: [b]
    containers: [{name: app, image: "nginx:1.27"}]
  - name: b
    dependsOn: [a]
    containers: [{name: app, image: "nginx:1.27"}]
YAML
  wait_for invalid Stalled=True/InvalidSpec
  record degraded-invalidspec.yaml invalid "a dependency cycle, refused by the controller"
}

case_nsconflict() {
  kubectl create namespace taken >/dev/null
  printf '  namespace: {name: taken}\n%s\n' "$(web)" | stack intruder
  wait_for intruder Stalled=True/NamespaceConflict
  record degraded-namespaceconflict.yaml intruder "its namespace exists and was not handed to it"
}

hostpath() { # hostpath: a component whose pods Pod Security baseline refuses (a hostPath volume)
  printf '%s\n' '  components:' '  - name: web' \
    '    containers: [{name: app, image: "nginx:1.27", volumeMounts: [{name: host, mountPath: /host}]}]' \
    '    volumes: [{name: host, hostPath: {path: /var/log}}]'
}

case_failedcreate() {
  hostpath | stack hostpath
  wait_for hostpath Stalled=True/FailedCreate
  record degraded-failedcreate.yaml hostpath "its pods are refused by Pod Security baseline (a hostPath volume)"
}

case_claimpending() {
  stack noclass <<'YAML'
  volumes: [{name: data, size: 1Gi, storageClassName: does-not-exist}]
  components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: "postgres:16", volumeMounts: [{name: data, mountPath: /data}]}]
    volumes: [{name: data, persistentVolume: data}]
YAML
  wait_for noclass Stalled=True/ClaimPending
  record degraded-claimpending.yaml noclass "its claim names a storage class that does not exist"
}

case_rolledback() {
  printf '  rollout: {autoRollback: true, failAfter: 10s}\n%s\n' "$(web appstack-e2e/web:v1)" | stack rolled
  wait_for rolled Ready=True/Ready
  printf '  rollout: {autoRollback: true, failAfter: 10s}\n%s\n' \
    "$(web appstack-e2e/web:v2 '{appstack.dev/simulate: CrashLoopBackOff}')" | stack rolled
  wait_for rolled Stalled=True/RolledBack 120
  record degraded-rolledback.yaml rolled "revision 2 crash-looped past failAfter and was rolled back to revision 1"
}

case_suspended() {
  web | stack paused
  wait_for paused Ready=True/Ready
  kubectl patch appstack paused --type merge -p '{"spec":{"paused":true}}' >/dev/null
  wait_for paused Stalled=True/Suspended
  record suspended.yaml paused "Ready, then spec.paused set to true"
}

case_deleting() {
  web | stack leaving
  wait_for leaving Ready=True/Ready
  # A finalizer of someone else's holds the Deployment, so the stack stays in deletion.
  kubectl patch deployment web -n leaving --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
  kubectl delete appstack leaving --wait=false >/dev/null
  wait_for leaving Reconciling=True/Deleting
  record deleting.yaml leaving "deleted while a finalizer of someone else's holds its Deployment"
  kubectl patch deployment web -n leaving --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
  kubectl wait --for=delete appstack/leaving --timeout=60s >/dev/null
}

case_legacy() {
  log "building the operator at $LEGACY_REV (before Stalled and Reconciling)"
  mkdir -p "$WORK/legacy"
  git -C "$ROOT" archive "$LEGACY_REV" | tar -x -C "$WORK/legacy"
  (cd "$WORK/legacy" && CGO_ENABLED=0 go build -o "$BIN/manager-argocd-legacy" ./cmd)
  stop_operator
  start_operator "$BIN/manager-argocd-legacy"
  hostpath | stack legacy
  wait_for legacy Ready=False/FailedCreate
  record progressing-legacy.yaml legacy "written by the operator at $LEGACY_REV, older than Stalled and Reconciling: pods refused by Pod Security"
  stop_operator
  kubectl delete appstack legacy --wait=false >/dev/null
  start_operator "$BIN/manager-argocd-cases"
  kubectl wait --for=delete appstack/legacy --timeout=60s >/dev/null
}

for c in $CASES; do
  declare -F "case_$c" >/dev/null || die "no case $c; the cases are: $(declare -F | sed -n 's/^declare -f case_//p' | tr '\n' ' ')"
done
mkdir -p "$OUT"
REAL_NODE=0 KUBECONFIG_OUT=$KUBECONFIG "$ROOT/hack/dev-cluster.sh" up
kubectl apply --server-side -k "$ROOT/config/crd" >/dev/null
deadline=$((SECONDS + 30))
until kubectl get appstacks >/dev/null 2>&1; do
  ((SECONDS < deadline)) || die "the apiserver does not serve AppStacks 30s after the CRD was applied"
  sleep 0.2
done
log "building the operator of this tree"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN/manager-argocd-cases" ./cmd)
start_operator "$BIN/manager-argocd-cases"
for c in $CASES; do
  "case_$c"
done
log "wrote $OUT; check health_test.yaml against it: go test ./test/argocd/"
