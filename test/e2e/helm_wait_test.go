//go:build e2e

package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// Helm as a client of the stacks' health (docs/gitops.md): the chart
// test/e2e/testdata/stack-chart (two stacks, RELEASE-web and RELEASE-api; the value
// web.hostLogs gives web's pods a hostPath volume, which Pod Security refuses, so
// that stack is Stalled with reason FailedCreate), packaged and then installed and
// upgraded with --wait by Helm 4 (bin/helm4, whose --wait is kstatus) and by Helm
// 3.19 (bin/helm, whose --wait has rules for the kinds it knows and none for an
// AppStack).

// helmWaitTimeout is the --timeout of every helm --wait below: a failure that
// helm reports well before it was seen, not waited out.
const helmWaitTimeout = 3 * time.Minute

// helm4 runs the project's Helm 4 (bin/helm4, hack/tools.sh helm4) against the
// cluster, as cluster.Helm runs Helm 3.
func helm4(args ...string) (string, error) {
	return utils.Run(GinkgoWriter, root, []string{"KUBECONFIG=" + cluster.Kubeconfig},
		filepath.Join(root, "bin", "helm4"), args...)
}

// condition is the status and reason of a stack's condition typ, "" when absent,
// and its message.
func condition(stack, typ string) (state, message string) {
	GinkgoHelper()
	out, err := cluster.KubectlQuiet("get", "stack", stack, "-o",
		`jsonpath={.status.conditions[?(@.type=="`+typ+`")].status} {.status.conditions[?(@.type=="`+typ+`")].reason}|`+
			`{.status.conditions[?(@.type=="`+typ+`")].message}`)
	Expect(err).NotTo(HaveOccurred())
	state, message, _ = strings.Cut(out, "|")
	return strings.TrimSpace(state), message
}

// timed runs a helm command and returns its output, how long it took and its
// error.
func timed(helm func(...string) (string, error), args ...string) (string, time.Duration, error) {
	start := time.Now()
	out, err := helm(args...)
	return out, time.Since(start), err
}

