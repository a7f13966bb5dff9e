package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const argoCDHealthKey = "resource.customizations.health.apps.appstack.dev_AppStack"

// argoCDHealthConfigMaps are the rendered ConfigMaps that hold Argo CD's health key.
func argoCDHealthConfigMaps(t *testing.T, args ...string) []*corev1.ConfigMap {
	t.Helper()
	var found []*corev1.ConfigMap
	for _, doc := range render(t, args...)["ConfigMap"] {
		cm := &corev1.ConfigMap{}
		if err := yaml.UnmarshalStrict(doc, cm); err != nil {
			t.Fatal(err)
		}
		if _, ok := cm.Data[argoCDHealthKey]; ok {
			found = append(found, cm)
		}
	}
	return found
}

func TestArgoCDHealthIsOffByDefault(t *testing.T) {
	if cms := argoCDHealthConfigMaps(t); len(cms) != 0 {
		t.Errorf("the Argo CD health ConfigMap is rendered by default: %s", cms[0].Name)
	}
}

// TestArgoCDHealthConfigMap: argocd.healthCheck.enabled renders the argocd-cm key
// holding the rule test/argocd tests, config/argocd/.../health.lua, byte for byte
// (make manifests copies it into the chart; hack/verify.sh fails on a stale copy).
func TestArgoCDHealthConfigMap(t *testing.T) {
	cms := argoCDHealthConfigMaps(t, "--set", "argocd.healthCheck.enabled=true")
	if len(cms) != 1 {
		t.Fatalf("want one ConfigMap holding %s with argocd.healthCheck.enabled=true, got %d", argoCDHealthKey, len(cms))
	}
	cm := cms[0]
	if cm.Name != "appstack-appstack-operator-argocd-health" || cm.Namespace != "appstack-system" || len(cm.Data) != 1 {
		t.Errorf("ConfigMap %s/%s with keys %d; want appstack-system/appstack-appstack-operator-argocd-health with the one key",
			cm.Namespace, cm.Name, len(cm.Data))
	}
	rule, err := os.ReadFile(filepath.Join(root, "config", "argocd", "apps.appstack.dev", "AppStack", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSuffix(cm.Data[argoCDHealthKey], "\n"), strings.TrimSuffix(string(rule), "\n"); got != want {
		t.Errorf("the ConfigMap's %s differs from config/argocd/apps.appstack.dev/AppStack/health.lua (run make manifests):\n%s",
			argoCDHealthKey, got)
	}
}
