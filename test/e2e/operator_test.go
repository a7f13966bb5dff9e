//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// The operator under test is one of two things. Where the cluster has a real node
// (hack/dev-cluster.sh: root on Linux), it is the chart installed with helm, two
// pods on that node with the chart's ServiceAccount under Pod Security
// "restricted", one leading (podOperator). Elsewhere it is the manager binary run
// as a process on this machine with the admin kubeconfig (processOperator).
type operatorUnderTest interface {
	// start starts the operator and returns once one instance leads.
	start()
	// stop stops every instance: kill is a SIGKILL (a crash), otherwise a SIGTERM.
	stop(kill bool)
	// scrape is the leader's /metrics.
	scrape() string
	// logs is what the instances running now have logged.
	logs() string
}

var op operatorUnderTest

// inCluster says whether the operator runs as pods on the real node.
func inCluster() bool { _, ok := op.(*podOperator); return ok }

func startOperator() { GinkgoHelper(); op.start() }

// stopOperator stops the operator: SIGKILL is a crash, anything else a clean stop.
func stopOperator(sig syscall.Signal) { GinkgoHelper(); op.stop(sig == syscall.SIGKILL) }

func scrape() string { GinkgoHelper(); return op.scrape() }

// ---- the operator as a process on this machine ----

type processOperator struct {
	manager *utils.Manager
	log     *os.File
}

func (p *processOperator) start() {
	GinkgoHelper()
	// A short sync period makes full resyncs happen during the suite, so the
	// zero-writes check covers them.
	var err error
	p.manager, err = utils.StartManager(filepath.Join(root, "bin", "manager-e2e"), cluster.Kubeconfig, p.log, nil, "--sync-period=30s",
		"--metrics-bind-address="+metricsAddr, "--metrics-secure=false", "--health-probe-bind-address=0")
	Expect(err).NotTo(HaveOccurred())
}

