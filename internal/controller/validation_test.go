package controller

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/appstack-dev/appstack-operator/test/cases"
)

// Every rule of the CRD schema, applied to the real apiserver: the stack is refused
// at create time with a message that names the field and what to do.
var _ = Describe("AppStack validation at apply time", func() {
	It("has at least 20 distinct invalid cases", func() {
		Expect(len(cases.InvalidStacks)).To(BeNumerically(">=", 20))
	})
	for i, tc := range cases.InvalidStacks {
		It("refuses: "+tc.Name, func() {
			name := tc.StackName
			if name == "" {
				name = fmt.Sprintf("invalid-%d", i)
			}
			var spec map[string]any
			Expect(yaml.Unmarshal([]byte(tc.Spec), &spec)).To(Succeed())
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "apps.appstack.dev/v1alpha1",
				"kind":       "AppStack",
				"metadata":   map[string]any{"name": name},
				"spec":       spec,
			}}
			err := k8sClient.Create(ctx, u)
			Expect(err).To(HaveOccurred(), "the apiserver accepted an invalid stack")
			Expect(err.Error()).To(ContainSubstring(tc.Want))
			GinkgoWriter.Printf("%s\n  → %s\n", tc.Name, err)
		})
	}
})
