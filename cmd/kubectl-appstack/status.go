package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/inspect"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// errNotReady makes the command exit 1 without printing an error: the status it
// printed says why.
var errNotReady = errors.New("not ready")

// Tree is what `kubectl appstack status` reports, and its JSON form.
type Tree struct {
	Stack     string `json:"stack"`
	Namespace string `json:"namespace"`
	Ready     bool   `json:"ready"`
	Reason    string `json:"reason"`
	Message   string `json:"message"`
	Revision  int64  `json:"revision,omitempty"`
	// Objects are the stack's own objects (its namespace, configs, volumes), and
	// any the stack owns for a component its status no longer lists.
	Objects    []Node          `json:"objects,omitempty"`
	Components []ComponentTree `json:"components"`
}

// ComponentTree is one component with its native objects and pods.
type ComponentTree struct {
	appstackv1.ComponentStatus `json:",inline"`
	Objects                    []Node `json:"objects"`
	Pods                       []Node `json:"pods"`
}

// Node is one native object with its health.
type Node struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Health  string `json:"health"`
	Message string `json:"message,omitempty"`
}

func newStatusCommand(out io.Writer) *cobra.Command {
	var flags clusterFlags
	var output string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status STACK",
		Short: "Show a stack as a tree: components, their objects and pods, with health and causes",
		Long: `status prints the stack, the stack's own objects (its namespace, configs and
volumes), each component with its phase and the cause the operator found, the native
objects of each component with their health, and the pods with their state. It exits
0 when the stack is Ready and 1 otherwise, so it can gate a pipeline: --wait polls
until the stack is Ready or --timeout passes.

The objects shown are the ones the stack owns as the operator decides it: listed in
the stack's status.inventory with the same UID, or (created by a pass whose
inventory was not written yet) carrying the stack's controller reference. An object
that only carries the stack's labels is someone else's and is not shown.

AppStacks are cluster-scoped and a stack's objects are in the namespace its spec
names, so status takes no -n/--namespace: giving it is an error.`,
		Example: `  kubectl appstack status shop
  kubectl appstack status shop -o json
  kubectl appstack status shop --wait --timeout 2m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != outputJSON {
				return fmt.Errorf("-o %s: the formats are the tree (default) and json", output)
			}
			c, err := flags.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			deadline := time.Now().Add(timeout)
			for {
				tree, err := buildTree(ctx, c, args[0])
				if err != nil {
					return err
				}
				if tree.Ready || !wait || time.Now().After(deadline) {
					if output == outputJSON {
						enc := json.NewEncoder(out)
						enc.SetIndent("", "  ")
						if err := enc.Encode(tree); err != nil {
							return err
						}
					} else {
						if err := printTree(out, tree, isTerminal(out)); err != nil {
							return err
						}
					}
					if !tree.Ready {
						return errNotReady
					}
					return nil
				}
				time.Sleep(2 * time.Second)
			}
		},
	}
	flags.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the stack is Ready (or --timeout)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --wait waits")
	return cmd
}

func buildTree(ctx context.Context, c client.Client, name string) (*Tree, error) {
	stack, err := getStack(ctx, c, name)
	if err != nil {
		return nil, err
	}
	t := &Tree{Stack: name, Namespace: render.NamespaceName(stack), Revision: stack.Status.Revision}
	if cond := meta.FindStatusCondition(stack.Status.Conditions, appstackv1.ConditionReady); cond != nil {
		t.Ready = cond.Status == "True" && cond.ObservedGeneration == stack.Generation
		t.Reason, t.Message = cond.Reason, cond.Message
	} else {
		t.Reason, t.Message = "Unknown", "the operator has not reported on this stack yet"
	}
	contents, err := inspect.Read(ctx, c, stack)
	if err != nil {
		return nil, err
	}
	pods := contents.Pods
	for _, cs := range stack.Status.Components {
		ct := ComponentTree{ComponentStatus: cs}
		for i := range pods[cs.Name] {
			p := &pods[cs.Name][i]
			ct.Pods = append(ct.Pods,
				Node{Kind: "Pod", Name: p.Name, Health: string(p.Status.Phase), Message: inspect.PodMessage(p)})
		}
		t.Components = append(t.Components, ct)
	}
	for _, o := range contents.Objects {
		health, msg := inspect.Health(o.Object, o.GVK)
		n := Node{Kind: o.GVK.Kind, Name: o.GetName(), Health: health, Message: msg}
		i := slices.IndexFunc(t.Components, func(ct ComponentTree) bool { return ct.Name == o.Component })
		if i < 0 {
			// The stack's namespace, configs and volumes, and what a component
			// the status no longer lists left behind.
			t.Objects = append(t.Objects, n)
			continue
		}
		t.Components[i].Objects = append(t.Components[i].Objects, n)
	}
	return t, nil
}

func printTree(out io.Writer, t *Tree, color bool) error {
	p := treePrinter{out: out, color: color}
	p.printf("AppStack %s (namespace %s, revision %d): %s — %s\n",
		t.Stack, t.Namespace, t.Revision, p.paint(t.Reason), t.Message)
	top := len(t.Objects) + len(t.Components)
	for i, n := range t.Objects {
		p.node("", i == top-1, n)
	}
	for i, c := range t.Components {
		branch, indent := "├─", "│  "
		if len(t.Objects)+i == top-1 {
			branch, indent = "└─", "   "
		}
		line := fmt.Sprintf("%s %s %s %s %d/%d",
			branch, c.Name, c.Kind, p.paint(string(c.Phase)), c.ReadyReplicas, c.Replicas)
		if c.Reason != "" {
			line += " " + p.paint(c.Reason) + ": " + c.Message
		}
		p.printf("%s\n", line)
		nodes := slices.Concat(c.Objects, c.Pods)
		for j, n := range nodes {
			p.node(indent, j == len(nodes)-1, n)
		}
	}
	return p.err
}

// treePrinter writes the tree's lines; the first write error stops it, and is its err.
type treePrinter struct {
	out   io.Writer
	color bool
	err   error
}

func (p *treePrinter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.out, format, args...)
	}
}

// node writes one object line under indent, the last of its branch or not.
func (p *treePrinter) node(indent string, last bool, n Node) {
	b := "├─"
	if last {
		b = "└─"
	}
	l := fmt.Sprintf("%s%s %s %s %s", indent, b, n.Kind, n.Name, p.paint(n.Health))
	if n.Message != "" {
		l += " " + n.Message
	}
	p.printf("%s\n", l)
}

// paint colours a health, phase or reason on a terminal: green when good, red
// when failed, yellow otherwise.
func (p *treePrinter) paint(s string) string {
	if !p.color {
		return s
	}
	switch s {
	case "Ready", "Current", "Running", "Succeeded", "True":
		return "\x1b[32m" + s + "\x1b[0m"
	case "Failed", "FailedCreate", "Unschedulable", "ImagePullBackOff", "CrashLoopBackOff",
		"CreateContainerConfigError", "ClaimPending", "ProgressDeadlineExceeded", "JobFailed",
		"NodeNotReady", "OOMKilled", "FailedMount", "ReadinessProbeFailed", "Evicted",
		"InvalidSpec", "NamespaceConflict", "UnsafeChange", "ApplyFailed", "Conflict", "RolledBack":
		return "\x1b[31m" + s + "\x1b[0m"
	default:
		return "\x1b[33m" + s + "\x1b[0m"
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
