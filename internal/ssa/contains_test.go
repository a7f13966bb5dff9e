package ssa

import "testing"

func TestContains(t *testing.T) {
	live := map[string]any{
		"metadata": map[string]any{"name": "web", "labels": map[string]any{"a": "1", "extra": "x"}},
		"spec": map[string]any{
			"replicas": int64(2),
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": "nginx:1.27", "terminationMessagePath": "/dev/termination-log",
					"command": []any{"sh", "-c"}},
				map[string]any{"name": "injected-sidecar", "image": "proxy"},
			}}},
			"strategy": map[string]any{"type": "RollingUpdate"},
		},
	}
	desired := func() map[string]any {
		return map[string]any{
			"metadata": map[string]any{"name": "web", "labels": map[string]any{"a": "1"}},
			"spec": map[string]any{
				"replicas": int64(2),
				"template": map[string]any{"spec": map[string]any{"containers": []any{
					map[string]any{"name": "app", "image": "nginx:1.27", "resources": map[string]any{}, "command": []any{"sh", "-c"}},
				}}},
				"strategy": map[string]any{},
			},
		}
	}
	if !contains(live, desired()) {
		t.Fatal("defaults, extra labels, others' list items and empty structs must not count as drift")
	}
	for name, mutate := range map[string]func(map[string]any){
		"scaled":         func(d map[string]any) { d["spec"].(map[string]any)["replicas"] = int64(3) },
		"image changed":  func(d map[string]any) { container(d)["image"] = "nginx:1.26" },
		"label removed":  func(d map[string]any) { d["metadata"].(map[string]any)["labels"].(map[string]any)["b"] = "2" },
		"args reordered": func(d map[string]any) { container(d)["command"] = []any{"-c", "sh"} },
		"field missing":  func(d map[string]any) { container(d)["workingDir"] = "/srv" },
	} {
		d := desired()
		mutate(d)
		if contains(live, d) {
			t.Errorf("%s: drift not detected", name)
		}
	}
}

func container(d map[string]any) map[string]any {
	return d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
}
