#!/usr/bin/env bash
# `make demo`: the local cluster, the CRD, the admission policy and the appstack
# ClusterRoles, the operator, every sample stack and a team's stack, waited on until
# Ready (only those: other stacks do not count).
#
# The team (README.md, "Who may do what"): namespace team-a, handed by its owner to
# the stack team-a-shop, ClusterRole edit there for group team-a and
# appstack-editor-role everywhere; the stack is applied as alice of team-a.
#
# Where the cluster has a real node (root on Linux; hack/dev-cluster.sh), the operator
# is installed from its chart (hack/real-node-values.yaml) and runs as two pods on that
# node with its ServiceAccount, under Pod Security "restricted", one of them leading;
# the live-container samples (config/samples/real-node) are applied too, and a page is
# fetched from inside the cluster through a stack's Service name. Elsewhere the
# operator runs in the background as a process on this machine.
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

OP_NS=appstack-system
RELEASE=appstack
OP_DEPLOY=appstack-appstack-operator

real_node() { kubectl get nodes -l appstack.dev/real-node=true -o name 2>/dev/null | grep -q .; }

# The operator as pods on the real node, from the chart. The CRD and the admission
# policy are installed above from config/ (kubectl), so the chart leaves them be.
start_operator_pods() {
  stop_operator
  kubectl create namespace "$OP_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl label namespace "$OP_NS" --overwrite pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/enforce-version=latest >/dev/null
  local again=0
  "$BIN/helm" status "$RELEASE" -n "$OP_NS" >/dev/null 2>&1 && again=1
  "$BIN/helm" upgrade --install "$RELEASE" "$ROOT/charts/appstack-operator" -n "$OP_NS" \
    -f "$ROOT/hack/real-node-values.yaml" --set installCRDs=false --set admissionPolicy.enabled=false \
    --wait --timeout 180s >/dev/null || die "helm upgrade --install $RELEASE failed; kubectl get pods -n $OP_NS"
  if [[ $again == 1 ]]; then
    # Same tag, new image (hack/images.sh rebuilt it and the node imported it).
    kubectl rollout restart "deployment/$OP_DEPLOY" -n "$OP_NS" >/dev/null
    kubectl rollout status "deployment/$OP_DEPLOY" -n "$OP_NS" --timeout=180s >/dev/null ||
      die "the operator's pods did not roll out; kubectl get pods -n $OP_NS"
  fi
  local holder=""
  for _ in $(seq 60); do
    holder=$(kubectl get lease -n "$OP_NS" appstack-operator.appstack.dev -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)
    [[ -n $holder ]] && kubectl get pod -n "$OP_NS" "${holder%%_*}" >/dev/null 2>&1 && break
    sleep 1
  done
  log "operator running as pods on the real node (chart $RELEASE in $OP_NS, Pod Security restricted); leader ${holder%%_*}"
  kubectl get pods -n "$OP_NS" -o wide
}

stop_operator_pods() {
  if "$BIN/helm" status "$RELEASE" -n "$OP_NS" >/dev/null 2>&1; then
    "$BIN/helm" uninstall "$RELEASE" -n "$OP_NS" --wait >/dev/null && log "operator release $RELEASE uninstalled (the CRD and the stacks stay)"
  fi
}

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
  [[ -f $KUBECONFIG ]] && kubectl get --raw /readyz >/dev/null 2>&1 && stop_operator_pods
  exit 0
fi

start=$SECONDS
"$ROOT/hack/dev-cluster.sh" up

log "installing the AppStack CRD (config/crd: its own step, before the operator)"
kubectl apply --server-side --force-conflicts -k "$ROOT/config/crd" >/dev/null
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

if real_node; then
  start_operator_pods
  # The chart's operator runs as its own ServiceAccount: the policy lets it alone (and
  # the admin groups) remove a stack's finalizer (config/admission/kustomization.yaml).
  kubectl patch validatingadmissionpolicy appstack-privileged-stacks --type=json -p \
    "$(printf '[{"op": "replace", "path": "/spec/variables/1/expression", "value": "[\\"system:serviceaccount:%s:%s\\"]"}]' "$OP_NS" "$OP_DEPLOY")" >/dev/null
  LOGS="kubectl logs -n $OP_NS -l app.kubernetes.io/name=appstack-operator --prefix -f"
