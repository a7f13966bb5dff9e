# appstack-operator. `make help` lists the targets; the two a newcomer needs are
# `make demo` (run it) and `make test` (prove it).

# One version for the binaries, the image tag and the chart (hack/verify.sh checks
# Chart.yaml): the VERSION file.
VERSION ?= $(shell cat VERSION)
# internal/version's stamps: VERSION, the commit and its date (hack/version.sh).
VERSION_LDFLAGS ?= $(shell hack/version.sh ldflags)
IMG_REPO ?= appstack-operator
IMG_TAG ?= $(VERSION)
IMG ?= $(IMG_REPO):$(IMG_TAG)
KIND_CLUSTER ?= kind
LOCALBIN ?= $(CURDIR)/bin
export LOCALBIN

# The local cluster (hack/dev-cluster.sh) and where its kubeconfig is written.
CLUSTER_NAME ?= appstack-dev
NODES ?= 3
DEV_KUBECONFIG ?= $(LOCALBIN)/$(CLUSTER_NAME).kubeconfig
export CLUSTER_NAME NODES

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
# envtest finds etcd and kube-apiserver here; nothing is downloaded.
KUBEBUILDER_ASSETS ?= $(LOCALBIN)
export KUBEBUILDER_ASSETS

GO_TEST_FLAGS ?=

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ The two commands

.PHONY: demo
demo: tools-cluster tools-real-node build ## Build what is missing, start the local cluster and the operator, apply config/samples, wait until Ready.
	hack/demo.sh

.PHONY: test
test: verify lint test-unit test-page test-fuzz test-rules check-dockerfile test-e2e test-e2e-crd-deletion test-upgrade bench-smoke ## Everything: generated files up to date, golangci-lint, unit + envtest suites, a short fuzz run, the alert rules under promtool, the Dockerfile's build, e2e on a local cluster (and, on a cluster of its own, deleting the CRD), an operator upgrade under live stacks.

##@ Development

.PHONY: tools
tools: ## Build every tool into bin/ from pinned Go modules (reuses what is there); the real node's only where it can run.
	hack/tools.sh
	hack/real-node.sh tools

.PHONY: tools-cluster
tools-cluster:
	hack/tools.sh etcd kubernetes kwok helm

# The real node's tools (kubelet, kube-proxy, CoreDNS, metrics-server, the egress
# proxy), only where it can run (root, Linux).
.PHONY: tools-real-node
tools-real-node:
	hack/real-node.sh tools

.PHONY: tools-envtest
tools-envtest:
	hack/tools.sh etcd kubernetes helm

.PHONY: tools-gen
tools-gen:
	hack/tools.sh controller-gen

# Flux (source-controller, kustomize-controller, their CRDs) and the Git server of
# the e2e specs labelled gitops (test/utils/flux.go).
.PHONY: tools-flux
tools-flux:
	hack/tools.sh flux

# Helm 4, whose --wait reads the stacks' health with kstatus (the e2e specs labelled
# gitops; docs/gitops.md).
.PHONY: tools-helm4
tools-helm4:
	hack/tools.sh helm4

# Debian's chromium (apt-get, as root, only when it is missing): the headless browser
# of the dashboard's e2e specs (test/utils/browser.go; $CHROMIUM names another).
.PHONY: tools-chromium
tools-chromium:
	hack/tools.sh chromium

# The dashboard's pinned JavaScript (hack/js/package-lock.json): dagre, embedded by
# internal/graph. The copies are committed; this re-makes them when the lock changes.
.PHONY: vendor-js
vendor-js: internal/graph/dagre/dagre.min.js ## Re-vendor the dashboard's pinned JavaScript (dagre) with npm ci when hack/js/package-lock.json changes.
internal/graph/dagre/dagre.min.js: hack/js/package-lock.json hack/js/package.json hack/vendor-js.sh
	hack/vendor-js.sh
	@touch $@

.PHONY: tools-promtool
tools-promtool:
	hack/tools.sh promtool

.PHONY: manifests
manifests: tools-gen ## Generate the CRD, the ClusterRole and docs/api.md from the Go markers; copy them, the admission policy and the Argo CD health rule into the chart.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	go run ./hack/crdbounds config/crd/bases/apps.appstack.dev_appstacks.yaml
	go run ./hack/apidocs config/crd/bases/apps.appstack.dev_appstacks.yaml docs/api.md
	cp config/rbac/role.yaml charts/appstack-operator/files/manager-role.yaml
	cp config/crd/bases/apps.appstack.dev_appstacks.yaml charts/appstack-operator/files/
	cp config/admission/policy.yaml charts/appstack-operator/files/admission-policy.yaml
	cp config/argocd/apps.appstack.dev/AppStack/health.lua charts/appstack-operator/files/argocd-health.lua

