//go:build e2e

// Package e2e runs the demo flow on a throwaway local cluster (hack/dev-cluster.sh:
// real apiserver, scheduler and controllers, kwok nodes and, where this machine
// allows it, one real node) and checks what a user would check, with kubectl. With
// the real node the operator under test is the chart, installed with helm as two
// pods on that node (operator_test.go), and the specs labelled "real-node" run
// stacks on live containers; without it the operator is a process on this machine
// and those specs are skipped.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

var (
	root     string
	cluster  utils.Cluster // kubectl and helm against it log to GinkgoWriter
	realNode string        // the real node's name, "" when the cluster has none
)

// The cluster's name and where the e2e operator, when it runs as a process, serves
// plain-HTTP metrics (loopback only). E2E_CLUSTER and E2E_METRICS_ADDR let two
// suites run side by side on one machine (with REAL_NODE=0 for all but one: a
// machine has one real node).
var (
	clusterName = envOr("E2E_CLUSTER", "appstack-e2e")
	metricsAddr = envOr("E2E_METRICS_ADDR", "127.0.0.1:18383")
)

// artifactDir is where specs keep what a person looks at after a run (the
// dashboard's screenshots): E2E_ARTIFACTS, else bin/<cluster>.artifacts.
func artifactDir() string {
	return envOr("E2E_ARTIFACTS", filepath.Join(root, "bin", clusterName+".artifacts"))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e suite")
}

var _ = BeforeSuite(func() {
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	cluster = utils.NewCluster(root, clusterName, GinkgoWriter)

	By("starting a fresh local cluster " + clusterName)
	_, _ = cluster.DevCluster(nil, "down")
	out, err := cluster.DevCluster(nil, "up")
	Expect(err).NotTo(HaveOccurred(), out)

	By("installing the CRD, its own step, as the README does: kubectl apply --server-side -k config/crd")
	Expect(cluster.ApplyCRD(false, "-k", filepath.Join(root, "config", "crd"))).NotTo(HaveOccurred())
	Expect(cluster.WaitCRDEstablished(60 * time.Second)).NotTo(HaveOccurred())

	By("building the operator and the kubectl plugin")
	bin := filepath.Join(root, "bin", "manager-e2e")
	ldflags, err := exec.Command(filepath.Join(root, "hack", "version.sh"), "ldflags").Output()
	Expect(err).NotTo(HaveOccurred())
	for pkg, out := range map[string]string{"./cmd": bin, "./cmd/kubectl-appstack": filepath.Join(root, "bin", "kubectl-appstack")} {
		b, err := utils.Run(GinkgoWriter, root, nil, "go", "build", "-ldflags", strings.TrimSpace(string(ldflags)), "-o", out, pkg)
		Expect(err).NotTo(HaveOccurred(), b)
	}

	nodes, err := kubectl("get", "nodes", "-l", "appstack.dev/real-node=true", "-o", "jsonpath={.items[*].metadata.name}")
	Expect(err).NotTo(HaveOccurred())
	if realNode = strings.TrimSpace(nodes); realNode != "" {
		By("installing the operator from its chart: pods on the real node " + realNode)
		p := &podOperator{}
		op = p
		p.installChart()
		return
	}
	GinkgoWriter.Printf("NOTE: no real node in this cluster (see hack/dev-cluster.sh); the operator runs as a process and the real-node specs are skipped\n")
	By("starting the operator as a process")
	log, err := os.Create(filepath.Join(root, "bin", clusterName+".manager.log"))
	Expect(err).NotTo(HaveOccurred())
	op = &processOperator{log: log}
	startOperator()
})

var _ = AfterSuite(func() {
	if p, ok := op.(*processOperator); ok {
		p.stop(true)
		_ = p.log.Close()
	} else if op != nil {
		// Kept where the process operator's log would be, for the report below.
		_ = os.WriteFile(filepath.Join(root, "bin", clusterName+".manager.log"), []byte(op.logs()), 0o644)
	}
	if os.Getenv("E2E_KEEP_CLUSTER") == "" {
		_, _ = cluster.DevCluster(nil, "down")
	}
})

var _ = ReportAfterSuite("operator log on failure", func(r Report) {
	if !r.SuiteSucceeded {
		if b, err := os.ReadFile(filepath.Join(root, "bin", clusterName+".manager.log")); err == nil {
			GinkgoWriter.Printf("---- operator log ----\n%s\n", b)
		}
	}
})

// kubectl runs kubectl against the e2e cluster, as a user would type it, and logs
// the command and its output.
func kubectl(args ...string) (string, error) { return cluster.Kubectl(args...) }

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
