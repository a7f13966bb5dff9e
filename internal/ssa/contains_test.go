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

func TestContainsMatchesNamedItemsByName(t *testing.T) {
	env := func(pairs ...string) []any {
		out := []any{}
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, map[string]any{"name": pairs[i], "value": pairs[i+1]})
		}
		return out
	}
	pod := func(containers ...any) map[string]any {
		return map[string]any{"spec": map[string]any{"containers": containers}}
	}
	ctr := func(name string, env []any) map[string]any {
		return map[string]any{"name": name, "image": "img", "env": env}
	}
	desired := pod(ctr("app", env("A", "1", "B", "2")), ctr("proxy", env()))
	tests := []struct {
		name string
		live map[string]any
		want bool
	}{
		{"the same", pod(ctr("app", env("A", "1", "B", "2")), ctr("proxy", env())), true},
		{"an env var someone else added, anywhere", pod(ctr("app", env("X", "0", "A", "1", "Y", "0", "B", "2", "Z", "0")), ctr("proxy", env())), true},
		{"a container someone else added between ours", pod(ctr("app", env("A", "1", "B", "2")), ctr("injected", env()), ctr("proxy", env())), true},
		{"env reordered", pod(ctr("app", env("B", "2", "A", "1")), ctr("proxy", env())), false},
		{"env value changed", pod(ctr("app", env("A", "1", "B", "3")), ctr("proxy", env())), false},
		{"env removed", pod(ctr("app", env("A", "1")), ctr("proxy", env())), false},
		{"env moved to another container", pod(ctr("app", env("A", "1")), ctr("proxy", env("B", "2"))), false},
		{"env name duplicated in live", pod(ctr("app", env("A", "1", "B", "2", "A", "1")), ctr("proxy", env())), false},
		{"containers reordered", pod(ctr("proxy", env()), ctr("app", env("A", "1", "B", "2"))), false},
		{"container duplicated in live", pod(ctr("app", env("A", "1", "B", "2")), ctr("proxy", env()), ctr("app", env("A", "1", "B", "2"))), false},
		{"container removed", pod(ctr("app", env("A", "1", "B", "2"))), false},
	}
	for _, tt := range tests {
		if got := contains(tt.live, desired); got != tt.want {
			t.Errorf("%s: contains = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestContainsListsNotKeyedByName(t *testing.T) {
	mounts := func(items ...[2]string) map[string]any {
		out := make([]any, 0, len(items))
		for _, it := range items {
			out = append(out, map[string]any{"name": it[0], "mountPath": it[1]})
		}
		return map[string]any{"volumeMounts": out}
	}
	// One volume mounted twice: the names repeat (the key is the mount path), so the
	// items need only be contained, in any order.
	twice := mounts([2]string{"data", "/a"}, [2]string{"data", "/b"})
	if !contains(mounts([2]string{"data", "/b"}, [2]string{"data", "/a"}), twice) {
		t.Error("mounts of one volume at two paths, reordered, must not count as drift")
	}
	if contains(mounts([2]string{"data", "/a"}), twice) {
		t.Error("a removed mount must count as drift")
	}

	owners := func(uids ...string) map[string]any {
		out := make([]any, 0, len(uids))
		for _, uid := range uids {
			out = append(out, map[string]any{"name": "shop", "uid": uid})
		}
		return map[string]any{"metadata": map[string]any{"ownerReferences": out}}
	}
	if !contains(owners("other", "1"), owners("1")) {
		t.Error("another owner of the same name is not drift: owner references are told apart by uid")
	}
	if contains(owners("other"), owners("1")) {
		t.Error("a missing owner reference must count as drift")
	}

	rules := func(hosts ...string) map[string]any {
		out := make([]any, 0, len(hosts))
		for _, h := range hosts {
			out = append(out, map[string]any{"host": h})
		}
		return map[string]any{"rules": out}
	}
	if !contains(rules("b", "x", "a"), rules("a", "b")) {
		t.Error("items without a name need only be contained in some live item")
	}
}
