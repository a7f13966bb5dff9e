//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// rolloutStack is a two-replica web at image tag; crash makes its pods crash-loop
// (the kwok Stage of hack/kwok/stages.yaml stands in for the kubelet).
func rolloutStack(name, tag string, crash, autoRollback bool) string {
	return rolloutStackOf("Deployment", name, tag, crash, autoRollback)
}

func rolloutStackOf(kind, name, tag string, crash, autoRollback bool) string {
	annotations := ""
	if crash {
		annotations = "\n    annotations: {appstack.dev/simulate: CrashLoopBackOff}"
	}
	rollout := ""
	if autoRollback {
		rollout = "\n  rollout: {autoRollback: true, failAfter: 10s}"
	}
	return fmt.Sprintf(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: %s}
spec:%s
  components:
  - name: web
    kind: %s
    replicas: 2%s
    containers: [{name: app, image: "appstack-e2e/web:%s", ports: [{containerPort: 8080}]}]
`, name, rollout, kind, annotations, tag)
}

// firstFailingPod waits for a pod of the stack's web Deployment to report a crash
// loop and returns when it was first seen.
func firstFailingPod(ns string) time.Time {
	GinkgoHelper()
	Eventually(func() string {
		return get("pods", "-n", ns, "-o", `jsonpath={range .items[*]}{.status.containerStatuses[*].state.waiting.reason}{" "}{end}`)
	}, 30*time.Second, 100*time.Millisecond).Should(ContainSubstring("CrashLoopBackOff"))
	return time.Now()
}

// workloadRuns reports whether the stack's web Deployment or StatefulSet runs
// image on every one of its replicas, all ready, and no pod of another template is
// left.
func workloadRuns(kind, ns, image string) bool {
	out := get(kind, "web", "-n", ns, "-o",
		`jsonpath={.spec.template.spec.containers[0].image} {.spec.replicas} {.status.updatedReplicas} {.status.readyReplicas} {.status.replicas}`)
	f := strings.Fields(out)
	return len(f) == 5 && f[0] == image && f[1] == f[2] && f[2] == f[3] && f[3] == f[4]
}

var _ = Describe("automatic rollback", Ordered, func() {
	const name = "rb-auto"

	It("puts a crash-looping revision back to the last Ready one within failAfter and a few seconds, without touching the spec", func() {
		apply(rolloutStack(name, "v1", false, true))
		waitReady("stack/" + name)
		Expect(get("stack", name, "-o", "jsonpath={.status.revision}")).To(Equal("1"))

		apply(rolloutStack(name, "v2", true, true))
		failed := firstFailingPod(name)
		Eventually(func() bool { return workloadRuns("deployment", name, "appstack-e2e/web:v1") }, 40*time.Second, 100*time.Millisecond).
			Should(BeTrue(), "the Deployment runs v1 again")
		back := time.Since(failed)
		d := statusWithin(name, "RolledBack", failed, 10*time.Second)
		GinkgoWriter.Printf("ROLLBACK: first crash-looping pod -> v1 running on 2/2 ready pods again in %s (failAfter 10s); STATUS RolledBack %s after the first failing pod\n",
			back.Round(100*time.Millisecond), d.Round(100*time.Millisecond))
		AddReportEntry("rollback after first failing pod", back.Round(100*time.Millisecond).String())
		Expect(back).To(BeNumerically("<", 10*time.Second+15*time.Second), "grace + a few seconds")

		By("the spec is untouched and the status says what failed and what runs")
		Expect(get("stack", name, "-o", "jsonpath={.spec.components[0].containers[0].image}")).To(Equal("appstack-e2e/web:v2"))
		rb := get("stack", name, "-o", "jsonpath={.status.rollback.failedRevision} {.status.rollback.revision} {.status.rollback.reason} {.status.revision}")
		Expect(rb).To(Equal("2 1 CrashLoopBackOff 2"))
		msg := get("stack", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
		Expect(msg).To(ContainSubstring("revision 2 failed (web: container app keeps crashing: last exit code 1 (Error)), so the workloads run revision 1 again"))
		GinkgoWriter.Printf("STATUS: %s\n", get("stack", name))
		GinkgoWriter.Printf("MESSAGE: %s\n", msg)

		By("kubectl appstack history marks the failed revision")
		hist, err := kubectl("appstack", "history", name)
		Expect(err).NotTo(HaveOccurred())
		Expect(hist).To(MatchRegexp(`(?m)^1 .*web=appstack-e2e/web:v1\s+RUNNING: automatic rollback from revision 2`))
		Expect(hist).To(MatchRegexp(`(?m)^2\s+\*.*FAILED: CrashLoopBackOff at \S+: rolled back to revision 1`))
		GinkgoWriter.Printf("HISTORY:\n%s", hist)

		By("it stays there, and a Warning event was recorded once")
		time.Sleep(5 * time.Second)
		Expect(workloadRuns("deployment", name, "appstack-e2e/web:v1")).To(BeTrue())
		By("a restarted operator keeps the rollback and rewrites nothing")
		rv := get("stack", name, "-o", "jsonpath={.metadata.resourceVersion}")
		stopOperator(syscall.SIGTERM)
		startOperator()
		time.Sleep(6 * time.Second) // initial list, then a pass over every stack
		Expect(get("stack", name, "-o", "jsonpath={.metadata.resourceVersion}")).To(Equal(rv), "the stack's status was rewritten")
		Expect(workloadRuns("deployment", name, "appstack-e2e/web:v1")).To(BeTrue())
		Expect(get("stack", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)).To(Equal("RolledBack"))
		events := get("events", "-A", "--field-selector", "involvedObject.name="+name+",reason=RolledBack", "-o", `jsonpath={range .items[*]}{.type} {.message}{"\n"}{end}`)
		Expect(strings.Split(events, "\n")).To(HaveLen(1), events)
		Expect(events).To(HavePrefix("Warning revision 2 failed"))
	})

	It("rolls forward when the spec changes", func() {
		start := time.Now()
		apply(rolloutStack(name, "v3", false, true))
		waitReady("stack/" + name)
		Expect(workloadRuns("deployment", name, "appstack-e2e/web:v3")).To(BeTrue())
		Expect(get("stack", name, "-o", "jsonpath={.status.revision} {.status.rollback}")).To(Equal("3"))
		GinkgoWriter.Printf("ROLL FORWARD: v3 Ready %s after the apply\n", time.Since(start).Round(100*time.Millisecond))
	})

	It("leaves a stack without the option on the failing revision, with the cause named", func() {
		const off = "rb-off"
		apply(rolloutStack(off, "v1", false, false))
		waitReady("stack/" + off)
		apply(rolloutStack(off, "v2", true, false))
		failed := firstFailingPod(off)
		statusWithin(off, "CrashLoopBackOff", failed, 10*time.Second)
		time.Sleep(15 * time.Second) // past the failAfter the other stack had
		Expect(get("stack", off, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason} {.spec.components[0].containers[0].image} {.status.rollback}`)).
			To(Equal("CrashLoopBackOff appstack-e2e/web:v2"))
		Expect(get("deployment", "web", "-n", off, "-o", "jsonpath={.spec.template.spec.containers[0].image}")).To(Equal("appstack-e2e/web:v2"))
	})

	It("rolls a StatefulSet back too, replacing the pod stuck on the failed revision", func() {
		const sts = "rb-sts"
		apply(rolloutStackOf("StatefulSet", sts, "v1", false, true))
		waitReady("stack/" + sts)
		apply(rolloutStackOf("StatefulSet", sts, "v2", true, true))
		failed := firstFailingPod(sts)
		Eventually(func() bool { return workloadRuns("statefulset", sts, "appstack-e2e/web:v1") }, 40*time.Second, 100*time.Millisecond).
			Should(BeTrue(), "the StatefulSet runs v1 again")
		back := time.Since(failed)
		statusWithin(sts, "RolledBack", failed, 10*time.Second)
		Expect(get("pods", "-n", sts, "-o", "jsonpath={.items[*].spec.containers[0].image}")).To(Equal("appstack-e2e/web:v1 appstack-e2e/web:v1"))
		GinkgoWriter.Printf("ROLLBACK (StatefulSet): first crash-looping pod -> v1 on 2/2 ready pods in %s (failAfter 10s)\n", back.Round(100*time.Millisecond))
		Expect(back).To(BeNumerically("<", 25*time.Second))
	})
})
