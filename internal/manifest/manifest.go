// Package manifest turns desired typed objects into the exact bodies that are sent
// to the apiserver, and into YAML for people. The operator's applier and the
// kubectl plugin both use it, so what the plugin prints is what the operator sends.
package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

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
		j, err := json.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("marshal %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		b, err := yaml.JSONToYAML(escapeUnreadable(j))
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

// escapeUnreadable writes, as \u escapes, the characters JSON leaves raw but a YAML
// reader refuses (DEL, the C1 controls but NEL, U+FEFF, U+FFFE, U+FFFF), so that
// any string a stack may carry (an env value, an argument) prints as YAML. They can
// only stand inside JSON strings, where an escape means the same character.
func escapeUnreadable(j []byte) []byte {
	unreadable := func(r rune) bool {
		return r == 0x7f || (r >= 0x80 && r <= 0x9f && r != 0x85) || r == 0xfeff || r == 0xfffe || r == 0xffff
	}
	if !bytes.ContainsFunc(j, unreadable) {
		return j
	}
	var out bytes.Buffer
	for len(j) > 0 {
		r, n := utf8.DecodeRune(j)
		if unreadable(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
		} else {
			out.Write(j[:n])
		}
		j = j[n:]
	}
	return out.Bytes()
}
