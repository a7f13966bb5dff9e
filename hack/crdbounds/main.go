// Command crdbounds adds bounds to the CRD schema of the core types the AppStack API
// embeds (corev1.Container): list sizes and name lengths that Kubernetes enforces in
// its own Pod validation but does not publish in the OpenAPI schema. Without them
// the apiserver cannot bound the cost of the CEL rules that check references across
// containers (volumeMounts → volumes, service targetPort → container port names),
// and refuses the CRD. `make manifests` runs it after controller-gen.
//
//	go run ./hack/crdbounds config/crd/bases/apps.appstack.dev_appstacks.yaml
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Bounds applied to every container list (containers, initContainers).
const (
	maxPorts        = 32
	maxVolumeMounts = 32
	maxPortName     = 15 // IANA_SVC_NAME, as the Pod API validates it
	maxVolumeName   = 63 // DNS-1123 label, as the Pod API validates it
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crdbounds CRD.yaml...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := bound(path); err != nil {
			fmt.Fprintf(os.Stderr, "crdbounds: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func bound(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd map[string]any
	if err := yaml.Unmarshal(b, &crd); err != nil {
		return err
	}
	versions, _ := get(crd, "spec", "versions").([]any)
	if len(versions) == 0 {
		return fmt.Errorf("no spec.versions")
	}
	for _, v := range versions {
		component := get(v, "schema", "openAPIV3Schema", "properties",
			"spec", "properties", "components", "items", "properties")
		for _, list := range []string{"containers", "initContainers"} {
			ctr, ok := get(component, list, "items", "properties").(map[string]any)
			if !ok {
				return fmt.Errorf("no schema for components[].%s[]", list)
			}
			if err := boundList(ctr, "ports", maxPorts, "name", maxPortName); err != nil {
				return fmt.Errorf("components[].%s[]: %w", list, err)
			}
			if err := boundList(ctr, "volumeMounts", maxVolumeMounts, "name", maxVolumeName); err != nil {
				return fmt.Errorf("components[].%s[]: %w", list, err)
			}
		}
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// boundList sets maxItems on the list property and maxLength on one string field of
// its items.
func boundList(props map[string]any, list string, maxItems int, field string, maxLength int) error {
	l, ok := props[list].(map[string]any)
	if !ok {
		return fmt.Errorf("no property %s", list)
	}
	l["maxItems"] = maxItems
	f, ok := get(l, "items", "properties", field).(map[string]any)
	if !ok {
		return fmt.Errorf("no property %s[].%s", list, field)
	}
	f["maxLength"] = maxLength
	return nil
}

// get follows map keys and returns what is there, or nil.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