var _ = Describe("helm --wait on a chart of stacks", Ordered, Label("gitops"), func() {
	var chart string // the packaged chart, as a user installs it from a repository

	BeforeAll(func() {
		dir := GinkgoT().TempDir()
		out, err := helm4("package", filepath.Join(root, "test", "e2e", "testdata", "stack-chart"), "-d", dir)
		Expect(err).NotTo(HaveOccurred(), out)
		chart = filepath.Join(dir, "stack-chart-0.1.0.tgz")
		DeferCleanup(func() {
			for release, helm := range map[string]func(...string) (string, error){"h4": helm4, "h3": cluster.Helm} {
				_, _ = helm("uninstall", release, "--wait", "--timeout", "2m", "--ignore-not-found")
			}
		})
	})

	It("Helm 4: install --wait returns once both stacks are Ready", func() {
		out, took, err := timed(helm4, "install", "h4", chart, "--wait", "--timeout", helmWaitTimeout.String(), "--debug")
		Expect(err).NotTo(HaveOccurred(), out)
		// Read right after helm returned: a --wait that returned early shows here.
		for _, stack := range []string{"h4-web", "h4-api"} {
			state, msg := condition(stack, "Ready")
			Expect(state).To(Equal("True Ready"), "stack %s when helm4 install --wait returned: %s", stack, msg)
		}
		GinkgoWriter.Printf("HELM4 install --wait returned 0 after %s, both stacks Ready\n", took.Round(time.Millisecond))
	})

	It("Helm 4: upgrade --wait fails with the stack's own message as soon as a stack is Stalled", func() {
		out, took, err := timed(helm4, "upgrade", "h4", chart, "--set", "web.hostLogs=true",
			"--wait", "--timeout", helmWaitTimeout.String())
		Expect(err).To(HaveOccurred(), "helm4 upgrade --wait succeeded on a stack whose pods are refused:\n%s", out)
		state, msg := condition("h4-web", "Stalled")
		Expect(state).To(Equal("True FailedCreate"))
		Expect(msg).To(ContainSubstring(`violates PodSecurity "baseline:latest": hostPath volumes`))
		// kstatus's Failed, with the Stalled condition's message, in helm's error.
		Expect(out).To(MatchRegexp(`UPGRADE FAILED: .*resource AppStack/\S*/?h4-web not ready\. status: Failed, message: ` +
			regexp.QuoteMeta(msg)))
		Expect(took).To(BeNumerically("<", 30*time.Second), "helm4 upgrade --wait took %s to report a Stalled stack", took)
		Expect(helm4("status", "h4")).To(ContainSubstring("STATUS: failed"))
		GinkgoWriter.Printf("HELM4 upgrade --wait failed after %s (timeout %s): %s\n", took.Round(time.Millisecond), helmWaitTimeout, msg)
	})

	It("Helm 4: upgrade --wait back to the chart's values returns once the stack is Ready again", func() {
		out, took, err := timed(helm4, "upgrade", "h4", chart, "--wait", "--timeout", helmWaitTimeout.String())
		Expect(err).NotTo(HaveOccurred(), out)
		state, msg := condition("h4-web", "Ready")
		Expect(state).To(Equal("True Ready"), "stack h4-web when helm4 upgrade --wait returned: %s", msg)
		GinkgoWriter.Printf("HELM4 upgrade --wait (the fix) returned 0 after %s, h4-web Ready\n", took.Round(time.Millisecond))
	})

	// Helm 3.19 checks Pods, Deployments, StatefulSets, DaemonSets, Services,
	// claims, CRDs, ReplicaSets, ReplicationControllers and Jobs, and calls any
	// other kind ready at once (helm.sh/helm/v3/pkg/kube ReadyChecker.IsReady).
	It("Helm 3.19: install --wait returns at once, before the stacks are Ready", func() {
		out, took, err := timed(cluster.Helm, "install", "h3", chart, "--wait", "--timeout", helmWaitTimeout.String(), "--debug")
		Expect(err).NotTo(HaveOccurred(), out)
		// Read right after helm returned. Helm 4 took 1.5-2.5 s to see both stacks
		// Ready on this chart; Helm 3 returns in a few milliseconds after creating
		// them, so at least one is not Ready yet (without a status yet, or
		// Progressing).
		states := map[string]string{}
		for _, stack := range []string{"h3-web", "h3-api"} {
			states[stack], _ = condition(stack, "Ready")
		}
		Expect(states).To(ContainElement(Not(Equal("True Ready"))), "helm 3 returned after %s", took)
		Expect(out).To(ContainSubstring("beginning wait for 2 resources with timeout of 3m0s"))
		Expect(out).To(ContainSubstring("wait for resources succeeded within 0s"))
		GinkgoWriter.Printf("HELM3 install --wait returned 0 after %s; Ready then: %v\n", took.Round(time.Millisecond), states)
		waitReady(utils.StackRefs("h3-web", "h3-api")...)
	})

	It("Helm 3.19: upgrade --wait succeeds although the stack it changed is Stalled", func() {
		out, took, err := timed(cluster.Helm, "upgrade", "h3", chart, "--set", "web.hostLogs=true",
			"--wait", "--timeout", helmWaitTimeout.String())
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("STATUS: deployed"))
		Expect(took).To(BeNumerically("<", 10*time.Second))
		Eventually(func() string { s, _ := condition("h3-web", "Stalled"); return s }, 30*time.Second, 200*time.Millisecond).
			Should(Equal("True FailedCreate"), "the stack helm 3 called deployed")
		GinkgoWriter.Printf("HELM3 upgrade --wait returned 0 (deployed) after %s; h3-web is Stalled (FailedCreate)\n",
			took.Round(time.Millisecond))
	})
})
