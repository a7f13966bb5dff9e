package controller

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/manifest"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// Everything the renderer makes of every sample is accepted by the apiserver: each
// object is server-side applied with dryRun=All (its namespace is created for real,
// under a name of its own so the controller's stacks are not disturbed).
var _ = Describe("rendered objects of every sample", func() {
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "apps_*.yaml"))
	live, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "real-node", "apps_*.yaml"))
	files = append(files, live...)
	It("finds the samples", func() { Expect(files).NotTo(BeEmpty()) })
	for _, f := range files {
		It("are accepted by the apiserver: "+filepath.Base(f), func() {
			b, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			stack := &appstackv1.AppStack{}
			Expect(yaml.UnmarshalStrict(b, stack)).To(Succeed())
			stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "dryrun-" + stack.Name}
			desired, err := render.Render(stack)
			Expect(err).NotTo(HaveOccurred())
			for i, obj := range desired.Objects() {
				u, err := manifest.Unstructured(obj)
				Expect(err).NotTo(HaveOccurred())
				opts := []client.ApplyOption{client.FieldOwner("dryrun-test"), client.ForceOwnership}
				if i > 0 { // the namespace must exist for the rest to be checked
					opts = append(opts, client.DryRunAll)
				}
				Expect(k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...)).
					To(Succeed(), "%s %s", u.GetKind(), u.GetName())
			}
		})
	}
})
