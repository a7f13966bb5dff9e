//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// gitopsNamespace holds what the gitops specs' repository applies.
const gitopsNamespace = "gitops"

// configMapDoc is a ConfigMap in the gitops namespace with one key, as a file in
// Git.
func configMapDoc(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + gitopsNamespace +
		"\ndata:\n  value: " + value + "\n"
}

// A real Flux (source-controller and kustomize-controller as processes, a Git
// server on loopback; test/utils/flux.go) applies a repository to the cluster as
// a GitOps user's would.
var _ = Describe("Flux applies what Git holds", Ordered, Label("gitops"), func() {
	const source, kustomization = "gitops", "gitops"
	var (
		flux *utils.Flux
		repo *utils.GitRepo
	)

	BeforeAll(func(ctx SpecContext) {
		workdir := filepath.Join(root, "bin", clusterName+".flux")
		Expect(os.RemoveAll(workdir)).To(Succeed())
		start, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		var err error
		flux, err = cluster.StartFlux(start, workdir)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(flux.Stop)
		GinkgoWriter.Printf("Flux started in %s (git server %s, logs in %s)\n", flux.Started.Round(time.Millisecond), flux.GitURL, workdir)
		AddReportEntry("Flux start", flux.Started.String())

		repo, err = flux.NewGitRepo("gitops")
		Expect(err).NotTo(HaveOccurred())
		Expect(kubectl("create", "namespace", gitopsNamespace)).Error().NotTo(HaveOccurred())
		// Before Flux stops (cleanups run last in, first out): the objects' finalizers
		// need their controllers; deleting the Kustomization prunes what it applied.
		DeferCleanup(func() {
			_, _ = kubectl("delete", "kustomization", kustomization, "-n", utils.FluxNamespace, "--ignore-not-found", "--timeout=60s")
			_, _ = kubectl("delete", "gitrepository", source, "-n", utils.FluxNamespace, "--ignore-not-found", "--timeout=60s")
			_, _ = kubectl("delete", "namespace", gitopsNamespace, "--ignore-not-found", "--wait=false")
		})
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() && flux != nil {
			GinkgoWriter.Print(flux.Logs(80))
		}
	})

	// readyAt waits until the Kustomization is Ready at revision and returns the
	// time it took since start.
	readyAt := func(revision string, start time.Time) time.Duration {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			st, err := cluster.FluxStatus("kustomization", utils.FluxNamespace, kustomization)
			g.Expect(err).NotTo(HaveOccurred())
			_, err = st.Ready()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(st.LastAppliedRevision).To(Equal(revision))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		return time.Since(start)
	}

	It("applies a commit: the Kustomization (wait, prune) is Ready at the commit's revision", func() {
		sha, err := repo.Commit(map[string]string{
			"gone.yaml": configMapDoc("gone", "one"),
			"kept.yaml": configMapDoc("kept", "one"),
		}, "two ConfigMaps")
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		Expect(cluster.ApplyFile(filepath.Join(flux.Workdir, "flux-objects.yaml"),
			utils.GitRepositoryManifest(utils.FluxNamespace, source, repo.URL, 10*time.Second)+"---\n"+
				utils.Kustomization{Namespace: utils.FluxNamespace, Name: kustomization, Source: source,
					Interval: 10 * time.Second, Timeout: time.Minute, Prune: true, Wait: true}.Manifest())).To(Succeed())

		took := readyAt(utils.FluxRevision(utils.GitBranch, sha), start)
		GinkgoWriter.Printf("Kustomization Ready at %s %s after the apply\n", sha[:12], took.Round(time.Millisecond))
		AddReportEntry("time to Ready", took.String())
		st, err := cluster.FluxStatus("gitrepository", utils.FluxNamespace, source)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.ArtifactRevision).To(Equal(utils.FluxRevision(utils.GitBranch, sha)))
		Expect(kubectl("get", "configmap", "gone", "kept", "-n", gitopsNamespace, "-o", "jsonpath={.items[*].data.value}")).
			To(Equal("one one"))
	})

	It("prunes what a later commit removes, and applies what it changes", func() {
		sha, err := repo.Commit(map[string]string{"kept.yaml": configMapDoc("kept", "two")}, "drop the ConfigMap gone")
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		took := readyAt(utils.FluxRevision(utils.GitBranch, sha), start)
		Expect(kubectl("get", "configmap", "gone", "-n", gitopsNamespace, "--ignore-not-found", "-o", "name")).To(BeEmpty(),
			"a Ready Kustomization with prune: true has deleted what the commit removed")
		Expect(kubectl("get", "configmap", "kept", "-n", gitopsNamespace, "-o", "jsonpath={.data.value}")).To(Equal("two"))
		GinkgoWriter.Printf("pruned at %s %s after the push (GitRepository interval 10s)\n", sha[:12], took.Round(time.Millisecond))
		AddReportEntry("time to prune", took.String())
	})
})
