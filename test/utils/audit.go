package utils

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// AuditLog is the audit log of the local cluster named cluster: hack/dev-cluster.sh
// has its apiserver write every write request there (every request with
// hack/audit-policy-all.yaml, as the benchmark asks).
func AuditLog(cluster string) string {
	return filepath.Join(os.Getenv("HOME"), ".kwok", "clusters", cluster, "logs", "audit.log")
}

// AuditEvent is what the suites read of one line of the audit log.
type AuditEvent struct {
	Verb string `json:"verb"`
	// RequestURI tells a dry run (dryRun=All), which writes nothing.
	RequestURI     string    `json:"requestURI"`
	UserAgent      string    `json:"userAgent"`
	Stage          string    `json:"stage"`
	StageTimestamp time.Time `json:"stageTimestamp"`
	ObjectRef      struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
}

// ReadAudit calls each with every completed request (stage ResponseComplete) in the
// audit log at path, in the order they were written; lines that are not audit
// events are passed over.
func ReadAudit(path string, each func(AuditEvent)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev AuditEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" {
			continue
		}
		each(ev)
	}
	return sc.Err()
}

// Writes counts the completed requests in the audit log at path made with user
// agent userAgent since t, leaving out those on the resources in skip. The key is
// "verb resource[/subresource] [namespace/]name".
func Writes(path, userAgent string, t time.Time, skip ...string) (map[string]int, error) {
	counts := map[string]int{}
	err := ReadAudit(path, func(ev AuditEvent) {
		if ev.UserAgent != userAgent || ev.StageTimestamp.Before(t) || slices.Contains(skip, ev.ObjectRef.Resource) {
			return
		}
		key := ev.Verb + " " + ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			key += "/" + ev.ObjectRef.Subresource
		}
		counts[key+" "+strings.TrimPrefix(ev.ObjectRef.Namespace+"/"+ev.ObjectRef.Name, "/")]++
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}
