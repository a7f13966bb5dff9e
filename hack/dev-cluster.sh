#!/usr/bin/env bash
# The local cluster: a real etcd, kube-apiserver, kube-controller-manager and
# kube-scheduler built from source (hack/tools.sh), run by kwokctl's binary runtime,
# with kwok simulating the nodes and the kubelet (hack/kwok/stages.yaml: kwok's
# default stages plus simulated kubelet failures for pods annotated
# appstack.dev/simulate). Pods are scheduled, replica sets scaled, endpoints filled,
# PVCs bound by the real controllers.
#
#   hack/dev-cluster.sh up     create or restart the cluster (harmless when it runs)
#   hack/dev-cluster.sh down   delete it
#
# Environment: CLUSTER_NAME (appstack-dev), NODES (3), PV_POOL (PersistentVolumes of
# each size in the pool, 20), PV_SIZES ("1Gi 5Gi 10Gi 50Gi"), AUDIT_POLICY
# (hack/audit-policy.yaml: every write), KUBECONFIG_OUT (bin/$CLUSTER_NAME.kubeconfig).
# REAL_NODE (auto): where it can (root on Linux) the cluster also gets one real node
# (containerd, kubelet, kube-proxy, CoreDNS in a network namespace of its own, the
# project's images imported) beside the kwok nodes; see hack/real-node.sh and
# docs/real-node.md. Elsewhere one line says why and the cluster is kwok-only.
# REAL_NODE=0 leaves it out (the benchmark does); REAL_NODE=1 insists on it. The
# choice is made when the cluster is created (the apiserver's egress selector);
# `down` removes the node too.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCALBIN:-$ROOT/bin}
CLUSTER_NAME=${CLUSTER_NAME:-appstack-dev}
NODES=${NODES:-3}
PV_POOL=${PV_POOL:-20}
PV_SIZES=${PV_SIZES:-1Gi 5Gi 10Gi 50Gi}
AUDIT_POLICY=${AUDIT_POLICY:-$ROOT/hack/audit-policy.yaml}
KUBECONFIG_OUT=${KUBECONFIG_OUT:-$BIN/$CLUSTER_NAME.kubeconfig}
KWOKCTL=("$BIN/kwokctl" --name "$CLUSTER_NAME")
export KUBECONFIG=$KUBECONFIG_OUT

log() { echo "==> $*"; }
die() { echo "!! $*" >&2; exit 1; }

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl; do
  [[ -x $BIN/$b ]] || die "$BIN/$b is missing; build it with 'make tools' (hack/tools.sh)"
done
command -v kubectl >/dev/null || die "kubectl is not on PATH"

# has_real_node: the cluster was created for a real node (its apiserver has the
# egress selector).
has_real_node() { grep -q -- "egress-selector-config-file" "$HOME/.kwok/clusters/$CLUSTER_NAME/kwok.yaml" 2>/dev/null; }

# grep reads the whole list: with -q it would exit at the first match, kwokctl could
# die of SIGPIPE writing the rest, and pipefail would call the cluster absent.
exists() { "${KWOKCTL[@]}" get clusters 2>/dev/null | grep -x "$CLUSTER_NAME" >/dev/null; }
healthy() { [[ -f $KUBECONFIG_OUT ]] && kubectl get --raw /readyz >/dev/null 2>&1; }