.PHONY: generate
generate: tools-gen ## Generate DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: tools-lint
tools-lint:
	hack/tools.sh golangci-lint

.PHONY: lint
lint: tools-lint ## golangci-lint (.golangci.yml) on the code and on the e2e suite (build tag e2e).
	$(LOCALBIN)/golangci-lint run ./...
	$(LOCALBIN)/golangci-lint run --build-tags e2e ./test/...
	$(LOCALBIN)/golangci-lint run --build-tags upgrade ./test/upgrade/
	$(LOCALBIN)/golangci-lint run --build-tags rules ./test/rules/
	$(LOCALBIN)/golangci-lint run --build-tags browser ./internal/dashboard/fixture/

.PHONY: vet
vet: ## Run go vet.
	go vet ./...
	go vet -tags e2e ./test/...
	go vet -tags upgrade ./test/upgrade/
	go vet -tags rules ./test/rules/
	go vet -tags browser ./internal/dashboard/fixture/

.PHONY: verify
verify: tools-gen ## Fail when generated files (CRD, RBAC, DeepCopy) or formatting are stale; then go vet.
	hack/verify.sh
	$(MAKE) --no-print-directory vet

.PHONY: test-unit
test-unit: tools-envtest manifests generate ## Unit, golden and envtest (real apiserver) suites.
	go test ./... $(GO_TEST_FLAGS)

.PHONY: test-page
test-page: tools-chromium ## The dashboard's page in headless chromium against canned answers, no cluster (docs/dashboard.md "The page"): its DOM after an event, screenshots, 500 stacks timed.
	go test -tags browser ./internal/dashboard/fixture/ -count=1 -v $(GO_TEST_FLAGS)

FUZZTIME ?= 20s
.PHONY: test-fuzz
test-fuzz: ## A short fuzz run of the renderer: arbitrary specs never panic and render deterministically.
	go test ./internal/render -run '^$$' -fuzz FuzzRender -fuzztime $(FUZZTIME)

.PHONY: test-rules
test-rules: tools-promtool ## The chart's alert rules: promtool check rules, and promtool test rules on test/rules/ (series recorded from the local cluster by hack/record-series.sh).
	hack/tools.sh helm
	go test -tags rules ./test/rules/ -count=1 -v

.PHONY: test-e2e
test-e2e: tools-cluster tools-real-node tools-envtest tools-flux tools-helm4 tools-chromium manifests ## e2e on a throwaway local cluster: the demo flow, with kubectl as a user types it; first the headless browser's helpers on a page of their own.
	go test -tags e2e ./test/utils/ -count=1 -run '^TestBrowser'
	go test -tags e2e ./test/e2e/ -count=1 -timeout 45m -v -ginkgo.v $(GO_TEST_FLAGS)

# Deleting the CRD deletes every stack of the cluster, so those specs (label
# crd-deletion) skip themselves in the run above and run here, alone, on a fresh
# cluster of their own.
.PHONY: test-e2e-crd-deletion
test-e2e-crd-deletion: tools-cluster tools-real-node tools-envtest manifests ## e2e: an admin deletes the CRD under the running operator (retained claims stay), alone on a throwaway local cluster.
	go test -tags e2e ./test/e2e/ -count=1 -timeout 20m -v -ginkgo.v -ginkgo.label-filter=crd-deletion $(GO_TEST_FLAGS)

.PHONY: test-upgrade
test-upgrade: tools-cluster tools-real-node tools-envtest ## Upgrade the operator under live stacks: the release in test/upgrade/FROM (built from git history) to this tree, with helm, on a throwaway cluster with a real node (root, Linux).
	go test -tags upgrade ./test/upgrade/ -count=1 -timeout 30m -v -ginkgo.v $(GO_TEST_FLAGS)

.PHONY: test-real-node
test-real-node: ## Only the e2e specs on live containers (label real-node): the operator's pods from the chart and the seeds on the real node (root, Linux; docs/real-node.md).
	$(MAKE) --no-print-directory test-e2e GO_TEST_FLAGS="-ginkgo.label-filter=real-node $(GO_TEST_FLAGS)"

##@ Benchmark

BENCH_N ?= 500
.PHONY: bench
bench: tools-cluster tools-chromium build ## Operator vs a plain client at BENCH_N stacks on a dedicated local cluster, then the dashboard over them in headless Chromium; results in bench-results/.
	go run ./test/bench -n $(BENCH_N) -dashboard

.PHONY: bench-smoke
bench-smoke: tools-cluster tools-chromium build ## The bench harness at 5 stacks (part of make test): it runs end to end, no writes at rest, drift p50 ≤ 1 s, the dashboard's row follows a change within 2 s.
	go run ./test/bench -n 5 -idle 15s -drift 5 -timeout 5m -check -dashboard -out bench-results/smoke
	CLUSTER_NAME=appstack-bench hack/dev-cluster.sh down

