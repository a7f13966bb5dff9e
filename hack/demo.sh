#!/usr/bin/env bash
# `make demo`: the local cluster, the CRD, the admission policy and the appstack
# ClusterRoles, the operator (in the background, as a process on this machine) and
# every sample stack, waited on until Ready (only those: other stacks do not count).
#
#   hack/demo.sh        bring it all up (again: it restarts the operator on the newest build)
#   hack/demo.sh stop   stop the operator (the cluster stays; `make dev-cluster-down` removes both)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCALBIN:-$ROOT/bin}
CLUSTER_NAME=${CLUSTER_NAME:-appstack-dev}
export KUBECONFIG_OUT=${KUBECONFIG_OUT:-$BIN/$CLUSTER_NAME.kubeconfig}
export KUBECONFIG=$KUBECONFIG_OUT
PIDFILE=$BIN/$CLUSTER_NAME.manager.pid
LOGFILE=$BIN/$CLUSTER_NAME.manager.log
WAIT=${WAIT:-180s}

log() { echo "==> $*"; }
die() { echo "!! $*" >&2; exit 1; }

stop_operator() {
  if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "operator (pid $pid) stopped"
  fi
  rm -f "$PIDFILE"
}

start_operator() {
  [[ -x $BIN/manager ]] || die "$BIN/manager is missing; run 'make build'"
  stop_operator
  # Its own session, so it outlives `make demo`; logs go to a file.
  setsid "$BIN/manager" --metrics-bind-address=0 --health-probe-bind-address=0 \
    >"$LOGFILE" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  sleep 1
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -20 "$LOGFILE" >&2; die "the operator exited at start (log: $LOGFILE)"; }
  log "operator running (pid $(cat "$PIDFILE")), log: $LOGFILE"
}

if [[ ${1:-} == stop ]]; then
  stop_operator
  exit 0
fi

start=$SECONDS
"$ROOT/hack/dev-cluster.sh" up

log "installing the AppStack CRD"
kubectl apply --server-side --force-conflicts -f "$ROOT/config/crd/bases" >/dev/null
# A new CRD has no status for a moment, and kubectl wait fails on that; retry.
for i in $(seq 30); do
  kubectl wait --for=condition=Established crd/appstacks.apps.appstack.dev --timeout=10s >/dev/null 2>&1 && break
  [[ $i -lt 30 ]] || die "the AppStack CRD did not become Established"
  sleep 1
done

log "installing the admission policy (config/admission) and the appstack-{viewer,editor,admin}-role ClusterRoles"
# Only members of the admin groups (system:masters, which the demo's kubeconfig has,
# and appstack:platform-admins) may apply privileged stacks; README.md, "Who may do what".
kubectl apply --server-side --force-conflicts -k "$ROOT/config/admission" >/dev/null
kubectl apply --server-side --force-conflicts -f "$ROOT/config/rbac/appstack_viewer_role.yaml" \
  -f "$ROOT/config/rbac/appstack_editor_role.yaml" -f "$ROOT/config/rbac/appstack_admin_role.yaml" >/dev/null
# Group appstack:editors may edit stacks, so `kubectl --as=alice --as-group=appstack:editors`
# shows what a stack author who is not an admin may do.
kubectl create clusterrolebinding appstack-demo-editors --clusterrole=appstack-editor-role \
  --group=appstack:editors --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f - >/dev/null

start_operator

log "applying config/samples"
# The stacks the samples define, and only those, are waited on: a stack of your own
# that is failing on this cluster does not fail the demo.
mapfile -t samples < <(kubectl apply -k "$ROOT/config/samples" -o name)
[[ ${#samples[@]} -gt 0 ]] || die "kubectl apply -k config/samples applied nothing"
printf '%s configured\n' "${samples[@]}"

log "waiting up to $WAIT for the ${#samples[@]} sample stacks to be Ready"
ready() {
  local deadline=$((SECONDS + ${WAIT%s}))
  # kubectl wait fails, instead of waiting, on a stack that has no status yet.
  until kubectl wait --for=condition=Ready "${samples[@]}" --timeout=10s 2>/dev/null; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 1
  done
}
if ! ready; then
  kubectl get "${samples[@]}"
  kubectl get "${samples[@]}" -o jsonpath='{range .items[*]}{.metadata.name}: {.status.summary}{"\n"}{end}'
  die "not every sample stack became Ready; operator log: $LOGFILE"
fi

echo
kubectl get "${samples[@]}"
echo
kubectl get deployments,services,pods -A -l app.kubernetes.io/managed-by=appstack-operator
echo
log "demo ready in $((SECONDS - start))s. The cluster and the operator keep running:"
cat <<EOF
    export KUBECONFIG=$KUBECONFIG_OUT
    kubectl get stacks                      # READY / STATUS of every stack
    kubectl get stack gurumee -o yaml       # status: components, conditions, observedGeneration
    kubectl delete deployment simple-app -n gurumee   # the operator puts it back
    # a stack author who is no admin (README.md, "Who may do what") is refused a privileged stack:
    kubectl --as=alice --as-group=appstack:editors apply --dry-run=server -f - <<<'{"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack", "metadata": {"name": "mine"}, "spec": {"namespace": {"podSecurity": "privileged"}, "components": [{"name": "web", "containers": [{"name": "app", "image": "nginx"}]}]}}'
    tail -f $LOGFILE                        # the operator's log
    make dev-cluster-down                   # stop the operator and delete the cluster
EOF