func (p *processOperator) stop(kill bool) {
	if p.manager == nil {
		return
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	p.manager.Stop(sig)
	p.manager = nil
}

func (p *processOperator) scrape() string {
	GinkgoHelper()
	page, err := utils.Scrape(metricsAddr)
	Expect(err).NotTo(HaveOccurred(), "scrape the operator's metrics")
	return page
}

func (p *processOperator) logs() string {
	b, _ := os.ReadFile(p.log.Name())
	return string(b)
}

// ---- the operator from its chart, as pods on the real node ----

const (
	opNamespace  = "appstack-system"
	opRelease    = "appstack"
	opDeployment = "appstack-appstack-operator"
	opSelector   = "app.kubernetes.io/name=appstack-operator"
	opLease      = "appstack-operator.appstack.dev"
	opReplicas   = 2
)

type podOperator struct {
	scraperToken string
}

// installChart installs the chart as make demo does (hack/real-node-values.yaml);
// the suite installed the CRD from config/, and the admission specs install and
// remove config/admission themselves, so the chart leaves both be.
func (p *podOperator) installChart() {
	GinkgoHelper()
	_, _ = kubectl("create", "namespace", opNamespace)
	Expect(kubectl("label", "namespace", opNamespace, "--overwrite", "pod-security.kubernetes.io/enforce=restricted",
		"pod-security.kubernetes.io/enforce-version=latest")).Error().NotTo(HaveOccurred())
	out, err := cluster.Helm("upgrade", "--install", opRelease, filepath.Join(root, "charts", "appstack-operator"),
		"--namespace", opNamespace, "-f", filepath.Join(root, "hack", "real-node-values.yaml"),
		"--set", "installCRDs=false", "--set", "admissionPolicy.enabled=false",
		"--set", "extraArgs={--sync-period=30s}", "--wait", "--timeout", "180s")
	Expect(err).NotTo(HaveOccurred(), out)
	p.waitLeader()

	// A scraper allowed to read metrics, as the chart's NOTES tell a user to make one.
	_, _ = kubectl("create", "serviceaccount", "scraper", "-n", opNamespace)
	_, _ = kubectl("create", "clusterrolebinding", "e2e-scraper-metrics", "--clusterrole="+opDeployment+"-metrics-reader",
		"--serviceaccount="+opNamespace+":scraper")
	tok, err := kubectl("create", "token", "scraper", "-n", opNamespace, "--duration=2h")
	Expect(err).NotTo(HaveOccurred())
	p.scraperToken = strings.TrimSpace(tok)
}

func (p *podOperator) start() {
	GinkgoHelper()
	Expect(kubectl("scale", "deployment/"+opDeployment, "-n", opNamespace, fmt.Sprintf("--replicas=%d", opReplicas))).Error().NotTo(HaveOccurred())
	Expect(kubectl("rollout", "status", "deployment/"+opDeployment, "-n", opNamespace, "--timeout=120s")).Error().NotTo(HaveOccurred())
	p.waitLeader()
}

func (p *podOperator) stop(kill bool) {
	GinkgoHelper()
	if kill {
		// A crash: SIGKILL the manager processes themselves (their containers would be
		// restarted by the kubelet; scaling to zero below keeps them down).
		pids := utils.ManagerPIDs(clusterName, "")
		Expect(pids).NotTo(BeEmpty(), "no manager process of the real node's containers found")
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		GinkgoWriter.Printf("SIGKILLed manager processes %v\n", pids)
	}
	Expect(kubectl("scale", "deployment/"+opDeployment, "-n", opNamespace, "--replicas=0")).Error().NotTo(HaveOccurred())
	Eventually(func() string {
		out, _ := kubectl("get", "pods", "-n", opNamespace, "-l", opSelector, "-o", "name")
		return out
	}, 90*time.Second, 500*time.Millisecond).Should(BeEmpty())
}

// leader is the name of the pod holding the lease, "" when none of the running
// pods holds it.
func (p *podOperator) leader() string {
	pod, _ := cluster.Leader(opNamespace, opLease)
	return pod
}

func (p *podOperator) waitLeader() string {
	GinkgoHelper()
	var pod string
	Eventually(func() string { pod = p.leader(); return pod }, 90*time.Second, 500*time.Millisecond).ShouldNot(BeEmpty(),
		"no running operator pod holds lease %s/%s", opNamespace, opLease)
	return pod
}

// podIP is a pod's IP on the real node.
func podIP(ns, pod string) string {
	GinkgoHelper()
	ip, err := kubectl("get", "pod", pod, "-n", ns, "-o", "jsonpath={.status.podIP}")
	Expect(err).NotTo(HaveOccurred())
	Expect(ip).NotTo(BeEmpty())
	return ip
}

func (p *podOperator) scrape() string {
	GinkgoHelper()
	leader := p.waitLeader()
	code, body := metricsGet(podIP(opNamespace, leader), p.scraperToken)
	Expect(code).To(Equal(http.StatusOK), body)
	return body
}

func (p *podOperator) logs() string {
	out, _ := kubectl("logs", "-n", opNamespace, "-l", opSelector, "--tail=-1", "--prefix", "--max-log-requests=10")
	return out
}

// metricsGet asks a manager pod for /metrics over HTTPS with a bearer token (none
// when token is ""), as a scraper in the cluster would: the connection is made
// through the real node's egress proxy (the one the apiserver uses), so this
// process reaches the pod network without a route into it.
func metricsGet(ip, token string) (int, string) {
	GinkgoHelper()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: nodeDial,
		// The operator's self-signed serving certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed, test only
	}}
	req, err := http.NewRequest(http.MethodGet, "https://"+net.JoinHostPort(ip, "8443")+"/metrics", nil)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	var resp *http.Response
	Eventually(func() error { resp, err = c.Do(req); return err }, 30*time.Second, time.Second).Should(Succeed())
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// nodeDial connects to addr inside the real node's network namespace with an HTTP
// CONNECT through the node's egress proxy (hack/real-node.sh), which accepts only
// the node IP, the pod CIDR and the Service CIDR.
func nodeDial(ctx context.Context, _, addr string) (net.Conn, error) {
	sock := filepath.Join("/var/lib/appstack-node", clusterName, "egress.sock")
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	if err := connect(conn, addr); err != nil {
		_ = conn.Close() // the tunnel failed: its error, not the close's, is the one to report
		return nil, err
	}
	return conn, nil
}

// connect asks the egress proxy at the other end of conn for a tunnel to addr.
func connect(conn net.Conn, addr string) error {
	if _, err := fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr); err != nil {
		return fmt.Errorf("egress proxy: CONNECT %s: %w", addr, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("egress proxy: CONNECT %s: %s", addr, resp.Status)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("egress proxy: CONNECT %s: unexpected bytes after the response", addr)
	}
	return nil
}