create() {
  # REAL_NODE=1: the apiserver reaches the real node's kubelet, pods and Services only
  # through the egress selector (a CONNECT proxy inside the node's network namespace),
  # by InternalIP, with a client certificate the kubelet accepts; its certificate also
  # names the kubernetes Service's ClusterIP; kwok manages only its own nodes (the
  # annotation kwokctl puts on them), not the real one.
  local REAL_NODE_ARGS=() why
  if [[ ${REAL_NODE:-auto} == 0 ]]; then
    :
  elif ! why=$("$ROOT/hack/real-node.sh" can-run); then
    [[ ${REAL_NODE:-auto} == 1 ]] && die "REAL_NODE=1 but the real node cannot run here: $why"
    log "no real node: $why; kwok nodes only"
  else
    local pki=$HOME/.kwok/clusters/$CLUSTER_NAME/pki fp
    fp=$(CLUSTER_NAME=$CLUSTER_NAME "$ROOT/hack/real-node.sh" front-proxy)
    # The aggregation layer (metrics-server on the real node serves metrics.k8s.io):
    # the front proxy's CA and client certificate (they override kwokctl's own
    # proxy-client flags, the last value wins), and routing to the EndpointSlice's
    # address, which the egress selector reaches. The autoscaler looks every 5 s and
    # scales down 30 s after the load is gone (the default is 5 minutes), so the
    # HorizontalPodAutoscaler demo and e2e spec see both directions.
    # kwokctl v0.8.0 indexes --extra-args by position: every component's first flag
    # must come before any component's repeat, so these stay after the ones above.
    REAL_NODE_ARGS=(
      --config "$(CLUSTER_NAME=$CLUSTER_NAME "$ROOT/hack/real-node.sh" kwokctl-config)"
      --extra-args "kwok-controller=manage-all-nodes=false"
      --extra-args "kwok-controller=manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake"
      --extra-args "kube-apiserver=egress-selector-config-file=$(CLUSTER_NAME=$CLUSTER_NAME "$ROOT/hack/real-node.sh" egress-config)"
      --extra-args "kube-apiserver=kubelet-preferred-address-types=InternalIP"
      --extra-args "kube-apiserver=kubelet-client-certificate=$pki/admin.crt"
      --extra-args "kube-apiserver=kubelet-client-key=$pki/admin.key"
      --extra-args "kube-apiserver=requestheader-client-ca-file=$fp/front-proxy-ca.crt"
      --extra-args "kube-apiserver=requestheader-allowed-names=front-proxy-client"
      --extra-args "kube-apiserver=requestheader-username-headers=X-Remote-User"
      --extra-args "kube-apiserver=requestheader-group-headers=X-Remote-Group"
      --extra-args "kube-apiserver=requestheader-extra-headers-prefix=X-Remote-Extra-"
      --extra-args "kube-apiserver=proxy-client-cert-file=$fp/front-proxy-client.crt"
      --extra-args "kube-apiserver=proxy-client-key-file=$fp/front-proxy-client.key"
      --extra-args "kube-apiserver=enable-aggregator-routing=true"
      --extra-args "kube-controller-manager=horizontal-pod-autoscaler-sync-period=5s"
      --extra-args "kube-controller-manager=horizontal-pod-autoscaler-downscale-stabilization=30s"
    )
  fi
  log "creating cluster $CLUSTER_NAME (kwokctl, binary runtime, Kubernetes $("$BIN/kube-apiserver" --version | cut -d' ' -f2))"
  # The Service CIDR is widened from kwokctl's /24 (about 250 ClusterIPs) so that
  # hundreds of stacks fit; the apiserver and controller-manager must agree on it.
  # kwokctl v0.8.0 mis-parses --extra-args listed as A,A,B,B; keep the order A,B,B,A.
  "${KWOKCTL[@]}" create cluster \
    --runtime binary \
    --etcd-binary "$BIN/etcd" \
    --kube-apiserver-binary "$BIN/kube-apiserver" \
    --kube-controller-manager-binary "$BIN/kube-controller-manager" \
    --kube-scheduler-binary "$BIN/kube-scheduler" \
    --kwok-controller-binary "$BIN/kwok" \
    --kubeconfig "$KUBECONFIG_OUT" \
    --kube-audit-policy "$AUDIT_POLICY" \
    --config "$ROOT/hack/kwok/stages.yaml" \
    --disable-qps-limits \
    --extra-args "kube-apiserver=service-cluster-ip-range=10.96.0.0/16" \
    --extra-args "kube-controller-manager=service-cluster-ip-range=10.96.0.0/16" \
    "${REAL_NODE_ARGS[@]}" \
    --wait 120s \
    --quiet-pull >"$BIN/$CLUSTER_NAME.create.log" 2>&1 ||
    { tail -20 "$BIN/$CLUSTER_NAME.create.log" >&2; die "kwokctl create cluster $CLUSTER_NAME failed (log: $BIN/$CLUSTER_NAME.create.log)"; }
}

