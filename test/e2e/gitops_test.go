//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// Stacks delivered by a real Flux (source-controller and kustomize-controller as
// processes, built from their Go modules by hack/tools.sh flux, and a Git server
// on loopback; test/utils/flux.go) from a repository, as a GitOps user's are: the
// Kustomization (wait, prune) waits on the stacks' health with kstatus, fails
// with a stack's own message as soon as it stalls, prunes a stack removed from
// Git without losing its retained data, and at rest neither Flux nor the operator
// writes anything (docs/gitops.md).
var _ = Describe("GitOps with a real Flux", Ordered, Label("gitops"), func() {
	const source = "stacks"
	var (
		flux *utils.Flux
		repo *utils.GitRepo
		// The GitRepository looks for new commits every poll; the Kustomization
		// applies again every interval, and waits up to its timeout.
		poll = 5 * time.Second
		ks   = utils.Kustomization{Namespace: utils.FluxNamespace, Name: "stacks", Source: source,
			Interval: 20 * time.Second, Timeout: 3 * time.Minute, Prune: true, Wait: true}
		files = map[string]string{}
		// The file written through gitops-data's retained claim, and the claim.
		token, claim string
	)

	// gitops-web runs on kwok nodes; gitops-data keeps a file on a retained
	// claim, on the real node where the cluster has one.
	web := func(volume string) string {
		return `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: gitops-web}
spec:
  components:
  - name: web
    replicas: 2
    containers: [{name: app, image: nginx, ports: [{containerPort: 80}]` + volume + `
`
	}
	data := func() string {
		s := header("gitops-data") + "  - name: web\n" + dataServer("web") + "    volumes: [{name: data, persistentVolume: data}]\n"
		if realNode != "" {
			s += pin
		}
		return s + "  volumes:\n  - {name: data, size: 1Gi}\n"
	}

	commit := func(message string) (string, time.Time) {
		GinkgoHelper()
		sha, err := repo.Commit(files, message)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("GITOPS commit %.12s %q: %s\n", sha, message, strings.Join(slices.Sorted(maps.Keys(files)), ", "))
		return sha, time.Now()
	}
	// kustomization waits until the Kustomization has tried revision sha and its
	// Ready condition's status is want, and returns the condition.
	kustomization := func(sha, want string, limit time.Duration) utils.FluxCondition {
		GinkgoHelper()
		var ready utils.FluxCondition
		Eventually(func(g Gomega) {
			st, err := cluster.FluxStatus("kustomization", utils.FluxNamespace, ks.Name)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(st.LastAttemptedRevision).To(Equal(utils.FluxRevision(utils.GitBranch, sha)))
			c, ok := st.Condition("Ready")
			g.Expect(ok).To(BeTrue(), "no Ready condition yet")
			g.Expect(c.ObservedGeneration).To(Equal(st.Generation))
			g.Expect(c.Status).To(Equal(want), "%s: %s", c.Reason, c.Message)
			ready = c
		}).WithTimeout(limit).WithPolling(200*time.Millisecond).Should(Succeed(), "Kustomization %s at %.12s", ks.Name, sha)
		return ready
	}

	BeforeAll(func(ctx SpecContext) {
		manifests = GinkgoT().TempDir()
		workdir := filepath.Join(root, "bin", clusterName+".flux")
		Expect(os.RemoveAll(workdir)).To(Succeed())
		start, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		var err error
		flux, err = cluster.StartFlux(start, workdir)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(flux.Stop)
		GinkgoWriter.Printf("GITOPS Flux started in %s (git server %s, logs in %s)\n", flux.Started.Round(time.Millisecond), flux.GitURL, workdir)
		AddReportEntry("Flux start", flux.Started.Round(time.Millisecond).String())
		repo, err = flux.NewGitRepo(source)
		Expect(err).NotTo(HaveOccurred())
		// Before Flux stops (cleanups run last in, first out): deleting the
		// Kustomization prunes the stacks it applied.
		DeferCleanup(func() {
			_, _ = kubectl("delete", "kustomization", ks.Name, "-n", utils.FluxNamespace, "--ignore-not-found", "--timeout=120s")
			_, _ = kubectl("delete", "gitrepository", source, "-n", utils.FluxNamespace, "--ignore-not-found", "--timeout=60s")
			deleteStack("gitops-web", "gitops-web")
			deleteStack("gitops-data", "gitops-data")
		})
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() && flux != nil {
			GinkgoWriter.Print(flux.Logs(80))
		}
	})

	It("is Ready when the stacks it holds are Ready, not before", func() {
		files["web.yaml"], files["data.yaml"] = web("}]"), data()
		sha, at := commit("two stacks")
		Expect(cluster.ApplyFile(filepath.Join(flux.Workdir, "flux-objects.yaml"),
			utils.GitRepositoryManifest(utils.FluxNamespace, source, repo.URL, poll)+"---\n"+ks.Manifest())).To(Succeed())
		c := kustomization(sha, "True", 3*time.Minute)
		took := time.Since(at)
		// kstatus waited on the stacks: when Flux says Ready, they are.
		for _, s := range []string{"gitops-web", "gitops-data"} {
			Expect(get("stack", s, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)).To(Equal("True"), s)
		}
		GinkgoWriter.Printf("GITOPS Kustomization Ready %s after the commit: %s\n", took.Round(100*time.Millisecond), c.Message)
		AddReportEntry("Kustomization Ready after the first commit", took.Round(100*time.Millisecond).String())

		claim = get("pvc", "data", "-n", "gitops-data", "-o", "jsonpath={.metadata.uid}")
		if realNode != "" {
			token = fmt.Sprintf("written under Flux at %s", time.Now().UTC().Format(time.RFC3339Nano))
			Expect(sh("gitops-data", podOf("gitops-data", "web"), "web", `echo "`+token+`" >/data/proof.txt`)).Error().NotTo(HaveOccurred())
		}
	})

	It("writes nothing at rest across two of Flux's intervals, nor does the operator", func() {
		log := filepath.Join(flux.Workdir, "kustomize-controller.log")
		reconciles := func() int {
			b, err := os.ReadFile(log)
			Expect(err).NotTo(HaveOccurred())
			return strings.Count(string(b), "Reconciliation finished")
		}
		before, start := reconciles(), time.Now()
		time.Sleep(2*ks.Interval + 5*time.Second)
		reconciled := reconciles() - before
		writes, own := writesSince(start)
		GinkgoWriter.Printf("GITOPS at rest for %s: Flux applied the stacks again %d times; writes by the operator and Flux to "+
			"stacks and everything else outside Flux's own objects: %v; Flux's bookkeeping on its own objects in %s (status, events): %v\n",
			time.Since(start).Round(time.Second), reconciled, writes, utils.FluxNamespace, own)
		Expect(reconciled).To(BeNumerically(">=", 2), "Flux applied the stacks again at its interval, twice")
		Expect(writes).To(BeEmpty(), "neither writes a stack or anything the operator made at rest: they never fight")
		AddReportEntry("writes at rest by the operator and Flux outside Flux's own objects (two intervals)", fmt.Sprint(len(writes)))
	})

	It("fails within 30 s of a commit that breaks a stack, naming it, not at its timeout", func() {
		// A hostPath volume: Pod Security (baseline) refuses the pods, the stack is
		// Stalled, kstatus reads Failed and Flux stops waiting.
		files["web.yaml"] = web(", volumeMounts: [{name: host, mountPath: /host}]}]\n    volumes: [{name: host, hostPath: {path: /var/log}}]")
		sha, at := commit("web mounts a hostPath")
		c := kustomization(sha, "False", 30*time.Second)
		took := time.Since(at)
		// Flux names the stack kstatus read as Failed, early, with kstatus's status
		// only (fluxcd/pkg/ssa's WaitForSet keeps no resource's message); the
		// stack's own message is on the stack, where kstatus read it.
		Expect(c.Message).To(ContainSubstring("failed early due to stalled resources"))
		Expect(c.Message).To(ContainSubstring("AppStack/gitops-web status: 'Failed'"))
		res, err := kstatusOf("gitops-web")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Message).To(ContainSubstring(`violates PodSecurity "baseline:latest": hostPath volumes`))
		GinkgoWriter.Printf("GITOPS Kustomization failed %s after the commit (its timeout is %s): %s: %s; the stack, as kstatus read it: %s\n",
			took.Round(100*time.Millisecond), ks.Timeout, c.Reason, c.Message, res.Message)
		AddReportEntry("Kustomization failed after a breaking commit", took.Round(100*time.Millisecond).String())
	})

	It("prunes a stack removed from Git; its retained data stays and comes back with it", func() {
		files["web.yaml"] = web("}]")
		delete(files, "data.yaml")
		sha, at := commit("web mended; data removed")
		kustomization(sha, "True", 2*time.Minute)
		Eventually(func() (string, error) {
			return cluster.KubectlQuiet("get", "stack", "gitops-data", "--ignore-not-found", "-o", "name")
		}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(BeEmpty())
		GinkgoWriter.Printf("GITOPS stack gitops-data pruned %s after the commit\n", time.Since(at).Round(100*time.Millisecond))
		Expect(get("pvc", "data", "-n", "gitops-data", "-o", "jsonpath={.metadata.uid} {.status.phase}")).To(Equal(claim + " Bound"))
		Expect(get("deployments", "-n", "gitops-data", "-o", "name")).To(BeEmpty())

		files["data.yaml"] = data()
		sha, _ = commit("data back")
		kustomization(sha, "True", 3*time.Minute)
		Expect(get("pvc", "data", "-n", "gitops-data", "-o", "jsonpath={.metadata.uid}")).To(Equal(claim))
		if realNode == "" {
			say("gitops: stack gitops-data pruned by Flux and committed again: claim %s taken back (no real node: no file to read)", claim)
			return
		}
		out := strings.TrimSpace(fetch("gitops-data", podOf("gitops-data", "web"), "web", "cat /data/proof.txt"))
		Expect(out).To(Equal(token))
		say("gitops: stack gitops-data pruned by Flux and committed again: claim %s taken back, the file reads %q", claim, out)
	})
})

