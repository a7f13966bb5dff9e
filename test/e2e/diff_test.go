//go:build e2e

package e2e

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// diffStack is a stack of two Deployments with their Services, the second with a
// stack volume (retained, as by default); edit changes its text (the image, a
// component) for the next case. Cutting it at "  - name: cache" removes the
// second component and its volume.
func diffStack(edit func(string) string) string {
	doc := `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: diff-shop}
spec:
  components:
  - name: web
    replicas: 2
    containers:
    - name: app
      image: nginx:1.27
      ports: [{name: http, containerPort: 80}]
  - name: cache
    containers:
    - name: redis
      image: redis:7.4
      ports: [{name: redis, containerPort: 6379}]
      volumeMounts: [{name: data, mountPath: /data}]
    volumes:
    - {name: data, persistentVolume: cache-data}
  volumes:
  - {name: cache-data, size: 1Gi}
`
	if edit != nil {
		doc = edit(doc)
	}
	return doc
}

// appstackDiff runs `kubectl appstack diff -f FILE` as a user types it and returns
// its standard output and exit status.
func appstackDiff(doc string) (string, int) {
	GinkgoHelper()
	f := filepath.Join(GinkgoT().TempDir(), "stack.yaml")
	writeFile(f, doc)
	start := time.Now()
	out, err := kubectl("appstack", "diff", "-f", f)
	GinkgoWriter.Printf("DIFF took %s\n", since(start))
	if err == nil {
		return out, 0
	}
	var exit *exec.ExitError
	Expect(errors.As(err, &exit)).To(BeTrue(), "kubectl appstack diff did not run: %v", err)
	return out, exit.ExitCode()
}

// fileDiff is the unified diff of one object out of diff's output, from its ---
// line to the next object's; "" when the output has none for it.
func fileDiff(out, path string) string {
	start := strings.Index(out, "--- live/"+path)
	if start < 0 {
		return ""
	}
	rest := out[start+1:]
	end := len(rest)
	for _, marker := range []string{"\n--- live/", "\nAppStack "} {
		if i := strings.Index(rest, marker); i >= 0 && i < end {
			end = i
		}
	}
	return out[start : start+1+end]
}

// versions are the resourceVersions of objects, to show that diff wrote nothing.
func versions(refs ...string) map[string]string {
	GinkgoHelper()
	out := map[string]string{}
	for _, ref := range refs {
		args := append(strings.Fields(ref), "-o", "jsonpath={.metadata.resourceVersion}")
		out[ref] = get(args...)
	}
	return out
}

