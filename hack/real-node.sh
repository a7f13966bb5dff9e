#!/usr/bin/env bash
# One real node beside the kwok nodes of the local cluster (hack/dev-cluster.sh up
# calls this where it can run: root on Linux; docs/real-node.md).
#
#   hack/real-node.sh up       start the node (idempotent: a running node is left alone)
#   hack/real-node.sh down     stop it and remove everything it made
#   hack/real-node.sh status   processes, node, sandboxes
#   hack/real-node.sh smoke    a pod behind a Service on the node, fetched by DNS name
#   hack/real-node.sh import A.tar...  load image archives (docker or OCI) into the node
#   hack/real-node.sh tools    build its tools into bin/ (where it can run)
#
# What runs: containerd (Debian package), kubelet and kube-proxy v1.36.3 (hack/tools.sh
# node), CoreDNS v1.15.0 (hack/tools.sh coredns) and the CNI bridge, all inside the
# network namespace $NETNS, which has no default route and no link to the outside:
# only its loopback (carrying the apiserver's advertise address, which is also the
# node's InternalIP) and the pod bridge. The kubelet reaches the apiserver through
# socat over a unix socket (netns 127.0.0.1/advertise-ip:PORT -> unix socket -> host
# 127.0.0.1:PORT); the apiserver reaches the kubelet, pods and Services through its
# egress selector (cluster -> HTTP CONNECT over a unix socket -> appstack-egress-proxy
# inside the namespace), which hack/dev-cluster.sh configures at cluster creation
# when REAL_NODE=1 (it also adds the Service IP 10.96.0.1 to the apiserver's
# certificate, so in-cluster clients on the node verify it). An iptables guard in the
# namespace (mangle FORWARD, ahead of kube-proxy's rules) drops anything forwarded off
# the pod bridge except to pods; the Service CIDR is routed to the namespace's
# loopback so its own processes reach ClusterIPs through kube-proxy. CoreDNS answers
# cluster names only (no forward plugin) on the kube-dns Service (10.96.0.10).
# metrics-server v0.9.0 (hack/tools.sh metrics-server) runs in the namespace too, on
# NODE_IP:$METRICS_PORT, reads the kubelet's resource metrics and is registered as the
# APIService v1beta1.metrics.k8s.io (kubectl top, HorizontalPodAutoscalers); the
# apiserver reaches it through the egress selector, trusting it by the cluster CA,
# and it trusts the apiserver's front-proxy certificate (`front-proxy`, made before
# the cluster is created). Nothing is pulled: the pause, test and operator images
# are written by hack/images.sh (docs/images.md) and imported with ctr at every `up`
# (the operator image is rebuilt from the tree each time); pods must use
# imagePullPolicy: IfNotPresent (or Never) with those images.
#
# The node is named $NODE_NAME, labelled appstack.dev/real-node=true and tainted
# appstack.dev/real-node=true:NoSchedule; a pod lands there only with
#   nodeSelector: {appstack.dev/real-node: "true"}
#   tolerations: [{key: appstack.dev/real-node, operator: Exists, effect: NoSchedule}]
# Images: appstack.dev/pause:3.10 (sandbox), appstack.dev/testserver:0.1.0 and 0.2.0,
# appstack-operator:<VERSION> (IMG).
#
# Everything lives under $STATE_DIR (/var/lib/appstack-node/<cluster>); processes are
# recorded in $STATE_DIR/pids and stopped by PID; kubelet's cgroups are under
# /appstack-node-<cluster> in every cgroup v1 hierarchy. `down` removes sandboxes
# through CRI, stops the processes, unmounts, removes the cgroups, the namespace and
# the state directory.
#
# Known limits: with REAL_NODE=1 every apiserver connection of the egress type
# "cluster" goes through the proxy in the namespace, so kubectl logs/exec/port-forward
# on kwok pods (whose "kubelet" is kwok-controller on the host) get 502; the
# proxy dials only the node IP, the pod CIDR and the Service CIDR. kubelet 1.36 keeps
# its device-plugin socket in /var/lib/kubelet/device-plugins whatever its root dir
# (one real node per machine is what is tested). hostPath volumes used by pods on the
# node (the dev cluster's PV pool, /var/lib/appstack-pool) are created on the host by
# containerd and survive `down`, like data on a real disk. Processes stopped by `down`
# are reaped by PID 1, which on our VMs takes a second or two.
#
# Environment: CLUSTER_NAME (appstack-dev), NODE_NAME (<cluster>-real), NETNS
# (appstack-node-<cluster without "appstack-">, e.g. appstack-node-dev), POD_CIDR
# (10.244.0.0/24), SERVICE_CIDR (10.96.0.0/16), DNS_IP (10.96.0.10), STATE_DIR,
# KUBECONFIG (bin/<cluster>.kubeconfig).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCALBIN:-$ROOT/bin}
CLUSTER_NAME=${CLUSTER_NAME:-appstack-dev}
NODE_NAME=${NODE_NAME:-$CLUSTER_NAME-real}
NETNS=${NETNS:-appstack-node-${CLUSTER_NAME#appstack-}}
POD_CIDR=${POD_CIDR:-10.244.0.0/24}
SERVICE_CIDR=${SERVICE_CIDR:-10.96.0.0/16}
DNS_IP=${DNS_IP:-10.96.0.10}
METRICS_PORT=${METRICS_PORT:-4443}
# The hack/tools.sh groups the node runs from.
TOOLS=(node coredns metrics-server real-node)
PROCESSES="api-host api-netns egress containerd kubelet kube-proxy coredns metrics-server"
STATE_DIR=${STATE_DIR:-/var/lib/appstack-node/$CLUSTER_NAME}
CGROUP_ROOT=/appstack-node-$CLUSTER_NAME
BRIDGE=appstack0
# The CNI network name; libcni caches results as <name>-<container>-<if> in /var/lib/cni.
CNI_NETWORK=${CLUSTER_NAME}_appstack
KWOK_DIR=$HOME/.kwok/clusters/$CLUSTER_NAME
PKI=$KWOK_DIR/pki
export KUBECONFIG=${KUBECONFIG:-$BIN/$CLUSTER_NAME.kubeconfig}
NS=(nsenter "--net=/run/netns/$NETNS" --)
CTR=(ctr --address "$STATE_DIR/containerd.sock" -n k8s.io)
CRI=("$BIN/appstack-cri" -endpoint "unix://$STATE_DIR/containerd.sock")
PAUSE_IMAGE=appstack.dev/pause:3.10
TEST_IMAGE=appstack.dev/testserver:0.1.0

log() { echo "==> real node: $*"; }
die() { echo "!! real node: $*" >&2; exit 1; }

# The egress selector configuration the apiserver is created with (dev-cluster.sh
# passes its path); the socket is where appstack-egress-proxy listens.
egress_config_path() { echo "$BIN/$CLUSTER_NAME.egress-selector.yaml"; }
write_egress_config() {
  cat >"$(egress_config_path)" <<EOF
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: $STATE_DIR/egress.sock
EOF
  echo "$(egress_config_path)"
}

# A kwokctl configuration for cluster creation: the apiserver's certificate also names
# the kubernetes Service's ClusterIP, so in-cluster clients on the real node verify it.
kwokctl_config_path() { echo "$BIN/$CLUSTER_NAME.real-node.kwokctl.yaml"; }
write_kwokctl_config() {
  local first=${SERVICE_CIDR%/*}
  first=${first%.*}.$((${first##*.} + 1))
  cat >"$(kwokctl_config_path)" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  kubeApiserverCertSANs: ["$first"]
EOF
  echo "$(kwokctl_config_path)"
}

# The aggregation layer's front proxy (metrics-server trusts requests the apiserver
# forwards with this client certificate): a CA and a client certificate, made before
# the cluster is created because the apiserver's flags name them.
front_proxy_dir() { echo "$BIN/$CLUSTER_NAME.front-proxy"; }
write_front_proxy() {
  local fp
  fp=$(front_proxy_dir)
  mkdir -p "$fp"
  if [[ ! -f $fp/front-proxy-client.crt ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=appstack-front-proxy-ca" \
      -keyout "$fp/front-proxy-ca.key" -out "$fp/front-proxy-ca.crt" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=front-proxy-client" \
      -keyout "$fp/front-proxy-client.key" -out "$fp/front-proxy-client.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$fp/client.ext"
    openssl x509 -req -in "$fp/front-proxy-client.csr" -CA "$fp/front-proxy-ca.crt" -CAkey "$fp/front-proxy-ca.key" \
      -CAcreateserial -days 3650 -extfile "$fp/client.ext" -out "$fp/front-proxy-client.crt" 2>/dev/null
  fi
  echo "$fp"
}

# can_run prints why the node cannot run here, if it cannot.
can_run() {
  [[ $(uname -s) == Linux ]] || { echo "not Linux"; return 1; }
  [[ $(id -u) == 0 ]] || { echo "not root (containerd, network namespaces and cgroups need root)"; return 1; }
  [[ -d /sys/fs/cgroup ]] || { echo "no /sys/fs/cgroup"; return 1; }
}

packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v socat >/dev/null || missing+=(socat)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  command -v openssl >/dev/null || missing+=(openssl)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  log "installing ${missing[*]}"
  local out
  out=$(mktemp)
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$out" 2>&1; then
    tail -20 "$out" >&2
    rm -f "$out"
    die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$out"
}

# start NAME CMD... runs CMD inside the namespace, detached, logging to
# $STATE_DIR/logs/NAME.log, and records its PID (nsenter and setsid exec, so $! is
# the program itself).
start() {
  local name=$1
  shift
  setsid "${NS[@]}" "$@" >"$STATE_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/pids/$name"
}
start_host() {
  local name=$1
  shift
  setsid "$@" >"$STATE_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/pids/$name"
}
# alive PID: the process exists, is not a zombie waiting for init to reap it, and is
# one of ours (its command line names the state directory), not a reused PID.
alive() {
  [[ -n $1 && -r /proc/$1/status ]] || return 1
  grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null && return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$STATE_DIR"
}
running() { local p; p=$(cat "$STATE_DIR/pids/$1" 2>/dev/null) && alive "$p"; }

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local limit=$1 deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $deadline ]] || die "$what did not happen within ${limit}s; logs: $STATE_DIR/logs"
    sleep 0.2
  done
}

# cert NAME CN O signs a client certificate with the cluster's CA.
cert() {
  local name=$1 cn=$2 o=$3 subj
  [[ -f $STATE_DIR/pki/$name.crt ]] && return 0
  subj="/CN=$cn"
  [[ -n $o ]] && subj="/O=$o$subj"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$STATE_DIR/pki/$name.key" -subj "$subj" \
    -out "$STATE_DIR/pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$STATE_DIR/pki/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -out "$STATE_DIR/pki/$name.crt" 2>/dev/null
}
# serving_cert NAME DNS signs a serving certificate for DNS and the node IP.
serving_cert() {
  local name=$1 dns=$2
  [[ -f $STATE_DIR/pki/$name.crt ]] && return 0
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$dns" -keyout "$STATE_DIR/pki/$name.key" \
    -out "$STATE_DIR/pki/$name.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,IP:%s\n' \
    "$dns" "$NODE_IP" >"$STATE_DIR/pki/$name.ext"
  openssl x509 -req -in "$STATE_DIR/pki/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -extfile "$STATE_DIR/pki/$name.ext" -out "$STATE_DIR/pki/$name.crt" 2>/dev/null
}
kubeconfig() { # kubeconfig NAME -> file whose server is the apiserver as seen from the namespace
  cat >"$STATE_DIR/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$STATE_DIR/pki/$1.crt", client-key: "$STATE_DIR/pki/$1.key"}
contexts:
- name: local
  context: {cluster: local, user: $1}
current-context: local
EOF
}

# images writes the project's images (hack/images.sh) and imports every archive in
# bin/images into the node's containerd.
images() {
  local a
  "$ROOT/hack/images.sh" >"$STATE_DIR/logs/images.log" 2>&1 ||
    { tail -20 "$STATE_DIR/logs/images.log" >&2; die "hack/images.sh failed (log: $STATE_DIR/logs/images.log)"; }
  for a in "$BIN"/images/*.tar; do
    "${CTR[@]}" images import --all-platforms "$a" >/dev/null
  done
}

write_configs() {
  mkdir -p "$STATE_DIR"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs,pki}
  cat >"$STATE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$STATE_DIR/containerd/root"
state = "$STATE_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$STATE_DIR/containerd.sock"
[ttrpc]
  address = "$STATE_DIR/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # The VM withholds CAP_SYS_RESOURCE; without this every sandbox fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$STATE_DIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE_DIR/cni/net.d"
EOF
  cat >"$STATE_DIR/cni/net.d/10-appstack.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  cat >"$STATE_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 on this machine: kubelet 1.36 refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failSwapOn: false
containerRuntimeEndpoint: unix://$STATE_DIR/containerd.sock
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
podLogsDir: $STATE_DIR/pod-logs
podCIDR: $POD_CIDR
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: $STATE_DIR/resolv.conf
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
registerWithTaints:
- {key: appstack.dev/real-node, value: "true", effect: NoSchedule}
# Imported images cannot be pulled again: never collect them, never evict for disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%"}
serializeImagePulls: false
EOF
  cat >"$STATE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
clientConnection:
  kubeconfig: $STATE_DIR/kube-proxy.kubeconfig
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  maxPerCore: 0
  min: 0
iptables:
  localhostNodePorts: false
EOF
  # Pods with dnsPolicy Default get this; there is nothing to resolve outside.
  printf 'nameserver %s\n' "$DNS_IP" >"$STATE_DIR/resolv.conf"
  cat >"$STATE_DIR/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    ready 127.0.0.1:8181
    health 127.0.0.1:8080
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $STATE_DIR/coredns.kubeconfig local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
EOF
}

cluster_facts() {
  [[ -f $PKI/ca.key ]] || die "no cluster CA at $PKI (is $CLUSTER_NAME a kwokctl cluster?)"
  API_PORT=$(sed -n 's#.*server: https://127.0.0.1:\([0-9]*\).*#\1#p' "$KWOK_DIR/kubeconfig.yaml" | head -1)
  [[ -n $API_PORT ]] || die "cannot find the apiserver port in $KWOK_DIR/kubeconfig.yaml"
  # The apiserver's advertise address is the kubernetes Service's endpoint. It becomes
  # the node's IP on the namespace's loopback, so the Service works from pods too.
  NODE_IP=$(kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes \
    -o jsonpath='{.items[0].endpoints[0].addresses[0]}')
  [[ -n $NODE_IP ]] || die "cannot read the kubernetes Service's endpoint"
  if ! grep -q -- "egress-selector-config-file" "$KWOK_DIR/kwok.yaml"; then
    die "cluster $CLUSTER_NAME was created without the egress selector; recreate it with: hack/dev-cluster.sh down && REAL_NODE=1 hack/dev-cluster.sh up"
  fi
}

netns() {
  [[ -e /run/netns/$NETNS ]] || ip netns add "$NETNS"
  "${NS[@]}" ip link set lo up
  "${NS[@]}" ip addr replace "$NODE_IP/32" dev lo
  # Processes of the namespace itself (the egress proxy dialing a Service for the
  # apiserver) need a route for ClusterIPs before kube-proxy's OUTPUT DNAT; via lo,
  # so an address no Service claims goes nowhere.
  "${NS[@]}" ip route replace "$SERVICE_CIDR" dev lo
  # The guard: nothing forwarded off the pod bridge except to pods. The namespace has no
  # route off its loopback and the bridge anyway; this keeps it so if one appears. It is
  # in the mangle table, which is traversed before filter, where kube-proxy puts its
  # own ACCEPT rules first.
  if ! "${NS[@]}" iptables -w -t mangle -L APPSTACK-GUARD >/dev/null 2>&1; then
    "${NS[@]}" iptables -w -t mangle -N APPSTACK-GUARD
    "${NS[@]}" iptables -w -t mangle -A APPSTACK-GUARD -i "$BRIDGE" -o "$BRIDGE" -j RETURN
    "${NS[@]}" iptables -w -t mangle -A APPSTACK-GUARD -i "$BRIDGE" -j DROP
    "${NS[@]}" iptables -w -t mangle -I FORWARD 1 -j APPSTACK-GUARD
  fi
  # Pod to Service to pod on the same bridge needs the bridge to pass through iptables.
  modprobe br_netfilter 2>/dev/null || true
  "${NS[@]}" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
}

cgroups() {
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -L ${h%/} || ! -f $h/cgroup.procs ]] && continue
    mkdir -p "$h${CGROUP_ROOT#/}"
  done
}

rbac() {
  kubectl apply --server-side --field-manager=real-node -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "appstack:real-node:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "appstack:real-node:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "appstack:real-node:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "appstack:real-node:coredns"}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, appstack.dev/real-node: "true"}
spec:
  clusterIP: $DNS_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-real-node
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: real-node.appstack.dev}
addressType: IPv4
endpoints:
- addresses: [$NODE_IP]
  conditions: {ready: true}
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
EOF
  # metrics-server: reads the kubelet's /metrics/resource, serves metrics.k8s.io to
  # the apiserver (which reaches it at NODE_IP:$METRICS_PORT through the egress
  # selector: enable-aggregator-routing dials the EndpointSlice's address).
  kubectl apply --server-side --field-manager=real-node -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "appstack:real-node:metrics-server", labels: {appstack.dev/real-node: "true"}}
rules:
- {apiGroups: [""], resources: [nodes/metrics], verbs: [get]}
- {apiGroups: [""], resources: [pods, nodes], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "appstack:real-node:metrics-server", labels: {appstack.dev/real-node: "true"}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "appstack:real-node:metrics-server"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "appstack:real-node:metrics-server"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "appstack:real-node:metrics-server:auth-delegator", labels: {appstack.dev/real-node: "true"}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:auth-delegator"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "appstack:real-node:metrics-server"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "appstack:real-node:metrics-server:auth-reader", namespace: kube-system, labels: {appstack.dev/real-node: "true"}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "appstack:real-node:metrics-server"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: "system:aggregated-metrics-reader"
  labels: {appstack.dev/real-node: "true", rbac.authorization.k8s.io/aggregate-to-view: "true", rbac.authorization.k8s.io/aggregate-to-edit: "true", rbac.authorization.k8s.io/aggregate-to-admin: "true"}
rules:
- {apiGroups: [metrics.k8s.io], resources: [pods, nodes], verbs: [get, list, watch]}
---
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system, labels: {k8s-app: metrics-server, appstack.dev/real-node: "true"}}
spec:
  ports: [{name: https, port: 443, protocol: TCP, targetPort: $METRICS_PORT}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: metrics-server-real-node
  namespace: kube-system
  labels: {kubernetes.io/service-name: metrics-server, endpointslice.kubernetes.io/managed-by: real-node.appstack.dev}
addressType: IPv4
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
ports: [{name: https, port: $METRICS_PORT, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io, labels: {k8s-app: metrics-server, appstack.dev/real-node: "true"}}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  service: {name: metrics-server, namespace: kube-system, port: 443}
  caBundle: $(base64 -w0 "$PKI/ca.crt")
EOF
}

up() {
  local why start=$SECONDS
  why=$(can_run) || { echo "==> real node: skipped: $why"; exit 3; }
  packages
  "$ROOT/hack/tools.sh" "${TOOLS[@]}"
  cluster_facts
  mkdir -p "$STATE_DIR"/{pids,logs}
  echo "$NETNS" >"$STATE_DIR/netns"
  local n all=1
  for n in $PROCESSES; do running "$n" || all=0; done
  if [[ $all == 1 ]]; then
    images
    log "$NODE_NAME already running (hack/real-node.sh down to stop it); images re-imported"
    return 0
  fi
  # Otherwise start what is missing (after a crash, or a reboot that left the state).
  write_configs
  cert kubelet "system:node:$NODE_NAME" system:nodes
  cert kube-proxy system:kube-proxy ""
  cert coredns appstack:real-node:coredns ""
  cert metrics-server appstack:real-node:metrics-server ""
  serving_cert metrics-server-serving metrics-server.kube-system.svc
  kubeconfig kubelet
  kubeconfig kube-proxy
  kubeconfig coredns
  kubeconfig metrics-server
  netns
  cgroups
  rbac
  local t0=$SECONDS
  # The apiserver, as seen from the namespace: 127.0.0.1:PORT and NODE_IP:PORT.
  running api-host || start_host api-host socat "UNIX-LISTEN:$STATE_DIR/apiserver.sock,fork,unlink-early,mode=600" "TCP:127.0.0.1:$API_PORT"
  running api-netns || start api-netns socat "TCP-LISTEN:$API_PORT,fork,reuseaddr" "UNIX-CONNECT:$STATE_DIR/apiserver.sock"
  running egress || start egress "$BIN/appstack-egress-proxy" -listen "$STATE_DIR/egress.sock" -allow "$NODE_IP/32,$POD_CIDR,$SERVICE_CIDR"
  running containerd || start containerd containerd --config "$STATE_DIR/containerd/config.toml"
  wait_for 30 "containerd socket" "${CTR[@]}" version
  images
  running kubelet || start kubelet "$BIN/kubelet" --config "$STATE_DIR/kubelet/config.yaml" \
    --kubeconfig "$STATE_DIR/kubelet.kubeconfig" --root-dir "$STATE_DIR/kubelet" \
    --cert-dir "$STATE_DIR/kubelet/pki" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --node-labels appstack.dev/real-node=true --v 1
  running kube-proxy || start kube-proxy "$BIN/kube-proxy" --config "$STATE_DIR/kube-proxy.yaml" --v 1
  running coredns || start coredns "$BIN/coredns" -conf "$STATE_DIR/Corefile"
  # The kubelet's serving certificate is self-signed (it names the node, not its IP),
  # hence --kubelet-insecure-tls; the kubelet authenticates metrics-server by the
  # cluster CA and authorizes nodes/metrics by webhook.
  local ms=$STATE_DIR/metrics-server.kubeconfig
  running metrics-server || start metrics-server "$BIN/metrics-server" --kubeconfig="$ms" \
    --authentication-kubeconfig="$ms" --authorization-kubeconfig="$ms" \
    --bind-address="$NODE_IP" --secure-port="$METRICS_PORT" --cert-dir="$STATE_DIR/pki" \
    --tls-cert-file="$STATE_DIR/pki/metrics-server-serving.crt" --tls-private-key-file="$STATE_DIR/pki/metrics-server-serving.key" \
    --node-selector=appstack.dev/real-node=true --kubelet-preferred-address-types=InternalIP \
    --kubelet-use-node-status-port --kubelet-insecure-tls --metric-resolution=15s
  wait_for 90 "node $NODE_NAME Ready" kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
  log "$NODE_NAME Ready $((SECONDS - t0))s after its processes started ($((SECONDS - start))s in all); IP $NODE_IP in netns $NETNS"
}

# stop NAME: TERM, then KILL after 5s.
stop() {
  local p i
  p=$(cat "$STATE_DIR/pids/$1" 2>/dev/null) || return 0
  if alive "$p"; then
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do alive "$p" || break; sleep 0.1; done
    alive "$p" && kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$STATE_DIR/pids/$1"
}

# shims lists the PIDs of containerd shims serving this node's containerd (their
# command line names its socket, which no other containerd uses).
shims() {
  local d
  for d in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "-address $STATE_DIR/containerd.sock " && echo "${d#/proc/}"
  done
  return 0
}

down() {
  local p m h
  if [[ ! -d $STATE_DIR && ! -e /run/netns/$NETNS ]]; then
    log "nothing to remove"
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "down needs root"
  if [[ -f $STATE_DIR/netns ]]; then # the namespace this node was started in
    NETNS=$(cat "$STATE_DIR/netns")
    NS=(nsenter "--net=/run/netns/$NETNS" --)
  fi
  stop metrics-server
  stop kube-proxy
  stop coredns
  stop kubelet
  if running containerd; then
    "${CRI[@]}" rmp-all || log "some sandboxes could not be removed through CRI; cleaning up by hand"
  fi
  stop containerd
  for p in $(shims); do kill -KILL "$p" 2>/dev/null || true; done
  stop egress
  stop api-netns
  stop api-host
  # Mounts left under the state dir (sandbox shm, volumes, overlay snapshots), and
  # pod network namespaces our containerd created (their paths are in its state).
  for m in $(grep -o "/run/netns/cni-[0-9a-f-]*" -r "$STATE_DIR/containerd/root" 2>/dev/null | sed 's/.*://' | sort -u); do
    umount "$m" 2>/dev/null || true
    rm -f "$m"
  done
  for m in $(awk '{print $5}' /proc/self/mountinfo | grep "^$STATE_DIR/" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  for h in /sys/fs/cgroup/*/; do
    [[ -d $h${CGROUP_ROOT#/} ]] || continue
    find "$h${CGROUP_ROOT#/}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  [[ -e /run/netns/$NETNS ]] && ip netns delete "$NETNS"
  find /var/log/containers -maxdepth 1 -lname "$STATE_DIR/*" -delete 2>/dev/null || true
  rm -rf "$STATE_DIR"
  # Paths kubelet 1.36, containerd 1.6 and libcni use whatever their configuration
  # says: the device-plugin socket, the CNI result cache (our network's entries),
  # the container log links, the shims' socket directory. Directories go only when
  # empty, and /run/netns (ip netns add's bind mount) only when no namespace is left.
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock "/var/lib/cni/results/$CNI_NETWORK"-*
  for d in /var/lib/kubelet/device-plugins /var/lib/kubelet /var/lib/cni/results /var/lib/cni \
    /var/log/containers /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io \
    /run/containerd/runc /run/containerd /var/lib/appstack-node; do
    rmdir "$d" 2>/dev/null || true
  done
  if mountpoint -q /run/netns && [[ -z $(ls -A /run/netns) ]]; then
    umount /run/netns && rmdir /run/netns 2>/dev/null || true
  fi
  if kubectl get --raw /readyz >/dev/null 2>&1; then
    kubectl delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    # An APIService whose backend is gone breaks discovery (and namespace deletion).
    kubectl delete apiservice v1beta1.metrics.k8s.io --ignore-not-found >/dev/null 2>&1 || true
    kubectl delete endpointslice -n kube-system kube-dns-real-node metrics-server-real-node --ignore-not-found >/dev/null 2>&1 || true
    kubectl delete clusterrole,clusterrolebinding -l appstack.dev/real-node=true --ignore-not-found >/dev/null 2>&1 || true
    kubectl delete rolebinding -n kube-system -l appstack.dev/real-node=true --ignore-not-found >/dev/null 2>&1 || true
    kubectl delete service -n kube-system -l appstack.dev/real-node=true --ignore-not-found >/dev/null 2>&1 || true
  fi
  log "$NODE_NAME removed (netns $NETNS, processes, mounts, cgroups $CGROUP_ROOT, $STATE_DIR)"
}

# smoke proves the node end to end and removes what it made: a busybox pod on the real
# node serving a file with httpd behind a Service (port 80 -> named port 8080), a
# client pod fetching it by the Service's DNS name, kubectl logs and exec through the
# egress selector, and no route out: a request to the host's default gateway fails with
# "Network is unreachable".
smoke() {
  local ns=real-node-smoke t0=$SECONDS out
  # An address off the node: the host's default gateway, which the host itself reaches.
  local OUTSIDE
  OUTSIDE=$(ip route show default | awk '{print $3; exit}')
  OUTSIDE=${OUTSIDE:-198.51.100.1}
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -n "$ns" -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeSelector: {appstack.dev/real-node: "true"}
  tolerations: [{key: appstack.dev/real-node, operator: Exists, effect: NoSchedule}]
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: $TEST_IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo "hello from \$(hostname)" >/tmp/index.html; echo serving; exec httpd -f -p 8080 -h /tmp']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
EOF
  kubectl wait -n "$ns" --for=condition=Ready pod/web --timeout=60s >/dev/null || die "smoke: pod web not Ready"
  echo "smoke: pod web Ready on $(kubectl get pod -n "$ns" web -o jsonpath='{.spec.nodeName} {.status.podIP}') after $((SECONDS - t0))s"
  echo "smoke: kubectl logs web: $(kubectl logs -n "$ns" web)"
  echo "smoke: kubectl exec web -- cat /tmp/index.html: $(kubectl exec -n "$ns" web -- cat /tmp/index.html)"
  kubectl apply -n "$ns" -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeSelector: {appstack.dev/real-node: "true"}
  tolerations: [{key: appstack.dev/real-node, operator: Exists, effect: NoSchedule}]
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $TEST_IMAGE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'wget -qO- http://web.$ns.svc.cluster.local/ && wget -qO- http://$OUTSIDE/ 2>&1 | grep "Network is unreachable"']
EOF
  kubectl wait -n "$ns" --for=jsonpath='{.status.phase}'=Succeeded pod/client --timeout=60s >/dev/null ||
    { kubectl logs -n "$ns" client >&2 || true; die "smoke: client pod did not succeed"; }
  out=$(kubectl logs -n "$ns" client)
  echo "smoke: client fetched http://web.$ns.svc.cluster.local/: $(echo "$out" | tr '\n' '|')"
  kubectl delete namespace "$ns" --wait=true --timeout=60s >/dev/null
  echo "smoke: passed in $((SECONDS - t0))s"
}

status() {
  local n
  for n in $PROCESSES; do
    if running "$n"; then echo "$n: running, pid $(cat "$STATE_DIR/pids/$n")"; else echo "$n: not running"; fi
  done
  kubectl get node "$NODE_NAME" -o wide 2>/dev/null || true
  running containerd && "${CRI[@]}" pods && "${CRI[@]}" ps
  return 0
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  egress-config) write_egress_config ;;
  kwokctl-config) write_kwokctl_config ;;
  front-proxy) write_front_proxy ;;
  tools) # build the node's tools where the node can run (make tools-real-node)
    if why=$(can_run); then
      "$ROOT/hack/tools.sh" "${TOOLS[@]}"
    else
      log "not building the node's tools: $why"
    fi
    ;;
  can-run) can_run ;;
  smoke) smoke ;;
  import)
    shift
    [[ $# -gt 0 ]] || die "usage: $0 import ARCHIVE.tar..."
    for a in "$@"; do "${CTR[@]}" images import --all-platforms "$a"; done
    ;;
  *) die "usage: $0 up|down|status" ;;
esac