// writesSince counts the writes the operator and Flux's controllers made since t,
// by user agent, verb, resource and object: own are Flux's bookkeeping on its own
// objects in its namespace (the status of its GitRepository and Kustomization, its
// events), writes everything else.
func writesSince(t time.Time) (writes, own map[string]int) {
	GinkgoHelper()
	writes, own = map[string]int{}, map[string]int{}
	Expect(utils.ReadAudit(cluster.AuditLog(), func(ev utils.AuditEvent) {
		ua, _, _ := strings.Cut(ev.UserAgent, "/")
		if ev.StageTimestamp.Before(t) || (ua != "appstack-operator" && ua != "kustomize-controller" && ua != "source-controller") {
			return
		}
		ref := ev.ObjectRef
		// Flux compares by server-side apply dry runs (dryRun=All), which store
		// nothing; reviews store nothing either.
		if strings.Contains(ev.RequestURI, "dryRun=All") || ref.Resource == "tokenreviews" || ref.Resource == "subjectaccessreviews" {
			return
		}
		key := fmt.Sprintf("%s %s %s %s/%s", ua, ev.Verb, strings.TrimSuffix(ref.Resource+"/"+ref.Subresource, "/"), ref.Namespace, ref.Name)
		if ua != "appstack-operator" && ref.Namespace == utils.FluxNamespace &&
			(ref.Resource == "events" || ref.Subresource == "status" && (ref.Resource == "kustomizations" || ref.Resource == "gitrepositories")) {
			own[key]++
			return
		}
		writes[key]++
	})).To(Succeed())
	return writes, own
}
