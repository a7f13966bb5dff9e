package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// version's -n/--namespace looks for the operator in that namespace only.
func TestVersionNamespace(t *testing.T) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	operator := func(ns string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "appstack-operator", Namespace: ns,
			Labels: map[string]string{operatorLabel: "appstack-operator", "app.kubernetes.io/version": ns}}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(operator("one"), operator("two")).Build()
	for ns, want := range map[string]int{"": 2, "two": 1, "three": 0} {
		lines, err := operatorVersions(context.Background(), c, ns)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != want || (ns == "two" && !strings.HasPrefix(lines[0], "two (two/appstack-operator")) {
			t.Errorf("-n %q: %q, want %d operators", ns, lines, want)
		}
	}
	cmd := newVersionCommand(&bytes.Buffer{})
	if u := cmd.Flags().Lookup("namespace").Usage; !strings.Contains(u, "operator is installed in") {
		t.Errorf("version's -n usage %q does not say what it selects", u)
	}
}
