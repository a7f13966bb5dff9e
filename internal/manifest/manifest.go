// Package manifest turns desired typed objects into the exact bodies that are sent
// to the apiserver, and into YAML for people. The operator's applier and the
// kubectl plugin both use it, so what the plugin prints is what the operator sends.
package manifest

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Unstructured converts a typed desired object into an apply body, leaving out
// what a desired object never sets: status and the creationTimestamps that typed
// objects always carry as null.
func Unstructured(obj client.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "spec", "template", "metadata", "creationTimestamp")
	return &unstructured.Unstructured{Object: m}, nil
}

// YAML renders objects as one multi-document YAML stream, in order.
func YAML(objs []client.Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range objs {
		u, err := Unstructured(obj)
		if err != nil {
			return nil, err
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("marshal %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
