//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/internal/status"
	"github.com/appstack-dev/appstack-operator/test/utils"
)

// apply applies a stack given as YAML, with kubectl.
func apply(doc string) {
	GinkgoHelper()
	Expect(cluster.ApplyFile(filepath.Join(GinkgoT().TempDir(), "stack.yaml"), doc)).NotTo(HaveOccurred())
}

func get(args ...string) string {
	GinkgoHelper()
	out, err := kubectl(append([]string{"get"}, args...)...)
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(out)
}

// restoreTime deletes an object with kubectl and measures until a new one (another
// UID) is there.
func restoreTime(kind, name, ns string) time.Duration {
	GinkgoHelper()
	old := get(kind, name, "-n", ns, "-o", "jsonpath={.metadata.uid}")
	start := time.Now()
	Expect(kubectl("delete", kind, name, "-n", ns, "--wait=false")).Error().NotTo(HaveOccurred())
	Eventually(func() string {
		out, _ := kubectl("get", kind, name, "-n", ns, "-o", "jsonpath={.metadata.uid}", "--ignore-not-found")
		return out
	}, 2*time.Second, 20*time.Millisecond).Should(And(Not(BeEmpty()), Not(Equal(old))), "%s %s/%s not restored within 2s", kind, ns, name)
	return time.Since(start)
}

const driftStack = `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: drift}
spec:
  configs:
  - name: web-config
    data: {index.html: "<h1>hi</h1>"}
  components:
  - name: web
    replicas: 2
    containers:
    - name: app
      image: nginx:1.27
      ports: [{name: http, containerPort: 80}]
      volumeMounts: [{name: html, mountPath: /usr/share/nginx/html}]
    volumes:
    - {name: html, config: web-config}
`