FOREIGN_N ?= 500
.PHONY: bench-foreign
bench-foreign: tools-cluster build ## What others can make the operator hold: FOREIGN_N 1 MB ConfigMaps labelled like a stack's children, in a namespace no stack owns; fails unless RSS and reconciles stay put (about 3 minutes; its own cluster appstack-foreign, deleted at the end).
	status=0; go run ./test/bench -foreign $(FOREIGN_N) -timeout 5m -check -out bench-results || status=$$?; \
		CLUSTER_NAME=appstack-foreign hack/dev-cluster.sh down; exit $$status

REVISIONS_N ?= 100
REVISIONS_MANAGER ?=
.PHONY: bench-revisions
bench-revisions: tools-cluster build ## What one author's edits make the operator hold: 3 stacks of a 900 KB config, revisionHistoryLimit 100, REVISIONS_N spec edits each; fails unless the steady RSS stays within 2× of the RSS at rest and under the chart's limit (REVISIONS_MANAGER=path runs another binary; its own cluster appstack-revisions, deleted at the end).
	status=0; go run ./test/bench -revisions $(REVISIONS_N) $(if $(REVISIONS_MANAGER),-manager $(REVISIONS_MANAGER)) -timeout 5m -check -out bench-results || status=$$?; \
		CLUSTER_NAME=appstack-revisions hack/dev-cluster.sh down; exit $$status

##@ Local cluster

.PHONY: dev-cluster
dev-cluster: tools-cluster tools-real-node ## Start (or keep) the local cluster: kwokctl, real apiserver/scheduler/controllers, NODES simulated nodes and, where it can run, one real node (docs/real-node.md).
	hack/dev-cluster.sh up

.PHONY: dev-cluster-down
dev-cluster-down: ## Stop the operator started by `make demo` and delete the local cluster.
	hack/demo.sh stop || true
	hack/dev-cluster.sh down

.PHONY: install
install: manifests ## Install or upgrade the CRD (config/crd, its own step before the operator) in the cluster of $KUBECONFIG.
	kubectl apply --server-side -k config/crd

.PHONY: run
run: manifests build ## Run the operator in the foreground against the local cluster.
	KUBECONFIG=$(DEV_KUBECONFIG) $(LOCALBIN)/manager --health-probe-bind-address=:0

##@ Build

.PHONY: build
build: ## Build the operator binary into bin/manager and the kubectl plugin into bin/kubectl-appstack.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(VERSION_LDFLAGS)" -o $(LOCALBIN)/manager ./cmd
	CGO_ENABLED=0 go build -trimpath -ldflags "$(VERSION_LDFLAGS)" -o $(LOCALBIN)/kubectl-appstack ./cmd/kubectl-appstack

# Images without a Docker daemon (docs/images.md): hack/images writes archives
# that `ctr -n k8s.io images import` loads; the real node imports them.
IMAGES_DIR ?= $(LOCALBIN)/images
.PHONY: images
images: ## Write the operator (IMG), pause and testserver images as archives into bin/images/ (no Docker; see docs/images.md).
	IMG=$(IMG) IMAGES_DIR=$(IMAGES_DIR) hack/images.sh

PLUGIN_DIR ?= $(shell go env GOPATH)/bin
.PHONY: install-plugin
install-plugin: build ## Install the kubectl plugin (kubectl appstack ...) into PLUGIN_DIR, which must be on PATH.
	install -m 0755 $(LOCALBIN)/kubectl-appstack $(PLUGIN_DIR)/kubectl-appstack
	@echo "installed $(PLUGIN_DIR)/kubectl-appstack; try: kubectl appstack render -f config/samples/apps_v1alpha1_appstack_database.yaml"

.PHONY: release
release: tools-envtest ## The release's artifacts in dist/: crds.yaml, install.yaml (no CRD), the chart, the plugin for 4 platforms, the operator image archive, a krew manifest, SHA256SUMS (hack/release.sh).
	hack/release.sh dist

.PHONY: check-dockerfile
check-dockerfile: ## Build the Dockerfile's builder stage without Docker, from exactly the files its build context holds (.dockerignore, COPY lines).
	go -C hack/images run ./dockercontext

.PHONY: docker-build
docker-build: ## Build the operator image (needs a Docker engine).
	docker build -t $(IMG) .

.PHONY: kind-deploy
kind-deploy: docker-build tools-envtest ## Build the image, load it into kind cluster $(KIND_CLUSTER), install the chart (needs Docker and kind).
	kind load docker-image $(IMG) --name $(KIND_CLUSTER)
	$(LOCALBIN)/helm upgrade --install appstack charts/appstack-operator -n appstack-system --create-namespace \
		--set image.repository=$(IMG_REPO) --set image.tag=$(IMG_TAG) --set image.pullPolicy=IfNotPresent --wait
