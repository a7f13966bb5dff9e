package utils

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWrites(t *testing.T) {
	log := filepath.Join(t.TempDir(), "audit.log")
	lines := `{"verb":"update","userAgent":"appstack-operator","stage":"ResponseComplete","stageTimestamp":"2026-11-23T05:00:01Z","objectRef":{"resource":"appstacks","subresource":"status","name":"shop"}}
{"verb":"update","userAgent":"appstack-operator","stage":"ResponseComplete","stageTimestamp":"2026-11-23T05:00:02Z","objectRef":{"resource":"appstacks","subresource":"status","name":"shop"}}
{"verb":"patch","userAgent":"appstack-operator","stage":"ResponseComplete","stageTimestamp":"2026-11-23T05:00:03Z","objectRef":{"resource":"deployments","namespace":"shop","name":"web"}}
{"verb":"patch","userAgent":"appstack-operator","stage":"RequestReceived","stageTimestamp":"2026-11-23T05:00:03Z","objectRef":{"resource":"deployments","namespace":"shop","name":"web"}}
{"verb":"create","userAgent":"appstack-operator","stage":"ResponseComplete","stageTimestamp":"2026-11-23T05:00:04Z","objectRef":{"resource":"tokenreviews"}}
{"verb":"update","userAgent":"appstack-operator/leader-election","stage":"ResponseComplete","stageTimestamp":"2026-11-23T05:00:05Z","objectRef":{"resource":"leases","namespace":"appstack-system","name":"x"}}
{"verb":"patch","userAgent":"appstack-operator","stage":"ResponseComplete","stageTimestamp":"2026-11-23T04:59:59Z","objectRef":{"resource":"services","namespace":"shop","name":"web"}}
not json
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)
	got, err := Writes(log, "appstack-operator", since, "tokenreviews")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"update appstacks/status shop": 2, "patch deployments shop/web": 1}
	if len(got) != len(want) {
		t.Fatalf("Writes = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("Writes = %v, want %v", got, want)
		}
	}
	if _, err := Writes(filepath.Join(t.TempDir(), "missing"), "x", since); err == nil {
		t.Fatal("a missing log must be an error")
	}
}
