//go:build e2e

package e2e

import (
	"fmt"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// A failing component, as a user writes it: the simulate annotation stands in for
// the kubelet failures kwok cannot produce by itself (hack/kwok/stages.yaml).
func failing(name, component string) string {
	return fmt.Sprintf(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: %s}
spec:
%s`, name, component)
}

// statusWithin waits until kubectl get stacks shows reason for the stack, and
// returns how long that took from start.
func statusWithin(name, reason string, start time.Time, limit time.Duration) time.Duration {
	GinkgoHelper()
	Eventually(func() string {
		out, _ := kubectl("get", "stack", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)
		return out
	}, limit, 100*time.Millisecond).Should(Equal(reason), "stack %s", name)
	d := time.Since(start)
	Expect(get("stacks", name)).To(MatchRegexp(`(?m)^` + name + `\s+\S+\s+\d+/\d+\s+` + reason + `\s`))
	return d
}

var _ = Describe("failure attribution", Ordered, func() {
	BeforeAll(ensureSamples)

	cases := []struct {
		name, spec, reason, message string
		setup                       func()
		limit                       time.Duration
	}{
		{name: "fail-pull", reason: "ImagePullBackOff", message: `container app cannot pull image "nginx:does-not-exist"`, spec: `
  components:
  - name: web
    annotations: {appstack.dev/simulate: ImagePullBackOff}
    containers: [{name: app, image: "nginx:does-not-exist"}]`},
		{name: "fail-crash", reason: "CrashLoopBackOff", message: "container app keeps crashing: last exit code 1 (Error)", spec: `
  components:
  - name: web
    annotations: {appstack.dev/simulate: CrashLoopBackOff}
    containers: [{name: app, image: busybox}]`},
		{name: "fail-sched", reason: "Unschedulable", message: "Insufficient cpu", spec: `
  components:
  - name: web
    containers: [{name: app, image: nginx, resources: {requests: {cpu: "1000"}}}]`},
		{name: "fail-psa", reason: "FailedCreate", message: `violates PodSecurity "baseline:latest": hostPath volumes`, spec: `
  components:
  - name: web
    containers: [{name: app, image: nginx, volumeMounts: [{name: host, mountPath: /host}]}]
    volumes: [{name: host, hostPath: {path: /var/log}}]`},
		{name: "fail-quota", reason: "FailedCreate", message: "exceeded quota: two-pods", setup: func() {
			Expect(kubectl("create", "namespace", "fail-quota")).Error().NotTo(HaveOccurred())
			Expect(kubectl("create", "quota", "two-pods", "--hard=pods=2", "-n", "fail-quota")).Error().NotTo(HaveOccurred())
			// The namespace exists already: its owner hands it to the stack.
			Expect(kubectl("annotate", "namespace", "fail-quota", "apps.appstack.dev/adopt=fail-quota")).Error().NotTo(HaveOccurred())
		}, spec: `
  components:
  - name: web
    replicas: 3
    containers: [{name: app, image: nginx}]`},
		{name: "fail-pvc", reason: "ClaimPending", message: `PersistentVolumeClaim data is Pending: storage class "does-not-exist" does not exist`, spec: `
  volumes: [{name: data, size: 1Gi, storageClassName: does-not-exist}]
  components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres, volumeMounts: [{name: data, mountPath: /data}]}]
    volumes: [{name: data, persistentVolume: data}]`},
		{name: "fail-secret", reason: "CreateContainerConfigError", message: `container app cannot be created: secret "db-creds" not found`, spec: `
  components:
  - name: web
    annotations: {appstack.dev/simulate: CreateContainerConfigError, appstack.dev/simulate-message: 'secret "db-creds" not found'}
    containers: [{name: app, image: nginx, volumeMounts: [{name: creds, mountPath: /creds}]}]
    volumes: [{name: creds, secret: db-creds}]`},
		{name: "fail-dep", reason: "Waiting", message: "web: waiting for db", spec: `
  components:
  - name: web
    dependsOn: [db]
    containers: [{name: app, image: nginx}]
  - name: db
    annotations: {appstack.dev/simulate: ImagePullBackOff}
    containers: [{name: pg, image: "postgres:nope", ports: [{containerPort: 5432}]}]`},
		{name: "fail-deadline", reason: "ProgressDeadlineExceeded", message: "Deployment web made no progress for 5s", limit: 25 * time.Second, spec: `
  components:
  - name: web
    progressDeadlineSeconds: 5
    annotations: {appstack.dev/simulate: NotReady}
    containers: [{name: app, image: nginx}]`},
		{name: "fail-job", reason: "JobFailed", message: "Job migrate failed: Job has reached the specified backoff limit (BackoffLimitExceeded)", spec: `
  components:
  - name: migrate
    kind: Job
    backoffLimit: 0
    restartPolicy: Never
    annotations: {appstack.dev/simulate: Fail}
    containers: [{name: app, image: busybox}]`},
	}
	if len(cases) != 10 {
		panic("the issue names ten failures")
	}

	for _, tc := range cases {
		It("names the cause: "+tc.reason+" ("+tc.name+")", func() {
			if tc.setup != nil {
				tc.setup()
			}
			spec := tc.spec
			if tc.name == "fail-quota" {
				spec = "\n  namespace: {name: fail-quota, adopt: true}" + spec
			}
			start := time.Now()
			apply(failing(tc.name, spec))
			limit := tc.limit
			if limit == 0 {
				limit = 10 * time.Second
			}
			d := statusWithin(tc.name, tc.reason, start, limit)
			msg := get("stack", tc.name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
			Expect(msg).To(ContainSubstring(tc.message))
			GinkgoWriter.Printf("ATTRIBUTED %-26s in %-8s %s\n", tc.reason, d.Round(100*time.Millisecond), msg)
			AddReportEntry("attributed "+tc.reason, d.Round(100*time.Millisecond).String())
		})
	}

	It("keeps failing stacks' status byte-identical across three forced full resyncs (operator restarts)", func() {
		// fail-psa and fail-quota are retried by their ReplicaSets all along, with a
		// new pod name each time; fail-crash's kubelet message changes with back-off.
		stacks := []string{"fail-crash", "fail-psa", "fail-quota", "fail-sched"}
		snapshot := func() string {
			return get(append([]string{"stack", "-o", "jsonpath={range .items[*]}{.metadata.resourceVersion} {.status}{\"\\n\"}{end}"}, stacks...)...)
		}
		before := snapshot()
		for i := 0; i < 3; i++ {
			stopOperator(syscall.SIGTERM)
			startOperator()
			time.Sleep(4 * time.Second) // initial list, then a pass over every stack
			Expect(snapshot()).To(Equal(before), "resync %d", i+1)
		}
	})

	It("shows the tree with kubectl appstack status, exit 1 for a failing stack and 0 for a healthy one", func() {
		out, err := kubectl("appstack", "status", "fail-pull")
		Expect(err).To(MatchError(ContainSubstring("exit status 1")))
		Expect(out).To(ContainSubstring("AppStack fail-pull"))
		Expect(out).To(MatchRegexp(`web Deployment Progressing 0/1 ImagePullBackOff: container app cannot pull image "nginx:does-not-exist"`))
		Expect(out).To(MatchRegexp(`Pod web-\S+ Pending 0/1 ready; app: ImagePullBackOff`))
		GinkgoWriter.Printf("STATUS TREE (failing):\n%s", out)

		out, err = kubectl("appstack", "status", "gurumee")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("AppStack gurumee (namespace gurumee, revision 1): Ready"))
		GinkgoWriter.Printf("STATUS TREE (healthy):\n%s", out)

		out, err = kubectl("appstack", "status", "fail-pull", "-o", "json")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring(`"reason": "ImagePullBackOff"`))
	})

	It("records the transitions as events on the stack", func() {
		Eventually(func() string {
			return get("events", "-A", "--field-selector", "involvedObject.name=fail-pull,reason=ImagePullBackOff", "-o", "jsonpath={.items[*].message}")
		}, 10*time.Second, 500*time.Millisecond).Should(ContainSubstring(`component web: container app cannot pull image "nginx:does-not-exist"`))
	})

	It("clears the cause and reports Ready once the spec is fixed", func() {
		apply(failing("fail-pull", `
  components:
  - name: web
    containers: [{name: app, image: "nginx:1.27"}]`))
		out, err := kubectl("appstack", "status", "fail-pull", "--wait", "--timeout", "60s")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(get("stack", "fail-pull", "-o", "jsonpath={.status.components[0].phase} [{.status.components[0].message}]")).To(Equal("Ready []"))
		Eventually(func() string {
			return get("events", "-A", "--field-selector", "involvedObject.name=fail-pull,reason=ComponentReady", "-o", "jsonpath={.items[*].message}")
		}, 10*time.Second, 500*time.Millisecond).Should(ContainSubstring("component web is Ready"))
	})

	AfterAll(func() {
		// Leave the cluster at rest for the suites that follow.
		names := make([]string, 0, len(cases))
		for _, tc := range cases {
			names = append(names, tc.name)
		}
		Expect(kubectl(append([]string{"delete", "stack", "--timeout=120s"}, names...)...)).Error().NotTo(HaveOccurred())
	})
})