var _ = Describe("drift", Ordered, func() {
	BeforeAll(func() {
		ensureSamples()
		apply(driftStack)
		waitReady("stack/drift")
	})

	It("restores a deleted Deployment, Service and ConfigMap within 2 s", func() {
		for _, obj := range [][2]string{{"deployment", "web"}, {"service", "web"}, {"configmap", "web-config"}} {
			d := restoreTime(obj[0], obj[1], "drift")
			GinkgoWriter.Printf("RESTORE %s %s: %s\n", obj[0], obj[1], d.Round(time.Millisecond))
			AddReportEntry("restore "+obj[0], d.Round(time.Millisecond).String())
		}
	})

	It("reverts kubectl scale and kubectl set image, and leaves fields it does not set alone", func() {
		Expect(kubectl("annotate", "deployment", "web", "-n", "drift", "team=ops")).Error().NotTo(HaveOccurred())
		Expect(kubectl("scale", "deployment", "web", "-n", "drift", "--replicas=5")).Error().NotTo(HaveOccurred())
		Eventually(func() string { return get("deployment", "web", "-n", "drift", "-o", "jsonpath={.spec.replicas}") },
			2*time.Second, 50*time.Millisecond).Should(Equal("2"))
		Expect(kubectl("set", "image", "deployment/web", "-n", "drift", "app=nginx:broken")).Error().NotTo(HaveOccurred())
		Eventually(func() string {
			return get("deployment", "web", "-n", "drift", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
		}, 2*time.Second, 50*time.Millisecond).Should(Equal("nginx:1.27"))
		Expect(get("deployment", "web", "-n", "drift", "-o", "jsonpath={.metadata.annotations.team}")).To(Equal("ops"),
			"an annotation the operator does not set survives its applies")
	})

	It("leaves replicas to the autoscaler when autoscaling is set", func() {
		// The php-apache sample: HPA minReplicas 2, no replicas in the stack.
		Eventually(func() string {
			return get("deployment", "php-apache", "-n", "php-apache", "-o", "jsonpath={.spec.replicas}")
		},
			90*time.Second, time.Second).Should(Equal("2"), "the HPA scales to its minimum")
		Expect(kubectl("scale", "deployment", "php-apache", "-n", "php-apache", "--replicas=3")).Error().NotTo(HaveOccurred())
		Consistently(func() string {
			return get("deployment", "php-apache", "-n", "php-apache", "-o", "jsonpath={.spec.replicas}")
		},
			2*time.Second, 200*time.Millisecond).Should(Equal("3"), "the operator does not fight over replicas it does not own")
		Expect(kubectl("scale", "deployment", "php-apache", "-n", "php-apache", "--replicas=2")).Error().NotTo(HaveOccurred())
		waitReady("stack/php-apache")
	})
})

var _ = Describe("namespaces and data", Ordered, func() {
	BeforeAll(ensureSamples)

	It("adopts an existing namespace only when both sides agree, and never deletes it", func() {
		Expect(kubectl("create", "namespace", "legacy")).Error().NotTo(HaveOccurred())
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: adopter}
spec:
  namespace: {name: legacy, adopt: true}
  components:
  - {name: web, containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]}
`)
		// The stack asks; the namespace's owner has not agreed yet.
		Eventually(func() string { return get("stacks", "adopter") }, 10*time.Second, 200*time.Millisecond).
			Should(MatchRegexp(`adopter\s+legacy\s+\S+\s+NamespaceConflict`))
		Expect(get("stack", "adopter", "-o", "jsonpath={.status.conditions[0].message}")).
			To(ContainSubstring("kubectl annotate namespace legacy apps.appstack.dev/adopt=adopter"))
		Expect(get("namespace", "legacy", "-o", "jsonpath={.metadata.labels.apps\\.appstack\\.dev/stack}")).To(BeEmpty())
		Expect(get("deployments", "-n", "legacy", "-o", "name")).To(BeEmpty())
		// The owner agrees; the operator looks again within seconds, with no new apply.
		Expect(kubectl("annotate", "namespace", "legacy", "apps.appstack.dev/adopt=adopter")).Error().NotTo(HaveOccurred())
		waitReady("stack/adopter")
		Expect(get("namespace", "legacy", "-o", "jsonpath={.metadata.ownerReferences}")).To(BeEmpty())
		Expect(get("namespace", "legacy", "-o", "jsonpath={.metadata.labels.apps\\.appstack\\.dev/stack}")).To(Equal("adopter"))
		Expect(kubectl("delete", "stack", "adopter", "--timeout=60s")).Error().NotTo(HaveOccurred())
		Expect(get("namespace", "legacy", "-o", "jsonpath={.status.phase}")).To(Equal("Active"))
		Expect(get("deployments", "-n", "legacy", "-o", "name")).To(BeEmpty())
		Expect(get("namespace", "legacy", "-o", "jsonpath={.metadata.labels.apps\\.appstack\\.dev/stack}")).To(BeEmpty(),
			"released: the labels the operator added are gone")
	})

	It("refuses a namespace another stack owns", func() {
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: intruder}
spec:
  namespace: {name: gurumee}
  components:
  - {name: other, containers: [{name: app, image: nginx}]}
`)
		Eventually(func() string { return get("stack", "intruder", "-o", "jsonpath={.status.conditions[0].reason}") },
			10*time.Second, 200*time.Millisecond).Should(Equal("NamespaceConflict"))
		Expect(get("stacks", "intruder")).To(MatchRegexp(`intruder\s+gurumee\s+0/1\s+NamespaceConflict`))
		Expect(get("deployments", "-n", "gurumee", "-o", "name")).To(Equal("deployment.apps/simple-app"))
		Expect(kubectl("delete", "stack", "intruder", "--timeout=60s")).Error().NotTo(HaveOccurred())
		Expect(get("deployments", "-n", "gurumee", "-o", "name")).To(Equal("deployment.apps/simple-app"), "deleting it touches nothing either")
	})

	const keeper = `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: keeper}
spec:
  volumes:
  - {name: data, size: %s}
  components:
  - name: db
    kind: StatefulSet
    containers:
    - {name: pg, image: postgres:16, ports: [{containerPort: 5432}], volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}
    volumes: [{name: data, persistentVolume: data}]
`
	var uid string

	It("grows a retained claim", func() {
		apply(fmt.Sprintf(keeper, "1Gi"))
		waitReady("stack/keeper")
		Expect(get("pvc", "data", "-n", "keeper", "-o", "jsonpath={.status.phase}")).To(Equal("Bound"))
		uid = get("pvc", "data", "-n", "keeper", "-o", "jsonpath={.metadata.uid}")
		apply(fmt.Sprintf(keeper, "2Gi"))
		Eventually(func() string {
			return get("pvc", "data", "-n", "keeper", "-o", "jsonpath={.spec.resources.requests.storage}")
		},
			10*time.Second, 200*time.Millisecond).Should(Equal("2Gi"))
	})

	It("refuses to shrink it, saying so in kubectl get stacks", func() {
		apply(fmt.Sprintf(keeper, "1Gi"))
		Eventually(func() string { return get("stacks", "keeper") }, 10*time.Second, 200*time.Millisecond).
			Should(MatchRegexp(`keeper\s+keeper\s+\S+\s+UnsafeChange`))
		Expect(get("stack", "keeper", "-o", "jsonpath={.status.conditions[0].message}")).
			To(ContainSubstring("spec.volumes[0].size: Forbidden: claim data cannot shrink from 2Gi to 1Gi"))
		Expect(get("pvc", "data", "-n", "keeper", "-o", "jsonpath={.spec.resources.requests.storage}")).To(Equal("2Gi"))
		apply(fmt.Sprintf(keeper, "2Gi"))
		waitReady("stack/keeper")
	})

	It("keeps the claim and its namespace when the stack is deleted, and nothing else labelled with the stack", func() {
		Expect(kubectl("delete", "stack", "keeper", "--timeout=60s")).Error().NotTo(HaveOccurred())
		Expect(get("pvc", "data", "-n", "keeper", "-o", "jsonpath={.metadata.uid} {.status.phase} {.metadata.labels.apps\\.appstack\\.dev/retained}")).
			To(Equal(uid + " Bound true"))
		Expect(get("namespace", "keeper", "-o", "jsonpath={.status.phase}")).To(Equal("Active"))
		Eventually(func() string {
			return get("all,configmaps,ingresses,hpa,pdb,controllerrevisions", "-n", "keeper", "-l", "apps.appstack.dev/stack=keeper", "-o", "name")
		}, 30*time.Second, 500*time.Millisecond).Should(BeEmpty())
	})

	It("re-adopts the same claim when the stack comes back", func() {
		apply(fmt.Sprintf(keeper, "2Gi"))
		waitReady("stack/keeper")
		Expect(get("pvc", "data", "-n", "keeper", "-o", "jsonpath={.metadata.uid}")).To(Equal(uid), "same claim, same data")
		Expect(get("pvc", "data", "-n", "keeper", "-o", "jsonpath={.metadata.labels.apps\\.appstack\\.dev/retained}")).To(BeEmpty())
	})

	It("deletes an unretained claim and the namespace it created", func() {
		apply(`apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: scratch}
spec:
  volumes: [{name: tmp, size: 1Gi, retain: false}]
  components:
  - name: worker
    containers: [{name: w, image: busybox, volumeMounts: [{name: tmp, mountPath: /tmp}]}]
    volumes: [{name: tmp, persistentVolume: tmp}]
`)
		waitReady("stack/scratch")
		Expect(kubectl("delete", "stack", "scratch", "--timeout=60s")).Error().NotTo(HaveOccurred())
		Eventually(func() string {
			out, _ := kubectl("get", "namespace", "scratch", "--ignore-not-found", "-o", "name")
			return out
		},
			60*time.Second, time.Second).Should(BeEmpty())
	})
})

