#!/usr/bin/env bash
# Records the operator's metrics while a scenario runs on a kwok-only local cluster,
# into test/rules/SCENARIO.series.yaml: the input series of the alert test of that
# name in test/rules/alerts_test.yaml (make test-rules). Re-record after changing a
# metric the rules use, or a scenario, then check that test's expectations against
# the timeline the file's header gives.
#
#   hack/record-series.sh            the main scenario (about 25 minutes)
#   SCENARIO=stuck hack/record-series.sh   (about 12 minutes)
#
# Environment: CLUSTER_NAME (appstack-metrics; created and deleted here unless
# KEEP_CLUSTER=1), METRICS_ADDR (127.0.0.1:18392), INTERVAL (15s: the tests'
# interval), OUT (test/rules/$SCENARIO.series.yaml).
#
# The operator runs as a process (plain-HTTP metrics on loopback). main:
#   0:00  stacks shop (2 replicas, Ready), crashy (its pods crash-loop, never
#         Ready) and rolling (spec.rollout.autoRollback, failAfter 20s) applied
#   0:45  rolling changed to a tag whose pods crash-loop: rolled back
#   1:30  shop's Service deleted by hand every 10 s until 7:30: drift corrections
#   8:00  shop's image changed in the spec (a spec change, not drift)
#  12:00  the operator restarted (--kube-api-qps=0.005 --kube-api-burst=40: the
#         client limits each kind on its own, and the burst covers every write of
#         six new stacks, applied now: a restart under new work that drains)
#  23:00  the operator killed; scrapes fail until the recording stops at 24:00
# stuck:
#   0:00  the operator started with --kube-api-qps=0.005 --kube-api-burst=40 and
#         60 stacks applied at once: once a kind's burst is spent, each request
#         waits 200 s for client-side throttling, every worker waits and the work
#         queue backs up
#  11:00  the operator killed; scrapes fail until the recording stops at 12:00
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
export CLUSTER_NAME=${CLUSTER_NAME:-appstack-metrics}
ADDR=${METRICS_ADDR:-127.0.0.1:18392}
INTERVAL=${INTERVAL:-15s}
SCENARIO=${SCENARIO:-main}
OUT=${OUT:-$ROOT/test/rules/$SCENARIO.series.yaml}
export KUBECONFIG=$BIN/$CLUSTER_NAME.kubeconfig
WORK=$(mktemp -d)
OP_PID= REC_PID=

cleanup() {
  [[ -n $OP_PID ]] && kill "$OP_PID" 2>/dev/null || true
  [[ -n $REC_PID ]] && kill "$REC_PID" 2>/dev/null || true
  if [[ ${KEEP_CLUSTER:-0} != 1 ]]; then
    CLUSTER_NAME=$CLUSTER_NAME "$ROOT/hack/dev-cluster.sh" down >/dev/null 2>&1 || true
  fi
  echo "operator logs and the raw recording: $WORK"
}
trap cleanup EXIT

REAL_NODE=0 KUBECONFIG_OUT=$KUBECONFIG "$ROOT/hack/dev-cluster.sh" up
kubectl apply --server-side -f "$ROOT/config/crd/bases" >/dev/null
# A CRD has no status for a moment after it is created, and kubectl wait fails on that.
for _ in $(seq 50); do
  kubectl wait --for=condition=Established crd/appstacks.apps.appstack.dev --timeout=10s >/dev/null 2>&1 && break
  sleep 0.2
done
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN/manager-record" ./cmd)

operator() { # operator LOG FLAGS...: start the operator in the background
  local log=$1
  shift
  "$BIN/manager-record" --metrics-bind-address="$ADDR" --metrics-secure=false --health-probe-bind-address=0 "$@" \
    >"$log" 2>&1 &
  OP_PID=$!
  for _ in $(seq 100); do
    curl -fs "http://$ADDR/metrics" >/dev/null && return 0
    sleep 0.2
  done
  echo "the operator does not serve metrics on $ADDR; see $log" >&2
  return 1
}

stack() { # stack NAME IMAGE [ANNOTATION] [ROLLOUT]
  local annotations="" rollout=""
  [[ -n ${3:-} ]] && annotations=$'\n'"    annotations: {appstack.dev/simulate: $3}"
  [[ -n ${4:-} ]] && rollout=$'\n'"  rollout: $4"
  cat <<YAML
apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: $1}
spec:$rollout
  components:
  - name: web
    replicas: 2$annotations
    containers: [{name: app, image: "$2", ports: [{containerPort: 8080}]}]
