package utils

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// FluxCondition is a condition of a Flux object's status.
type FluxCondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason"`
	Message            string `json:"message"`
	ObservedGeneration int64  `json:"observedGeneration"`
}

// FluxStatus is what a suite reads of a GitRepository or a Kustomization, as
// `kubectl get -o json` shows it (unstructured: the main module imports no Flux
// API).
type FluxStatus struct {
	Generation         int64
	ObservedGeneration int64
	Conditions         []FluxCondition
	// ArtifactRevision is a GitRepository's status.artifact.revision
	// (FluxRevision: main@sha1:SHA).
	ArtifactRevision string
	// LastAppliedRevision and LastAttemptedRevision are a Kustomization's: the
	// source revision it last applied successfully, and the one it last tried.
	LastAppliedRevision, LastAttemptedRevision string
}

// Condition is the condition of type t, and whether there is one.
func (s FluxStatus) Condition(t string) (FluxCondition, bool) {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return FluxCondition{}, false
}

// Ready is the Ready condition when it is True for the object's current
// generation; otherwise an error that shows the condition (or its absence).
func (s FluxStatus) Ready() (FluxCondition, error) {
	c, ok := s.Condition("Ready")
	switch {
	case !ok:
		return c, fmt.Errorf("no Ready condition yet (generation %d, observed %d)", s.Generation, s.ObservedGeneration)
	case c.Status != "True" || c.ObservedGeneration != s.Generation:
		return c, fmt.Errorf("condition Ready=%s for generation %d of %d: %s: %s", c.Status, c.ObservedGeneration, s.Generation, c.Reason, c.Message)
	}
	return c, nil
}

// FluxStatus reads the status of the Flux object kind/name in namespace (kind as
// kubectl takes it: gitrepository, kustomization), without logging (for polls).
func (c Cluster) FluxStatus(kind, namespace, name string) (FluxStatus, error) {
	out, err := c.KubectlQuiet("get", kind, name, "-n", namespace, "-o", "json")
	if err != nil {
		return FluxStatus{}, err
	}
	var obj struct {
		Metadata struct {
			Generation int64 `json:"generation"`
		} `json:"metadata"`
		Status struct {
			ObservedGeneration int64           `json:"observedGeneration"`
			Conditions         []FluxCondition `json:"conditions"`
			Artifact           struct {
				Revision string `json:"revision"`
			} `json:"artifact"`
			LastAppliedRevision   string `json:"lastAppliedRevision"`
			LastAttemptedRevision string `json:"lastAttemptedRevision"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return FluxStatus{}, fmt.Errorf("%s %s/%s: %w", kind, namespace, name, err)
	}
	return FluxStatus{
		Generation: obj.Metadata.Generation, ObservedGeneration: obj.Status.ObservedGeneration,
		Conditions: obj.Status.Conditions, ArtifactRevision: obj.Status.Artifact.Revision,
		LastAppliedRevision: obj.Status.LastAppliedRevision, LastAttemptedRevision: obj.Status.LastAttemptedRevision,
	}, nil
}

// GitRepositoryManifest is a GitRepository (source.toolkit.fluxcd.io/v1) in
// namespace that fetches branch main of url every interval.
func GitRepositoryManifest(namespace, name, url string, interval time.Duration) string {
	return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: %s
  namespace: %s
spec:
  interval: %s
  url: %s
  ref:
    branch: %s
`, name, namespace, interval, url, GitBranch)
}

// Kustomization is a Flux Kustomization (kustomize.toolkit.fluxcd.io/v1) of a
// GitRepository in its own namespace.
type Kustomization struct {
	Namespace, Name string
	// Source is the GitRepository's name; Path the directory in it ("./" when
	// empty).
	Source, Path string
	// Interval is how often it applies again; Timeout how long it waits for
	// health (Wait) before it fails.
	Interval, Timeout time.Duration
	// Prune deletes what a later revision no longer holds; Wait makes Ready wait
	// for the health (kstatus) of everything it applied.
	Prune, Wait bool
}

// Manifest is the Kustomization as YAML.
func (k Kustomization) Manifest() string {
	path := k.Path
	if path == "" {
		path = "./"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: %s
spec:
  interval: %s
  path: %s
  prune: %t
  wait: %t
  sourceRef:
    kind: GitRepository
    name: %s
`, k.Name, k.Namespace, k.Interval, path, k.Prune, k.Wait, k.Source)
	if k.Timeout > 0 {
		fmt.Fprintf(&b, "  timeout: %s\n", k.Timeout)
	}
	return b.String()
}