var _ = Describe("kubectl appstack diff", Ordered, func() {
	// The objects a diff must not touch, by `kubectl get` arguments.
	watched := []string{
		"stack diff-shop", "namespace diff-shop",
		"deployment web -n diff-shop", "deployment cache -n diff-shop",
		"service web -n diff-shop", "service cache -n diff-shop", "pvc cache-data -n diff-shop",
	}
	newImage := func(doc string) string { return strings.Replace(doc, "nginx:1.27", "nginx:1.28", 1) }

	AfterAll(func() {
		_, _ = kubectl("delete", "stack", "diff-shop", "--ignore-not-found", "--timeout=60s")
	})

	It("lists every object of a stack that does not exist yet as created, and creates nothing", func() {
		out, code := appstackDiff(diffStack(nil))
		Expect(code).To(Equal(1), out)
		Expect(out).To(ContainSubstring("+++ applied/v1/Namespace/diff-shop\t(created)\n"))
		Expect(fileDiff(out, "apps/v1/Deployment/diff-shop/web")).To(ContainSubstring("+      - image: nginx:1.27\n"))
		for _, line := range []string{
			"AppStack diff-shop: 7 created", "created   PersistentVolumeClaim diff-shop/cache-data",
			"created   AppStack diff-shop", "created   Namespace diff-shop",
			"created   Deployment diff-shop/web", "created   Service diff-shop/web",
			"created   Deployment diff-shop/cache", "created   Service diff-shop/cache",
		} {
			Expect(out).To(ContainSubstring(line))
		}
		Expect(get("stack", "diff-shop", "--ignore-not-found")).To(BeEmpty(), "the diff created the stack")
		Expect(get("namespace", "diff-shop", "--ignore-not-found")).To(BeEmpty(), "the diff created the namespace")
	})

	It("exits 0 and prints nothing for a Ready stack applied as it is, and writes nothing", func() {
		apply(diffStack(nil))
		waitReady("stack/diff-shop")
		before := versions(watched...)
		out, code := appstackDiff(diffStack(nil))
		Expect(code).To(Equal(0), out)
		Expect(out).To(BeEmpty())
		Expect(versions(watched...)).To(Equal(before), "the diff wrote to the cluster")
	})

	It("shows a changed image as the Deployment's diff, and writes nothing", func() {
		before := versions(watched...)
		out, code := appstackDiff(diffStack(newImage))
		Expect(code).To(Equal(1), out)
		web := fileDiff(out, "apps/v1/Deployment/diff-shop/web")
		Expect(web).To(HavePrefix("--- live/apps/v1/Deployment/diff-shop/web\n+++ applied/apps/v1/Deployment/diff-shop/web\n@@ "))
		Expect(web).To(ContainSubstring("\n-      - image: nginx:1.27\n+      - image: nginx:1.28\n"))
		Expect(fileDiff(out, "apps.appstack.dev/v1alpha1/AppStack/diff-shop")).To(MatchRegexp(`(?m)^\+ +- image: nginx:1\.28$`))
		// Nothing else changes: not the cache, not the Services.
		Expect(out).To(ContainSubstring("AppStack diff-shop: 2 changed\n  changed   AppStack diff-shop\n  changed   Deployment diff-shop/web\n"))
		Expect(versions(watched...)).To(Equal(before), "the diff wrote to the cluster")
		Expect(get("deployment", "web", "-n", "diff-shop", "-o", "jsonpath={..image}")).To(Equal("nginx:1.27"))
	})

	It("lists a removed component's objects as pruned, its retained claim as kept, and writes nothing", func() {
		before := versions(watched...)
		removed := func(doc string) string { return doc[:strings.Index(doc, "  - name: cache")] }
		out, code := appstackDiff(diffStack(removed))
		Expect(code).To(Equal(1), out)
		Expect(out).To(ContainSubstring("+++ applied/apps/v1/Deployment/diff-shop/cache\t(pruned: deleted by the operator)\n"))
		Expect(fileDiff(out, "apps/v1/Deployment/diff-shop/cache")).To(ContainSubstring("\n-      - image: redis:7.4\n"))
		Expect(out).To(ContainSubstring("pruned    Deployment diff-shop/cache: no longer in the spec\n"))
		Expect(out).To(ContainSubstring("pruned    Service diff-shop/cache: no longer in the spec\n"))
		// Data is never deleted: the claim of a retained volume is labelled retained.
		Expect(out).To(ContainSubstring("+++ applied/v1/PersistentVolumeClaim/diff-shop/cache-data\t(kept: retained with its data)\n"))
		Expect(fileDiff(out, "v1/PersistentVolumeClaim/diff-shop/cache-data")).To(ContainSubstring("\n+    apps.appstack.dev/retained: \"true\"\n"))
		Expect(out).To(ContainSubstring("kept      PersistentVolumeClaim diff-shop/cache-data: no longer in the spec; its volume is retained"))
		Expect(out).NotTo(ContainSubstring("Deployment diff-shop/web"))
		Expect(versions(watched...)).To(Equal(before), "the diff wrote to the cluster")
	})

	It("says the operator would refuse a name taken by someone else's object, and prunes nothing meanwhile", func() {
		Expect(kubectl("create", "configmap", "settings", "-n", "diff-shop", "--from-literal=k=v")).Error().NotTo(HaveOccurred())
		before := versions(watched...)
		taken := func(doc string) string {
			doc = strings.Replace(doc, "spec:\n", "spec:\n  configs:\n  - {name: settings, data: {mode: fast}}\n", 1)
			return doc[:strings.Index(doc, "  - name: cache")]
		}
		out, code := appstackDiff(diffStack(taken))
		Expect(code).To(Equal(1), out)
		Expect(out).To(MatchRegexp(`conflict  ConfigMap diff-shop/settings: the operator would refuse it \(Conflict\): ` +
			`ConfigMap diff-shop/settings already exists and is not this stack's \(managed by kubectl-create\)`))
		Expect(out).NotTo(ContainSubstring("--- live/v1/ConfigMap/diff-shop/settings"))
		Expect(out).NotTo(MatchRegexp(`(?m)^  pruned `))
		Expect(out).To(ContainSubstring("note: nothing is pruned while a name is in conflict"))
		Expect(versions(watched...)).To(Equal(before), "the diff wrote to the cluster")
	})
})
