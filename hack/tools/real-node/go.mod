// The real node's egress-proxy (hack/real-node.sh): the apiserver's HTTP CONNECT
// proxy into the node's network namespace; standard library only. The images the
// node runs are written by hack/images (docs/images.md).
module github.com/appstack-dev/appstack-operator/hack/tools/real-node

go 1.26.0