else
  stop_operator_pods
  start_operator
  LOGS="tail -f $LOGFILE"
fi

log "applying config/samples"
# The stacks the samples define, and only those, are waited on: a stack of your own
# that is failing on this cluster does not fail the demo.
mapfile -t samples < <(kubectl apply -k "$ROOT/config/samples" -o name)
[[ ${#samples[@]} -gt 0 ]] || die "kubectl apply -k config/samples applied nothing"
if real_node; then
  log "applying config/samples/real-node (live containers on the real node)"
  mapfile -t -O "${#samples[@]}" samples < <(kubectl apply -k "$ROOT/config/samples/real-node" -o name)
fi
printf '%s configured\n' "${samples[@]}"

log "a team of its own: namespace team-a, handed to stack team-a-shop, ClusterRole edit there and appstack-editor-role for group team-a"
kubectl create namespace team-a --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl annotate namespace team-a --overwrite apps.appstack.dev/adopt=team-a-shop >/dev/null
kubectl create rolebinding team-a-edit -n team-a --clusterrole=edit --group=team-a \
  --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f - >/dev/null
kubectl create clusterrolebinding team-a-stacks --clusterrole=appstack-editor-role --group=team-a \
  --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f - >/dev/null
TEAM_STACK='apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: team-a-shop}
spec:
  namespace: {name: team-a, adopt: true}
  components:
  - name: web
    containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]'
# RBAC's caches take a moment to show new bindings.
for i in $(seq 20); do
  out=$(kubectl --as=alice --as-group=team-a apply -f - <<<"$TEAM_STACK" 2>&1) && break
  [[ $i -lt 20 ]] || die "alice of team-a could not apply her stack: $out"
  sleep 0.5
done
echo "$ kubectl --as=alice --as-group=team-a apply -f team-a-shop.yaml"
echo "$out"
samples+=(appstack.apps.appstack.dev/team-a-shop)

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
  die "not every sample stack became Ready; operator log: $LOGS"
fi

echo
kubectl get "${samples[@]}"
echo
kubectl get deployments,services,pods -A -l app.kubernetes.io/managed-by=appstack-operator
echo
if real_node; then
  # A real answer: the page the shared-page sample's sidecar writes, fetched from
  # inside the cluster through the stack's Service name (a Service's endpoints
  # follow a Ready pod by a moment; retry briefly).
  fetch=(kubectl exec -n shared-page deploy/web -c writer -- wget -qO- http://web.shared-page/)
  page=""
  for _ in $(seq 30); do page=$("${fetch[@]}" 2>/dev/null) && break; sleep 1; done
  [[ -n $page ]] || die "could not fetch http://web.shared-page/ from inside the cluster: ${fetch[*]}"
  log "fetched from inside the cluster through the Service name: ${fetch[*]}"
  echo "    $page"
  echo
fi
log "demo ready in $((SECONDS - start))s. The cluster and the operator keep running:"
cat <<EOF
    export KUBECONFIG=$KUBECONFIG_OUT
    kubectl get stacks                      # READY / STATUS of every stack
    kubectl get stack gurumee -o yaml       # status: components, conditions, observedGeneration
    $BIN/kubectl-appstack dashboard   # every stack, live in your browser (kubectl appstack dashboard after make install-plugin)
    $BIN/kubectl-appstack graph guestbook -o mermaid   # a stack's graph for docs (dot, mermaid, svg; -f FILE offline)
    kubectl delete deployment simple-app -n gurumee   # the operator puts it back
    # team-a's stack, and what another team may do to it (README.md, "Who may do what"):
    kubectl --as=alice --as-group=team-a get stack team-a-shop
    kubectl --as=bob --as-group=appstack:editors patch stack team-a-shop --type=merge -p '{"spec":{"paused":true}}'   # refused: names the permission bob lacks in team-a
    # a stack author who is no admin is refused a privileged stack:
    kubectl --as=alice --as-group=appstack:editors apply --dry-run=server -f - <<<'{"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack", "metadata": {"name": "mine"}, "spec": {"namespace": {"podSecurity": "privileged"}, "components": [{"name": "web", "containers": [{"name": "app", "image": "nginx"}]}]}}'
    $LOGS   # the operator's log
    make dev-cluster-down                   # stop the operator and delete the cluster
EOF