YAML
}

case $SCENARIO in
  main) operator "$WORK/operator-a.log" ;;
  stuck) operator "$WORK/operator-a.log" --kube-api-qps=0.005 --kube-api-burst=40 ;;
  *) echo "SCENARIO is main or stuck, not $SCENARIO" >&2; exit 1 ;;
esac
(cd "$ROOT" && go build -o "$WORK/recordseries" ./hack/recordseries)
"$WORK/recordseries" -url "http://$ADDR/metrics" -interval "$INTERVAL" -out "$WORK/series.yaml" \
  -keep 'appstack_.*|controller_runtime_reconcile_total|controller_runtime_reconcile_errors_total|controller_runtime_active_workers|workqueue_depth|workqueue_adds_total|workqueue_longest_running_processor_seconds|workqueue_unfinished_work_seconds' \
  -only-for '^(controller_runtime|workqueue)_' -only '(controller|name)="appstack"' \
  -labels "job=appstack-operator,instance=$ADDR" 2>"$WORK/recorder.log" &
REC_PID=$!
START=$(date +%s)
TIMELINE=()
at() { # at SECONDS WHAT: wait until SECONDS into the recording, note WHAT
  local now=$(($(date +%s) - START))
  ((now < $1)) && sleep $(($1 - now))
  now=$(($(date +%s) - START))
  TIMELINE+=("$(printf '%2d:%02d' $((now / 60)) $((now % 60)))  $2")
  echo "${TIMELINE[-1]}"
}

main() {
  at 0 "stacks shop, crashy and rolling (autoRollback, failAfter 20s) applied"
  stack shop nginx:1.27 | kubectl apply -f - >/dev/null
  stack crashy busybox CrashLoopBackOff | kubectl apply -f - >/dev/null
  stack rolling appstack-e2e/web:v1 "" "{autoRollback: true, failAfter: 20s}" | kubectl apply -f - >/dev/null
  kubectl wait --for=condition=Ready appstack/shop appstack/rolling --timeout=120s >/dev/null

  at 45 "rolling changed to tag v2, whose pods crash-loop"
  stack rolling appstack-e2e/web:v2 CrashLoopBackOff "{autoRollback: true, failAfter: 20s}" | kubectl apply -f - >/dev/null

  at 90 "shop's Service deleted by hand every 10 s"
  deletions=0
  while (($(date +%s) - START < 450)); do
    kubectl delete service -n shop web --wait=false >/dev/null 2>&1 && deletions=$((deletions + 1))
    sleep 10
  done
  at 450 "deletions stop ($deletions deleted)"

  at 480 "shop's image changed in the spec to nginx:1.28"
  stack shop nginx:1.28 | kubectl apply -f - >/dev/null

  at 720 "operator restarted with --kube-api-qps=0.005 --kube-api-burst=40; six new stacks applied"
  kill "$OP_PID"
  wait "$OP_PID" 2>/dev/null || true
  operator "$WORK/operator-b.log" --kube-api-qps=0.005 --kube-api-burst=40
  for i in 1 2 3 4 5 6; do
    stack "late-$i" nginx:1.27 | kubectl apply -f - >/dev/null
  done
  at 1380 "operator killed"
  kill -9 "$OP_PID"
  wait "$OP_PID" 2>/dev/null || true
  OP_PID=
  at 1440 "recording stopped"
}

stuck() {
  at 0 "operator started with --kube-api-qps=0.005 --kube-api-burst=40; 60 stacks applied"
  for i in $(seq 60); do stack "load-$i" nginx:1.27; echo ---; done | kubectl apply -f - >/dev/null
  at 660 "operator killed"
  kill -9 "$OP_PID"
  wait "$OP_PID" 2>/dev/null || true
  OP_PID=
  at 720 "recording stopped"
}

$SCENARIO
kill -INT "$REC_PID"
wait "$REC_PID" || true
REC_PID=
cat "$WORK/recorder.log"

{
  echo "# Recorded by hack/record-series.sh: the operator's /metrics scraped every $INTERVAL on a"
  echo "# kwok-only local cluster while this ran (mm:ss from the first scrape):"
  for t in "${TIMELINE[@]}"; do echo "#   $t"; done
  echo "# Re-record with SCENARIO=$SCENARIO hack/record-series.sh, then check the expectations"
  echo "# of test $SCENARIO in alerts_test.yaml against the new timeline."
  sed 's/^  //' "$WORK/series.yaml"
} >"$OUT"
echo "wrote $OUT"
