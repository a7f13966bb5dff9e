// Small programs for the opt-in real node (hack/real-node.sh), standard library only:
// egress-proxy (the apiserver's HTTP CONNECT proxy into the node's network
// namespace), pause (the sandbox image's process) and mkimage (one-layer image
// archives for `ctr images import`, no Docker daemon).
module github.com/appstack-dev/appstack-operator/hack/tools/real-node

go 1.26.0