var _ = Describe("revisions", func() {
	It("lists revisions with kubectl appstack history and rolls back with kubectl appstack rollback", func() {
		doc := `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: rev}
spec:
  components:
  - {name: web, containers: [{name: app, image: "%s", ports: [{containerPort: 80}]}]}
`
		for i, image := range []string{"nginx:1.25", "nginx:1.26", "nginx:1.27"} {
			apply(fmt.Sprintf(doc, image))
			Eventually(func() string { return get("stack", "rev", "-o", "jsonpath={.status.revision}") },
				10*time.Second, 200*time.Millisecond).Should(Equal(fmt.Sprint(i + 1)))
		}
		out, err := kubectl("appstack", "history", "rev")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(MatchRegexp(`(?m)^1\s+\S+ \S+\s+web=nginx:1.25$`))
		Expect(out).To(MatchRegexp(`(?m)^3\s+\*\s+\S+ \S+\s+web=nginx:1.27$`))

		Expect(kubectl("appstack", "rollback", "rev", "--to-revision", "1")).To(Equal("stack rev rolled back to revision 1\n"))
		Eventually(func() string {
			return get("deployment", "web", "-n", "rev", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
		}, 10*time.Second, 200*time.Millisecond).Should(Equal("nginx:1.25"))
		Eventually(func() string { return get("stack", "rev", "-o", "jsonpath={.status.revision}") },
			10*time.Second, 200*time.Millisecond).Should(Equal("4"))
	})
})

// writesBy counts the write requests in the cluster's audit log made with the
// operator's user agent since t, by verb and resource. The metrics endpoint asks
// the apiserver who a scraper is and whether it may read metrics; those reviews
// store nothing and are left out.
func writesBy(userAgent string, t time.Time) map[string]int {
	GinkgoHelper()
	counts, err := utils.Writes(cluster.AuditLog(), userAgent, t, "tokenreviews", "subjectaccessreviews")
	Expect(err).NotTo(HaveOccurred())
	return counts
}

func manyStacks(prefix string, n int) {
	GinkgoHelper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: %s-%02d}
spec:
  configs: [{name: cfg, data: {a: b}}]
  components:
  - name: web
    replicas: 2
    containers: [{name: app, image: nginx, ports: [{containerPort: 80}], volumeMounts: [{name: cfg, mountPath: /etc/cfg}]}]
    volumes: [{name: cfg, config: cfg}]
  - {name: worker, dependsOn: [web], containers: [{name: w, image: busybox}]}
`, prefix, i)
	}
	apply(b.String())
}

var _ = Describe("at rest and across restarts", Ordered, func() {
	BeforeAll(ensureSamples)

	It("makes zero writes at rest, across full resyncs, once 20 stacks have converged", func() {
		manyStacks("rest", 20)
		waitReady(utils.StackRefs(numbered("rest", 20)...)...)
		// The cluster itself must be at rest too: the HPA sample scales to its
		// minimum of 2 some seconds after it is created.
		Eventually(func() string {
			return get("deployment", "php-apache", "-n", "php-apache", "-o", "jsonpath={.status.readyReplicas}")
		}, 2*time.Minute, time.Second).Should(Equal("2"))
		// ... and it has said whether it can read metrics (on a cluster without a
		// metrics API the stack's STATUS turns MetricsUnavailable then, once).
		Eventually(func() string {
			return get("hpa", "php-apache", "-n", "php-apache", "-o", `jsonpath={.status.conditions[?(@.type=="ScalingActive")].status}`)
		}, 2*time.Minute, time.Second).ShouldNot(BeEmpty())
		waitReady("stack/php-apache")
		autoscalersSettled()
		time.Sleep(5 * time.Second) // let the last status writes land
		start := time.Now()
		before := reconciles()
		time.Sleep(65 * time.Second) // the operator runs with --sync-period=30s: two full resyncs
		passes := reconciles() - before
		writes := writesBy("appstack-operator", start)
		total := 0
		for _, n := range writes {
			total += n
		}
		stacks := len(strings.Fields(get("stacks", "-o", "jsonpath={.items[*].metadata.name}")))
		GinkgoWriter.Printf("WRITES AT REST over %s, %d stacks, %d reconciles: %d writes %v\n",
			time.Since(start).Round(time.Second), stacks, passes, total, writes)
		AddReportEntry("writes at rest", total)
		Expect(passes).To(BeNumerically(">=", 2*stacks), "the window must include full resyncs of every stack")
		Expect(writes).To(BeEmpty())
	})

	It("converges after a SIGKILL in the middle of converging 20 stacks, with nothing duplicated or orphaned", func() {
		start := time.Now()
		manyStacks("restart", 20)
		time.Sleep(500 * time.Millisecond)
		stopOperator(syscall.SIGKILL)
		ready := 0
		for _, l := range strings.Fields(get("stacks", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.ready}{\"\\n\"}{end}")) {
			if strings.HasPrefix(l, "restart-") && strings.HasSuffix(l, "=2/2") {
				ready++
			}
		}
		GinkgoWriter.Printf("at SIGKILL: %d of 20 restart stacks fully ready\n", ready)
		Expect(ready).To(BeNumerically("<", 20), "the kill must land in the middle of converging")
		startOperator()
		waitReady(utils.StackRefs(numbered("restart", 20)...)...)
		GinkgoWriter.Printf("all Ready %s after the first create\n", since(start))

		for i := 0; i < 20; i++ {
			ns := fmt.Sprintf("restart-%02d", i)
			Expect(get("deployments,services,configmaps", "-n", ns, "-l", "apps.appstack.dev/stack="+ns, "-o", "name")).
				To(Equal("deployment.apps/web\ndeployment.apps/worker\nservice/web\nconfigmap/cfg"), ns)
			Expect(get("controllerrevisions", "-n", ns, "-o", "name")).To(HaveLen(len("controllerrevision.apps/") + len(ns) + 11))
		}
		// Nothing managed by the operator belongs to a stack that does not exist.
		stacks := map[string]bool{}
		for _, s := range strings.Fields(get("stacks", "-o", "jsonpath={.items[*].metadata.name}")) {
			stacks[s] = true
		}
		owners := get("deployments,services,configmaps,statefulsets,daemonsets,jobs,cronjobs,ingresses,hpa,pdb", "-A",
			"-l", "app.kubernetes.io/managed-by=appstack-operator", "-o", "jsonpath={range .items[*]}{.metadata.labels.apps\\.appstack\\.dev/stack}{\"\\n\"}{end}")
		var orphans []string
		for _, o := range strings.Fields(owners) {
			if !stacks[o] {
				orphans = append(orphans, o)
			}
		}
		sort.Strings(orphans)
		Expect(orphans).To(BeEmpty())
		// Other suites fail stacks on purpose; these stacks must have raised nothing.
		var warnings []string
		for _, about := range strings.Fields(get("events", "-A", "--field-selector", "type=Warning,reportingComponent=appstack-operator",
			"-o", "jsonpath={range .items[*]}{.involvedObject.name}/{.reason}{\"\\n\"}{end}")) {
			if strings.HasPrefix(about, "restart-") {
				warnings = append(warnings, about)
			}
		}
		Expect(warnings).To(BeEmpty(), "no error events from the operator about the restarted stacks")
	})

	It("finishes deleting a stack that was deleted while the operator was down", func() {
		stopOperator(syscall.SIGTERM)
		Expect(kubectl("delete", "stack", "restart-00", "--wait=false")).Error().NotTo(HaveOccurred())
		Consistently(func() string { return get("stack", "restart-00", "-o", "name", "--ignore-not-found") },
			2*time.Second, 500*time.Millisecond).Should(Equal("appstack.apps.appstack.dev/restart-00"), "the finalizer holds it")
		startOperator()
		Eventually(func() string { return get("stack", "restart-00", "-o", "name", "--ignore-not-found") },
			60*time.Second, 500*time.Millisecond).Should(BeEmpty())
		Eventually(func() string {
			out, _ := kubectl("get", "namespace", "restart-00", "--ignore-not-found", "-o", "name")
			return out
		},
			60*time.Second, time.Second).Should(BeEmpty())
	})
})

// autoscalersSettled waits until every component whose autoscaler cannot compute a
// replica count (ScalingActive False) says so in its status, which it does
// status.AutoscalerGrace after the condition turned False: until then the stack has
// one status write to come. On kwok nodes, which have no metrics, that is every
// autoscaler where the cluster serves the metrics API (the real node's
// metrics-server): php-apache, and the autoscaled stacks other containers leave.
func autoscalersSettled() {
	GinkgoHelper()
	Eventually(func() []string {
		out := get("hpa", "-A", "-l", "app.kubernetes.io/managed-by=appstack-operator", "-o", `jsonpath={range .items[*]}`+
			`{.metadata.labels.apps\.appstack\.dev/stack} {.metadata.name} {.status.conditions[?(@.type=="ScalingActive")].status}/`+
			`{.status.conditions[?(@.type=="ScalingActive")].reason}{"\n"}{end}`)
		var pending []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(l)
			if len(f) != 3 || !strings.HasPrefix(f[2], "False/") || f[2] == "False/ScalingDisabled" {
				continue
			}
			phase, _ := cluster.KubectlQuiet("get", "stack", f[0], "--ignore-not-found", "-o",
				`jsonpath={.status.components[?(@.name=="`+f[1]+`")].phase}/{.status.components[?(@.name=="`+f[1]+`")].reason}`)
			if strings.TrimSpace(phase) == "Ready/" {
				pending = append(pending, l)
			}
		}
		return pending
	}, status.AutoscalerGrace+30*time.Second, time.Second).Should(BeEmpty(), "Ready components whose autoscaler cannot scale, not named yet")
}

// reconciles is the operator's count of successful reconciles so far, from its
// metrics endpoint.
func reconciles() int {
	GinkgoHelper()
	for _, m := range utils.Samples(scrape(), "controller_runtime_reconcile_total") {
		if m.Labels == `controller="appstack",result="success"` {
			return int(m.Value)
		}
	}
	Fail("no reconcile_total metric for the appstack controller")
	return 0
}
