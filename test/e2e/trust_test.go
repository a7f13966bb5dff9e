//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Trust: what the operator may and may not do to objects on the cluster, each checked
// with kubectl as a user types it. The operator keeps a StatefulSet's data when its
// stack goes and gives it back when the stack returns; a stack never moves to another
// namespace; a spec whose objects would collide is refused before anything is
// applied; objects the operator did not create — a namespace, a Pod, a ConfigMap, a
// Deployment that merely carries the stack's labels — are never changed, owned or
// deleted by it; an adopted namespace gets back what it had; and a Deployment handed
// to an autoscaler never loses replicas on the way.

// trustStack is an AppStack named name with spec (indented under spec:).
func trustStack(name, spec string) string {
	return "apiVersion: apps.appstack.dev/v1alpha1\nkind: AppStack\nmetadata: {name: " + name + "}\nspec:\n" + spec
}

// trustFile writes a stack to a file of its own and returns the path.
func trustFile(name, spec string) string {
	GinkgoHelper()
	f := filepath.Join(GinkgoT().TempDir(), name+".yaml")
	writeFile(f, trustStack(name, spec))
	return f
}

// trustReady is the stack's Ready condition: status, reason, message.
func trustReady(stack string) (string, string, string) {
	GinkgoHelper()
	out := get("stack", stack, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}{"\n"}{.status.conditions[?(@.type=="Ready")].reason}{"\n"}{.status.conditions[?(@.type=="Ready")].message}`)
	parts := strings.SplitN(out+"\n\n", "\n", 3)
	return parts[0], parts[1], strings.TrimSpace(parts[2])
}

// trustReason is the reason of the stack's Ready condition.
func trustReason(stack string) string {
	GinkgoHelper()
	_, reason, _ := trustReady(stack)
	return reason
}

// trustMap reads a map field (labels, annotations) of an object as JSON.
func trustMap(args ...string) map[string]string {
	GinkgoHelper()
	out := get(args...)
	m := map[string]string{}
	if out != "" {
		Expect(json.Unmarshal([]byte(out), &m)).To(Succeed(), out)
	}
	return m
}

// trustNSMeta is a namespace's labels and annotations.
func trustNSMeta(ns string) (map[string]string, map[string]string) {
	GinkgoHelper()
	return trustMap("namespace", ns, "-o", "jsonpath={.metadata.labels}"),
		trustMap("namespace", ns, "-o", "jsonpath={.metadata.annotations}")
}

// trustExists tells whether kubectl finds the object.
func trustExists(args ...string) bool {
	GinkgoHelper()
	return get(append(args, "--ignore-not-found", "-o", "name")...) != ""
}

// trustDelete deletes a stack with kubectl and waits until it is gone.
func trustDelete(name string) {
	GinkgoHelper()
	start := time.Now()
	Expect(kubectl("delete", "stack", name, "--timeout=90s")).Error().NotTo(HaveOccurred())
	saw("stack %s deleted in %s\n", name, since(start))
}

// trustCleanup deletes, once the spec is over, what it made, without waiting.
func trustCleanup(kinds ...[2]string) {
	DeferCleanup(func() {
		for _, k := range kinds {
			_, _ = kubectl("delete", k[0], k[1], "--ignore-not-found", "--wait=false")
		}
	})
}

// saw prints what a spec saw, on a line of its own (kubectl's jsonpath output before
// it ends without a newline).
func saw(format string, args ...any) {
	GinkgoWriter.Printf("\nSAW: "+format, args...)
}

// trustRefusal is what the apiserver or the plugin said, for the log.
func trustRefusal(err error) string {
	if err == nil {
		return "(accepted)"
	}
	return strings.TrimSpace(err.Error())
}

// trustWatch runs kubectl with args (a watch) in the background until stop is
// called, which returns what it printed.
func trustWatch(args ...string) (stop func() string) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := cluster.KubectlCommand(ctx, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	Expect(cmd.Start()).To(Succeed())
	GinkgoWriter.Printf("$ kubectl %s &\n", strings.Join(args, " "))
	return func() string {
		cancel()
		_ = cmd.Wait()
		return out.String()
	}
}

var _ = Describe("Trust", func() {
	It("keeps a StatefulSet's claim when the stack is deleted and gives the same claim back when it returns", func() {
		const name = "trust-claims"
		spec := `  components:
  - name: db
    kind: StatefulSet
    containers:
    - name: pg
      image: postgres:16
      ports: [{containerPort: 5432}]
      volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
    volumeClaimTemplates: [{name: data, size: 1Gi}]
`
		trustCleanup([2]string{"stack", name}, [2]string{"namespace", name})
		apply(trustStack(name, spec))
		waitReady("stack/" + name)
		Eventually(func() string {
			return get("pvc", "data-db-0", "-n", name, "--ignore-not-found", "-o", "jsonpath={.status.phase}")
		},
			time.Minute, 500*time.Millisecond).Should(Equal("Bound"))
		uid := get("pvc", "data-db-0", "-n", name, "-o", "jsonpath={.metadata.uid}")
		saw("claim data-db-0 Bound, uid %s\n", uid)

		trustDelete(name)
		claim := get("pvc", "data-db-0", "-n", name, "-o", `jsonpath={.metadata.uid} {.status.phase} retained={.metadata.labels.apps\.appstack\.dev/retained} owners={.metadata.ownerReferences}`)
		ns := get("namespace", name, "-o", `jsonpath={.status.phase} retained={.metadata.labels.apps\.appstack\.dev/retained} owners={.metadata.ownerReferences}`)
		saw("after kubectl delete stack: claim %q, namespace %q\n", claim, ns)
		Expect(claim).To(Equal(uid+" Bound retained=true owners="), "the claim, and its data, outlive the stack")
		Expect(ns).To(Equal("Active retained=true owners="), "the namespace that holds the claim is kept, labelled retained, owned by nothing")

		apply(trustStack(name, spec))
		waitReady("stack/" + name)
		claim = get("pvc", "data-db-0", "-n", name, "-o", `jsonpath={.metadata.uid} {.status.phase}`)
		mounted := get("pod", "db-0", "-n", name, "-o", `jsonpath={.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}`)
		saw("after re-apply: claim %q, pod db-0 mounts claim %q\n", claim, mounted)
		Expect(claim).To(Equal(uid+" Bound"), "the StatefulSet of the re-created stack reuses the same claim")
		Expect(mounted).To(Equal("data-db-0"))
		stackUID := get("stack", name, "-o", "jsonpath={.metadata.uid}")
		Eventually(func() string {
			return get("pvc", "data-db-0", "-n", name, "-o", `jsonpath={.metadata.labels.apps\.appstack\.dev/retained}`) + "|" +
				get("namespace", name, "-o", `jsonpath={.metadata.labels.apps\.appstack\.dev/retained}{.metadata.ownerReferences}/{.metadata.annotations.apps\.appstack\.dev/stack-uid}`)
		}, 10*time.Second, 200*time.Millisecond).Should(Equal("|/"+stackUID),
			"the stack took the claim and the namespace back (marked with its UID, owned by nothing)")
	})

	It("refuses to move a live stack to another namespace, and the stack keeps running where it is", func() {
		const name = "trust-move"
		trustCleanup([2]string{"stack", name})
		apply(trustStack(name, `  namespace: {name: trust-move-a}
  components:
  - {name: web, containers: [{name: app, image: "nginx:1.27", ports: [{containerPort: 80}]}]}
`))
		waitReady("stack/" + name)
		uid := get("deployment", "web", "-n", "trust-move-a", "-o", "jsonpath={.metadata.uid}")

		for what, ns := range map[string]string{
			"another name":               "  namespace: {name: trust-move-b}\n",
			"no name (the stack's name)": "",
		} {
			_, err := kubectl("apply", "-f", trustFile(name, ns+`  components:
  - {name: web, containers: [{name: app, image: "nginx:1.27", ports: [{containerPort: 80}]}]}
`))
			saw("moving to %s: %s\n", what, trustRefusal(err))
			Expect(err).To(HaveOccurred(), "moving the stack to %s must be refused", what)
			Expect(err.Error()).To(ContainSubstring("spec.namespace.name: cannot change"))
		}

		Expect(get("stack", name, "-o", "jsonpath={.spec.namespace.name} {.status.namespace}")).To(Equal("trust-move-a trust-move-a"))
		Expect(kubectl("wait", "--for=condition=Ready", "stack/"+name, "--timeout=20s")).Error().NotTo(HaveOccurred())
		Expect(get("deployment", "web", "-n", "trust-move-a", "-o", "jsonpath={.metadata.uid}")).To(Equal(uid), "the workload was not touched")
		Expect(trustExists("namespace", "trust-move-b")).To(BeFalse())
		Expect(trustExists("namespace", name)).To(BeFalse())
		saw("stack still in trust-move-a, Ready, Deployment web uid %s unchanged; no namespace trust-move-b or %s\n", uid, name)
	})

	It("refuses a spec whose objects collide before anything is applied, and kubectl appstack render names both fields", func() {
		const name = "trust-collide"
		trustCleanup([2]string{"stack", name})
		spec := `  components:
  - name: db
    kind: StatefulSet
    service: {type: ClusterIP}
    containers: [{name: pg, image: "postgres:16", ports: [{containerPort: 5432}]}]
  - name: db-headless
    containers: [{name: app, image: "nginx:1.27", ports: [{containerPort: 80}]}]
`
		file := trustFile(name, spec)
		Expect(kubectl("apply", "-f", file)).Error().NotTo(HaveOccurred(), "CEL cannot see the collision: the apiserver stores the stack")
		Eventually(func() string { return trustReason(name) }, 30*time.Second, 200*time.Millisecond).Should(Equal("InvalidSpec"))
		status, _, msg := trustReady(name)
		saw("Ready=%s InvalidSpec: %s\n", status, msg)
		Expect(status).To(Equal("False"))
		Expect(msg).To(And(ContainSubstring("spec.components[1].name"), ContainSubstring("spec.components[0] (StatefulSet db)"),
			ContainSubstring("db-headless")))
		Consistently(func() string {
			return get("statefulsets,services,deployments,pods", "-n", name, "-o", "name")
		}, 3*time.Second, 500*time.Millisecond).Should(BeEmpty(), "nothing is applied")
		Expect(trustExists("namespace", name)).To(BeFalse(), "not even the namespace")

		out, err := kubectl("appstack", "render", "-f", file)
		var exit *exec.ExitError
		Expect(errors.As(err, &exit)).To(BeTrue(), "kubectl appstack render must fail: %v", err)
		saw("kubectl appstack render exit %d, stdout %d bytes: %s\n", exit.ExitCode(), len(out), err)
		Expect(exit.ExitCode()).To(Equal(1))
		Expect(err.Error()).To(And(ContainSubstring("spec.components[1].name"), ContainSubstring("spec.components[0] (StatefulSet db)")))
		Expect(out).NotTo(ContainSubstring("kind: StatefulSet"), "no objects are printed")
	})

	It("never changes, owns or deletes a Pod and a ConfigMap it did not create in an adopted namespace", func() {
		const name, ns = "trust-foreign", "team-foreign"
		trustCleanup([2]string{"stack", name}, [2]string{"namespace", ns})
		Expect(kubectl("create", "namespace", ns)).Error().NotTo(HaveOccurred())
		Expect(kubectl("run", "x", "--image=nginx:1.25", "-n", ns)).Error().NotTo(HaveOccurred())
		Expect(kubectl("create", "configmap", "settings", "-n", ns, "--from-literal=mode=by-hand")).Error().NotTo(HaveOccurred())
		Eventually(func() error {
			_, err := kubectl("wait", "--for=condition=Ready", "pod/x", "-n", ns, "--timeout=20s")
			return err
		}, time.Minute, time.Second).Should(Succeed())
		podUID := get("pod", "x", "-n", ns, "-o", "jsonpath={.metadata.uid}")
		cm := get("configmap", "settings", "-n", ns, "-o", "jsonpath={.metadata.uid} {.metadata.resourceVersion} {.data}")
		Expect(kubectl("annotate", "namespace", ns, "apps.appstack.dev/adopt="+name)).Error().NotTo(HaveOccurred())

		apply(trustStack(name, `  namespace: {name: team-foreign, adopt: true}
  configs:
  - {name: settings, data: {mode: from-the-stack}}
  components:
  - {name: x, kind: Pod, containers: [{name: x, image: "nginx:1.27"}]}
`))
		Eventually(func() string {
			return get("stack", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}/{.status.components[0].reason}`)
		}, 30*time.Second, 200*time.Millisecond).Should(Equal("Conflict/Conflict"))
		status, reason, msg := trustReady(name)
		component := get("stack", name, "-o", "jsonpath={.status.components[0].message}")
		saw("stack Ready=%s %s: %s\nSAW: component x: %s\nSAW: %s\n", status, reason, msg, component, get("stacks", name))
		Expect(status).To(Equal("False"))
		Expect(msg).To(ContainSubstring("ConfigMap team-foreign/settings already exists and is not this stack's"))
		Expect(component).To(ContainSubstring("Pod team-foreign/x already exists and is not this stack's"))

		untouched := func() string {
			return get("pod", "x", "-n", ns, "-o", `jsonpath={.metadata.uid} {.spec.containers[0].image} owners={.metadata.ownerReferences} stack={.metadata.labels.apps\.appstack\.dev/stack}`) +
				" | " + get("configmap", "settings", "-n", ns, "-o", "jsonpath={.metadata.uid} {.metadata.resourceVersion} {.data}")
		}
		want := podUID + " nginx:1.25 owners= stack= | " + cm
		// Longer than the operator's 5 s recheck of a conflicted stack.
		Consistently(untouched, 7*time.Second, time.Second).Should(Equal(want))
		saw("pod and configmap untouched while the stack runs: %s\n", untouched())

		trustDelete(name)
		Expect(untouched()).To(Equal(want), "deleting the stack deletes neither")
		Expect(get("namespace", ns, "-o", "jsonpath={.status.phase}")).To(Equal("Active"))
		saw("after kubectl delete stack: %s; namespace Active\n", untouched())
	})

	It("refuses namespace default, adopts a namespace only with two-party consent, and gives it back its labels", func() {
		By("namespace default is refused at apply")
		_, err := kubectl("apply", "-f", trustFile("trust-default", `  namespace: {name: default}
  components:
  - {name: web, containers: [{name: app, image: "nginx:1.27"}]}
`))
		saw("namespace default: %s\n", trustRefusal(err))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.namespace.name: default, kube-system, kube-public, kube-node-lease and appstack-system are protected"))
		Expect(trustExists("stack", "trust-default")).To(BeFalse())

		By("a namespace whose owner did not hand it over is not touched")
		const lone = "trust-noconsent"
		trustCleanup([2]string{"stack", lone}, [2]string{"namespace", lone})
		Expect(kubectl("create", "namespace", lone)).Error().NotTo(HaveOccurred())
		loneLabels, loneAnnotations := trustNSMeta(lone)
		for _, adopt := range []string{"", ", adopt: true"} {
			apply(trustStack(lone, `  namespace: {name: trust-noconsent`+adopt+`}
  components:
  - {name: web, containers: [{name: app, image: "nginx:1.27"}]}
`))
			want := "set spec.namespace.adopt: true and have its owner run `kubectl annotate namespace trust-noconsent apps.appstack.dev/adopt=trust-noconsent`"
			if adopt != "" {
				want = "has not been handed to this stack: its owner must run `kubectl annotate namespace trust-noconsent apps.appstack.dev/adopt=trust-noconsent`"
			}
			Eventually(func() string { _, _, m := trustReady(lone); return m }, 30*time.Second, 200*time.Millisecond).Should(ContainSubstring(want))
			status, reason, msg := trustReady(lone)
			saw("stack%s: Ready=%s %s: %s\n", adopt, status, reason, msg)
			Expect(status + " " + reason).To(Equal("False NamespaceConflict"))
			Consistently(func() []map[string]string { l, a := trustNSMeta(lone); return []map[string]string{l, a} },
				6*time.Second, time.Second).Should(Equal([]map[string]string{loneLabels, loneAnnotations}), "no label or annotation is added")
			Expect(get("all", "-n", lone, "-o", "name")).To(BeEmpty())
		}
		trustDelete(lone)
		l, a := trustNSMeta(lone)
		Expect(get("namespace", lone, "-o", "jsonpath={.status.phase}")).To(Equal("Active"))
		Expect([]map[string]string{l, a}).To(Equal([]map[string]string{loneLabels, loneAnnotations}))

		By("a namespace handed over is adopted at the stack's level and gets its own back on release")
		const name = "trust-psa"
		trustCleanup([2]string{"stack", name}, [2]string{"namespace", name})
		Expect(kubectl("create", "namespace", name)).Error().NotTo(HaveOccurred())
		// privileged: the stack's (default) baseline is stricter, so it applies; a
		// stricter level than the stack's would be kept (docs/ownership.md).
		Expect(kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=privileged")).Error().NotTo(HaveOccurred())
		Expect(kubectl("annotate", "namespace", name, "apps.appstack.dev/adopt="+name)).Error().NotTo(HaveOccurred())
		labels, annotations := trustNSMeta(name)
		saw("before: labels %v annotations %v\n", labels, annotations)
		apply(trustStack(name, `  namespace: {name: trust-psa, adopt: true}
  components:
  - {name: web, containers: [{name: app, image: "nginx:1.27", ports: [{containerPort: 80}]}]}
`))
		waitReady("stack/" + name)
		during, duringAnn := trustNSMeta(name)
		saw("adopted: labels %v annotations %v owners %q\n", during, duringAnn,
			get("namespace", name, "-o", "jsonpath={.metadata.ownerReferences}"))
		Expect(during).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "baseline"))
		Expect(during).To(HaveKeyWithValue("apps.appstack.dev/stack", name))
		Expect(during).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "appstack-operator"))
		Expect(get("namespace", name, "-o", "jsonpath={.metadata.ownerReferences}")).To(BeEmpty(), "an adopted namespace is never owned")

		trustDelete(name)
		after, afterAnn := trustNSMeta(name)
		saw("released: labels %v annotations %v\n", after, afterAnn)
		Expect(get("namespace", name, "-o", "jsonpath={.status.phase}")).To(Equal("Active"))
		Expect(after).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "privileged"))
		Expect(after).NotTo(HaveKey("apps.appstack.dev/stack"))
		Expect(after).NotTo(HaveKey("app.kubernetes.io/managed-by"))
		Expect(after).To(Equal(labels), "exactly the labels it had before")
		Expect(get("deployments,services", "-n", name, "-o", "name")).To(BeEmpty())
		Expect(afterAnn).To(Equal(annotations), "exactly the annotations it had before")
	})

	It("never drops a Deployment below its replicas when the component switches to an autoscaler", func() {
		const name = "trust-scale"
		trustCleanup([2]string{"stack", name})
		component := `  components:
  - name: web
%s    containers: [{name: app, image: "nginx:1.27", resources: {requests: {cpu: 100m}}, ports: [{containerPort: 80}]}]
`
		apply(trustStack(name, fmt.Sprintf(component, "    replicas: 5\n")))
		waitReady("stack/" + name)
		Eventually(func() string { return get("deployment", "web", "-n", name, "-o", "jsonpath={.status.readyReplicas}") },
			time.Minute, 500*time.Millisecond).Should(Equal("5"))

		stop := trustWatch("get", "deployment", "web", "-n", name, "--watch", "-o",
			`jsonpath={.metadata.resourceVersion} {.spec.replicas} {.metadata.annotations.apps\.appstack\.dev/autoscaled}{"\n"}`)
		time.Sleep(time.Second) // the watch lists the Deployment first
		start := time.Now()
		apply(trustStack(name, fmt.Sprintf(component, "    autoscaling: {minReplicas: 5, maxReplicas: 10, targetCPUUtilizationPercentage: 50}\n")))
		var samples []string
		low := 0
		for time.Since(start) < 8*time.Second {
			out, err := kubectl("get", "deployment", "web", "-n", name, "-o", "jsonpath={.spec.replicas}")
			if err == nil {
				samples = append(samples, fmt.Sprintf("%s=%s", time.Since(start).Round(10*time.Millisecond), strings.TrimSpace(out)))
				if n, err := strconv.Atoi(strings.TrimSpace(out)); err != nil || n < 5 {
					low++
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		watched := stop()
		saw("samples of .spec.replicas after the switch (%d): %s\n", len(samples), strings.Join(samples, " "))
		saw("every version of the Deployment (resourceVersion replicas autoscaled):\n%s", watched)

		var versions []string
		for _, l := range strings.Split(strings.TrimSpace(watched), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			versions = append(versions, l)
			n, err := strconv.Atoi(f[1])
			Expect(err == nil && n >= 5).To(BeTrue(), "a version of the Deployment had spec.replicas below 5: %q", l)
		}
		Expect(samples).NotTo(BeEmpty())
		Expect(low).To(BeZero(), "samples below 5: %v", samples)
		Expect(versions).NotTo(BeEmpty())
		Expect(versions[len(versions)-1]).To(HaveSuffix(" true"), "the switch reached the Deployment within the window")
		saw("field managers of the Deployment: %s\n", get("deployment", "web", "-n", name, "-o", "jsonpath={.metadata.managedFields[*].manager}"))
		Expect(get("hpa", "web", "-n", name, "-o", "jsonpath={.spec.minReplicas}/{.spec.maxReplicas}")).To(Equal("5/10"))
		Expect(get("deployment", "web", "-n", name, "-o", "jsonpath={.spec.replicas}")).To(Equal("5"))
		waitReady("stack/" + name)
	})

	It("leaves alone a Deployment that only carries the stack's labels: pruning skips it, deletion does not wait for it", func() {
		const name = "trust-lookalike"
		trustCleanup([2]string{"stack", name})
		spec := `  components:
  - {name: web, containers: [{name: app, image: "nginx:1.27", ports: [{containerPort: 80}]}]}
`
		apply(trustStack(name, spec+`  - {name: worker, containers: [{name: w, image: busybox}]}
`))
		waitReady("stack/" + name)
		Expect(kubectl("create", "deployment", "lookalike", "--image=nginx:1.27", "-n", name)).Error().NotTo(HaveOccurred())
		Expect(kubectl("label", "deployment", "lookalike", "-n", name, "apps.appstack.dev/stack="+name,
			"app.kubernetes.io/managed-by=appstack-operator", "apps.appstack.dev/component=worker")).Error().NotTo(HaveOccurred())
		Expect(kubectl("rollout", "status", "deployment/lookalike", "-n", name, "--timeout=60s")).Error().NotTo(HaveOccurred())
		lookalike := func() string {
			return get("deployment", "lookalike", "-n", name, "--ignore-not-found", "-o",
				"jsonpath={.metadata.uid} generation={.metadata.generation} owners={.metadata.ownerReferences} deleting={.metadata.deletionTimestamp}")
		}
		before := lookalike()
		saw("look-alike: %s\n", before)

		apply(trustStack(name, spec)) // worker removed: the stack prunes its Deployment
		Eventually(func() bool { return trustExists("deployment", "worker", "-n", name) }, 30*time.Second, 200*time.Millisecond).Should(BeFalse())
		Consistently(lookalike, 6*time.Second, time.Second).Should(Equal(before), "the look-alike survives the prune")
		saw("after the prune: worker gone, look-alike %s\n", lookalike())
		waitReady("stack/" + name)

		trustDelete(name) // within kubectl's 90 s: nothing waits on the look-alike
		Eventually(func() bool { return trustExists("namespace", name) }, time.Minute, time.Second).Should(BeFalse(),
			"the namespace the stack created goes with it, and what is in it")
	})
})
