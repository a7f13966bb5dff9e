//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// The proof of least privilege is the operator the chart installs, running as pods
// on the real node with nothing but its ServiceAccount's token.
var _ = Describe("the operator from its chart, as pods on the real node", Ordered, Label("real-node"), func() {
	var p *podOperator

	BeforeAll(func() {
		if !inCluster() {
			Skip("the cluster has no real node (hack/dev-cluster.sh says why); the operator runs as a process here")
		}
		p = op.(*podOperator)
		ensureSamples()
	})

	It("runs two pods on the real node under Pod Security restricted, with the chart's ServiceAccount and no RBAC errors", func() {
		Expect(kubectl("get", "namespace", opNamespace, "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`)).To(Equal("restricted"))
		pods, err := kubectl("get", "pods", "-n", opNamespace, "-l", opSelector, "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.spec.serviceAccountName} {.status.phase} {.spec.containers[0].image}{"\n"}{end}`)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(pods), "\n")
		Expect(lines).To(HaveLen(opReplicas))
		for _, l := range lines {
			f := strings.Fields(l)
			Expect(f[1:]).To(Equal([]string{realNode, opDeployment, "Running", "appstack-operator:" + version()}), l)
		}
		GinkgoWriter.Printf("OPERATOR PODS\n%s", pods)

		manyStacks("rbac", 5)
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: rbac-everything}
spec:
  configs: [{name: cfg, data: {a: b}}]
  volumes: [{name: data, size: 1Gi}]
  components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres, ports: [{containerPort: 5432}], volumeMounts: [{name: data, mountPath: /data}]}]
    volumes: [{name: data, persistentVolume: data}]
    podDisruptionBudget: {maxUnavailable: 1}
  - name: web
    dependsOn: [db]
    containers: [{name: app, image: nginx, ports: [{containerPort: 80}], volumeMounts: [{name: cfg, mountPath: /cfg}]}]
    volumes: [{name: cfg, config: cfg}]
    ingress: {host: rbac.example.com}
    autoscaling: {maxReplicas: 3, targetCPUUtilizationPercentage: 80}
  - {name: agent, kind: DaemonSet, containers: [{name: a, image: busybox}]}
  - {name: once, kind: Job, containers: [{name: j, image: busybox}]}
  - {name: cron, kind: CronJob, schedule: "*/10 * * * *", containers: [{name: c, image: busybox}]}
  - {name: solo, kind: Pod, containers: [{name: p, image: busybox}]}
`)
		waitReady(append(utils.StackRefs(numbered("rbac", 5)...), "stack/rbac-everything")...)
		Expect(kubectl("delete", "stack", "rbac-00", "--timeout=60s")).Error().NotTo(HaveOccurred())
		log := p.logs()
		Expect(log).To(ContainSubstring("Starting workers"))
		Expect(strings.ToLower(log)).NotTo(ContainSubstring("forbidden"), "RBAC errors in the operator's log")
	})

	It("says its version: kubectl appstack version, the start log and the build_info metric", func() {
		v := version()
		out, err := kubectl("appstack", "version")
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("VERSION\n%s", out)
		Expect(out).To(MatchRegexp(`(?m)^Client Version: ` + regexp.QuoteMeta(v) + ` \(commit [0-9a-f]{12}`))
		Expect(out).To(MatchRegexp(`(?m)^Operator Version: ` + regexp.QuoteMeta(v) + ` \(` + opNamespace + `/` + opDeployment +
			`, image appstack-operator:` + regexp.QuoteMeta(v) + `, 2/2 ready, leader ` + opDeployment + `-`))
		Expect(p.logs()).To(ContainSubstring(`"msg":"starting manager","version":"` + v + `"`))
		Expect(p.scrape()).To(MatchRegexp(`appstack_operator_build_info\{commit="[0-9a-f]{12}(-dirty)?",date="[^"]+",goversion="go[^"]+",version="` + regexp.QuoteMeta(v) + `"\} 1`))
	})

	It("serves metrics only to an authorized token, with the per-stack gauges", func() {
		ip := podIP(opNamespace, p.waitLeader())
		code, _ := metricsGet(ip, "")
		Expect(code).To(Equal(http.StatusUnauthorized))
		_, _ = kubectl("create", "serviceaccount", "nobody", "-n", opNamespace)
		tok, err := kubectl("create", "token", "nobody", "-n", opNamespace)
		Expect(err).NotTo(HaveOccurred())
		code, _ = metricsGet(ip, strings.TrimSpace(tok))
		Expect(code).To(Equal(http.StatusForbidden), "a token without the metrics-reader role")
		code, body := metricsGet(ip, p.scraperToken)
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring(`appstack_components_ready{stack="rbac-everything"} 6`))
		Expect(body).To(ContainSubstring(`appstack_components_total{stack="rbac-everything"} 6`))
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, `appstack_components_`) && strings.Contains(l, "gurumee") {
				GinkgoWriter.Printf("SCRAPED https://%s:8443/metrics: %s\n", ip, l)
			}
		}
	})

	It("elects one leader of two; when the leader crashes (SIGKILL) the other takes over and a new stack converges", func() {
		leader := p.waitLeader()
		pods, err := kubectl("get", "pods", "-n", opNamespace, "-l", opSelector, "-o", "jsonpath={.items[*].metadata.name}")
		Expect(err).NotTo(HaveOccurred())
		var standby string
		for _, n := range strings.Fields(pods) {
			if n != leader {
				standby = n
			}
		}
		Expect(standby).NotTo(BeEmpty())
		standbyLog, err := kubectl("logs", "-n", opNamespace, standby)
		Expect(err).NotTo(HaveOccurred())
		Expect(standbyLog).NotTo(ContainSubstring("Starting workers"), "the standby must not reconcile")

		// A crash: the leader's manager process is SIGKILLed and cannot release its
		// lease; once the lease (15 s) runs out a new process holds it: the standby,
		// or the killed container, which the kubelet restarts at once and which then
		// competes with a new identity (pod name and a fresh UUID).
		uid, err := kubectl("get", "pod", leader, "-n", opNamespace, "-o", "jsonpath={.metadata.uid}")
		Expect(err).NotTo(HaveOccurred())
		pids := utils.ManagerPIDs(clusterName, uid)
		Expect(pids).To(HaveLen(1), "the leader's manager process")
		holder := func() string { return cluster.LeaseHolder(opNamespace, opLease) }
		before := holder()
		Expect(before).To(HavePrefix(leader + "_"))
		killed := time.Now()
		Expect(syscall.Kill(pids[0], syscall.SIGKILL)).To(Succeed())
		var after string
		Eventually(func() string { after = holder(); return after }, 90*time.Second, 200*time.Millisecond).
			Should(And(Not(BeEmpty()), Not(Equal(before))))
		takeover := time.Since(killed).Round(100 * time.Millisecond)
		restarts, _ := kubectl("get", "pod", leader, "-n", opNamespace, "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
		GinkgoWriter.Printf("TAKEOVER: leader %s SIGKILLed (pid %d, lease holder %s); %s holds the lease after %s; the killed container restarted %s time(s)\n",
			leader, pids[0], before, after, takeover, restarts)
		AddReportEntry("leader takeover after SIGKILL", takeover.String())
		Expect(restarts).To(Equal("1"))
		current, _, _ := strings.Cut(after, "_")
		Expect([]string{leader, standby}).To(ContainElement(current), "the lease holder is one of the operator's pods")

		// A leader's pod deleted the usual way hands the lease over at once (the
		// manager releases it on SIGTERM).
		deleted := time.Now()
		Expect(kubectl("delete", "pod", current, "-n", opNamespace, "--wait=false")).Error().NotTo(HaveOccurred())
		var next string
		Eventually(func() string { next = p.leader(); return next }, 90*time.Second, 200*time.Millisecond).
			Should(And(Not(BeEmpty()), Not(Equal(current))))
		handover := time.Since(deleted).Round(100 * time.Millisecond)
		GinkgoWriter.Printf("HANDOVER: leader %s deleted, %s leads after %s\n", current, next, handover)
		AddReportEntry("leader hand-over on pod deletion", handover.String())

		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: after-takeover}
spec:
  components: [{name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}]
`)
		waitReady("stack/after-takeover")
		Expect(kubectl("rollout", "status", "deployment/"+opDeployment, "-n", opNamespace, "--timeout=120s")).Error().NotTo(HaveOccurred())
		Expect(strings.ToLower(p.logs())).NotTo(ContainSubstring("forbidden"))
	})
})

// version is the release this tree builds (VERSION).
func version() string {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(string(b))
}
