// Package audit reads the local cluster's audit log (hack/dev-cluster.sh writes every
// write request to ~/.kwok/clusters/<cluster>/logs/audit.log) for the e2e and
// upgrade suites.
package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Log is the audit log of the local cluster named cluster.
func Log(cluster string) string {
	return filepath.Join(os.Getenv("HOME"), ".kwok", "clusters", cluster, "logs", "audit.log")
}

// Writes counts the completed requests in the audit log at path made with user
// agent userAgent since t, leaving out those on the resources in skip. The key is
// "verb resource[/subresource] [namespace/]name".
func Writes(path, userAgent string, t time.Time, skip ...string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev struct {
			Verb           string    `json:"verb"`
			UserAgent      string    `json:"userAgent"`
			Stage          string    `json:"stage"`
			StageTimestamp time.Time `json:"stageTimestamp"`
			ObjectRef      struct {
				Resource, Subresource, Namespace, Name string
			} `json:"objectRef"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" || ev.UserAgent != userAgent ||
			ev.StageTimestamp.Before(t) || slices.Contains(skip, ev.ObjectRef.Resource) {
			continue
		}
		key := ev.Verb + " " + ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			key += "/" + ev.ObjectRef.Subresource
		}
		counts[key+" "+strings.TrimPrefix(ev.ObjectRef.Namespace+"/"+ev.ObjectRef.Name, "/")]++
	}
	return counts, sc.Err()
}
