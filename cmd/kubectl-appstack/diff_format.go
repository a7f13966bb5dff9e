package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/appstack-dev/appstack-operator/internal/manifest"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// What applying a stack would do to one object.
const (
	actionChanged  = "changed"
	actionCreated  = "created"
	actionPruned   = "pruned"
	actionKept     = "kept"
	actionReplaced = "replaced"
	actionConflict = "conflict"
)

// change is one object that applying the stack would change. live and applied are
// the object before and after, noise removed (see clean); nil where it does not
// exist.
type change struct {
	action     string
	apiVersion string
	kind       string
	namespace  string
	name       string
	live       map[string]any
	applied    map[string]any
	// note says more in the summary: why an object is kept, replaced or refused.
	note string
}

// path names the object in the diff headers: apiVersion/Kind/[namespace/]name.
func (c change) path() string {
	p := c.apiVersion + "/" + c.kind + "/"
	if c.namespace != "" {
		p += c.namespace + "/"
	}
	return p + c.name
}

// title is how the summary names the object: Kind [namespace/]name.
func (c change) title() string {
	if c.namespace == "" {
		return c.kind + " " + c.name
	}
	return c.kind + " " + c.namespace + "/" + c.name
}

// report is what applying one stack would change.
type report struct {
	stack   string
	changes []change
	// notes are said once for the whole stack (a paused stack, a conflict that
	// holds back the prune).
	notes []string
}

func (r *report) changed() bool { return len(r.changes) > 0 }

// write prints each change's unified diff, then a summary. A stack with no change
// prints nothing.
func (r *report) write(w io.Writer) error {
	if !r.changed() {
		return nil
	}
	var b strings.Builder
	for _, c := range r.changes {
		d, err := unifiedDiff(c)
		if err != nil {
			return err
		}
		b.WriteString(d)
	}
	counts := map[string]int{}
	for _, c := range r.changes {
		counts[c.action]++
	}
	var parts []string
	for _, a := range []string{actionChanged, actionCreated, actionPruned, actionKept, actionReplaced, actionConflict} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	fmt.Fprintf(&b, "AppStack %s: %s\n", r.stack, strings.Join(parts, ", "))
	for _, c := range r.changes {
		fmt.Fprintf(&b, "  %-9s %s", c.action, c.title())
		if c.note != "" {
			fmt.Fprintf(&b, ": %s", c.note)
		}
		b.WriteString("\n")
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// unifiedDiff is the diff -u of a change between its live and applied YAML; empty
// for the changes that have no content to compare (replaced, conflict).
func unifiedDiff(c change) (string, error) {
	if c.live == nil && c.applied == nil {
		return "", nil
	}
	a, err := yamlLines(c.live)
	if err != nil {
		return "", err
	}
	b, err := yamlLines(c.applied)
	if err != nil {
		return "", err
	}
	var fromDate, toDate string
	switch c.action {
	case actionCreated:
		fromDate, toDate = "(does not exist)", "(created)"
	case actionPruned:
		toDate = "(pruned: deleted by the operator)"
	case actionKept:
		toDate = "(kept: retained with its data)"
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: a, B: b,
		FromFile: "live/" + c.path(), ToFile: "applied/" + c.path(),
		FromDate: fromDate, ToDate: toDate,
		Context: 3,
	})
}

// yamlLines is an object as YAML (keys sorted), one string per line, each ending
// in a newline; none for no object.
func yamlLines(obj map[string]any) ([]string, error) {
	if obj == nil {
		return nil, nil
	}
	y, err := manifest.YAML([]client.Object{&unstructured.Unstructured{Object: obj}})
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(string(y), "\n")
	if last := len(lines) - 1; lines[last] == "" {
		lines = lines[:last]
	} else {
		lines[last] += "\n"
	}
	return lines, nil
}

// clean is a copy of obj (as the apiserver returns it) without what every write
// changes or what the apply does not decide: managedFields, resourceVersion,
// generation, uid, creationTimestamp, selfLink, status and the operator's
// applied-hash annotation (a hash of the rest). An owner reference to a stack
// that does not exist yet loses its uid (newStackUID, "" for a stack that
// exists): the dry run made one up, the apiserver assigns the real one at
// creation.
func clean(obj map[string]any, newStackUID string) map[string]any {
	if obj == nil {
		return nil
	}
	out := runtime.DeepCopyJSON(obj)
	delete(out, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(out, "metadata", f)
	}
	if annotations, ok, _ := unstructured.NestedMap(out, "metadata", "annotations"); ok {
		delete(annotations, ssa.AnnotationAppliedHash)
		if len(annotations) == 0 {
			unstructured.RemoveNestedField(out, "metadata", "annotations")
		} else {
			_ = unstructured.SetNestedMap(out, annotations, "metadata", "annotations")
		}
	}
	if newStackUID != "" {
		if refs, ok, _ := unstructured.NestedSlice(out, "metadata", "ownerReferences"); ok {
			for _, r := range refs {
				if m, ok := r.(map[string]any); ok && m["uid"] == newStackUID {
					delete(m, "uid")
				}
			}
			_ = unstructured.SetNestedSlice(out, refs, "metadata", "ownerReferences")
		}
	}
	return out
}