up() {
  local start=$SECONDS
  if exists && ! healthy; then
    log "cluster $CLUSTER_NAME exists but is not running; starting it"
    if ! "${KWOKCTL[@]}" start cluster >/dev/null 2>&1 || ! wait_ready 60; then
      log "restart failed; recreating $CLUSTER_NAME"
      "${KWOKCTL[@]}" delete cluster >/dev/null 2>&1 || true
    fi
  fi
  exists || create
  # kwokctl writes the kubeconfig only at create; keep it in place regardless.
  "${KWOKCTL[@]}" get kubeconfig >"$KUBECONFIG_OUT.tmp" 2>/dev/null && mv "$KUBECONFIG_OUT.tmp" "$KUBECONFIG_OUT"
  wait_ready 60 || die "cluster $CLUSTER_NAME did not become ready; logs: ${KWOKCTL[*]} logs kube-apiserver"

  local have
  have=$(kubectl get nodes -o name 2>/dev/null | wc -l)
  if [[ $have -lt $NODES ]]; then
    log "scaling to $NODES simulated nodes"
    "${KWOKCTL[@]}" scale node --replicas "$NODES" >/dev/null 2>&1 || die "kwokctl scale node --replicas $NODES failed"
  fi
  kubectl wait --for=condition=Ready nodes --all --timeout=60s >/dev/null
  storage
  if has_real_node; then
    local rc=0
    CLUSTER_NAME=$CLUSTER_NAME KUBECONFIG=$KUBECONFIG_OUT "$ROOT/hack/real-node.sh" up || rc=$?
    [[ $rc == 0 || $rc == 3 ]] || die "the real node did not start (hack/real-node.sh status; logs under /var/lib/appstack-node/$CLUSTER_NAME/logs)"
  fi
  log "cluster $CLUSTER_NAME is up in $((SECONDS - start))s: $(kubectl get nodes --no-headers | wc -l) nodes, server $(server_version)"
  echo "    export KUBECONFIG=$KUBECONFIG_OUT"
  echo "    audit log of every write: $HOME/.kwok/clusters/$CLUSTER_NAME/logs/audit.log"
  echo "    stop it with: make dev-cluster-down"
}

wait_ready() {
  local deadline=$((SECONDS + $1))
  until healthy; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 1
  done
}

server_version() {
  kubectl version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1
}

# storage gives the cluster a default StorageClass "standard" and a pool of
# pre-made PersistentVolumes, so PVCs bind through the real PV controller (nothing
# provisions volumes here). Released volumes are made Available again.
storage() {
  local sizes size i name manifest
  read -r -a sizes <<<"$PV_SIZES"
  manifest=$(mktemp)
  cat >"$manifest" <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
allowVolumeExpansion: true
EOF
  for size in "${sizes[@]}"; do
    for ((i = 0; i < PV_POOL; i++)); do
      name=$(printf 'pool-%s-%03d' "$(echo "$size" | tr 'A-Z' 'a-z')" "$i")
      cat >>"$manifest" <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels:
    appstack.dev/pool: "true"
spec:
  capacity:
    storage: $size
  accessModes: [ReadWriteOnce, ReadOnlyMany, ReadWriteMany]
  storageClassName: standard
  persistentVolumeReclaimPolicy: Retain
  hostPath:
    path: /var/lib/appstack-pool/$name
EOF
    done
  done
  kubectl apply --server-side --field-manager=dev-cluster -f "$manifest" >/dev/null
  rm -f "$manifest"
  local released
  released=$(kubectl get pv -l appstack.dev/pool=true -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}')
  for name in $released; do
    kubectl patch pv "$name" --type=json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  done
  log "storage: default StorageClass standard, $(kubectl get pv -l appstack.dev/pool=true --no-headers | grep -c Available || true) PersistentVolumes available"
}

down() {
  if has_real_node || [[ -d /var/lib/appstack-node/$CLUSTER_NAME ]]; then
    CLUSTER_NAME=$CLUSTER_NAME KUBECONFIG=$KUBECONFIG_OUT "$ROOT/hack/real-node.sh" down
    rm -rf "$BIN/$CLUSTER_NAME.egress-selector.yaml" "$BIN/$CLUSTER_NAME.real-node.kwokctl.yaml" "$BIN/$CLUSTER_NAME.front-proxy"
  fi
  if exists; then
    "${KWOKCTL[@]}" delete cluster >/dev/null 2>&1 || die "kwokctl delete cluster $CLUSTER_NAME failed"
    log "cluster $CLUSTER_NAME deleted"
  else
    log "no cluster $CLUSTER_NAME"
  fi
  rm -f "$KUBECONFIG_OUT"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) die "usage: $0 up|down" ;;
esac
