package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// errNotReady makes the command exit 1 without printing an error: the status it
// printed says why.
var errNotReady = errors.New("not ready")

// Tree is what `kubectl appstack status` reports, and its JSON form.
type Tree struct {
	Stack      string          `json:"stack"`
	Namespace  string          `json:"namespace"`
	Ready      bool            `json:"ready"`
	Reason     string          `json:"reason"`
	Message    string          `json:"message"`
	Revision   int64           `json:"revision,omitempty"`
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
		Long: `status prints the stack, each component with its phase and the cause the operator
found, the native objects of each component with their health, and the pods with
their state. It exits 0 when the stack is Ready and 1 otherwise, so it can gate a
pipeline: --wait polls until the stack is Ready or --timeout passes.`,
		Example: `  kubectl appstack status shop
  kubectl appstack status shop -o json
  kubectl appstack status shop --wait --timeout 2m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "json" {
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
					if output == "json" {
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
	stack := &appstackv1.AppStack{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, stack); err != nil {
		return nil, fmt.Errorf("get stack %s: %w", name, err)
	}
	t := &Tree{Stack: name, Namespace: render.NamespaceName(stack), Revision: stack.Status.Revision}
	if cond := meta.FindStatusCondition(stack.Status.Conditions, appstackv1.ConditionReady); cond != nil {
		t.Ready = cond.Status == "True" && cond.ObservedGeneration == stack.Generation
		t.Reason, t.Message = cond.Reason, cond.Message
	} else {
		t.Reason, t.Message = "Unknown", "the operator has not reported on this stack yet"
	}
	for _, cs := range stack.Status.Components {
		ct := ComponentTree{ComponentStatus: cs}
		objs, pods, err := componentObjects(ctx, c, stack, cs.Name)
		if err != nil {
			return nil, err
		}
		ct.Objects, ct.Pods = objs, pods
		t.Components = append(t.Components, ct)
	}
	return t, nil
}

// componentObjects lists the component's native objects (found by the stack's
// labels) with their kstatus health, and its pods with their state.
func componentObjects(
	ctx context.Context, c client.Client, stack *appstackv1.AppStack, component string,
) ([]Node, []Node, error) {
	ns := render.NamespaceName(stack)
	selector := client.MatchingLabels{render.LabelStack: stack.Name, render.LabelComponent: component}
	var objs []Node
	for _, gvk := range componentKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(ns), selector); err != nil {
			return nil, nil, fmt.Errorf("list %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if !metav1.IsControlledBy(item, stack) {
				continue
			}
			health, msg, err := status.Readiness(item, gvk)
			if err != nil {
				health, msg = "Unknown", err.Error()
			}
			objs = append(objs, Node{Kind: gvk.Kind, Name: item.GetName(), Health: string(health), Message: msg})
		}
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), selector); err != nil {
		return nil, nil, fmt.Errorf("list pods: %w", err)
	}
	var out []Node
	for _, p := range pods.Items {
		out = append(out, Node{Kind: "Pod", Name: p.Name, Health: string(p.Status.Phase), Message: podMessage(p)})
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return objs, out, nil
}

func podMessage(p corev1.Pod) string {
	ready, total := 0, len(p.Status.ContainerStatuses)
	var problems []string
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if cs.Ready {
			ready++
		}
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", cs.Name, w.Reason))
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
			problems = append(problems, cond.Reason+": "+cond.Message)
		}
	}
	msg := fmt.Sprintf("%d/%d ready", min(ready, total), total)
	if len(problems) > 0 {
		msg += "; " + strings.Join(problems, "; ")
	}
	return msg
}

func printTree(out io.Writer, t *Tree, color bool) error {
	paint := func(s string) string {
		if !color {
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
	if _, err := fmt.Fprintf(out, "AppStack %s (namespace %s, revision %d): %s — %s\n",
		t.Stack, t.Namespace, t.Revision, paint(t.Reason), t.Message); err != nil {
		return err
	}
	for i, c := range t.Components {
		last := i == len(t.Components)-1
		branch, indent := "├─", "│  "
		if last {
			branch, indent = "└─", "   "
		}
		line := fmt.Sprintf("%s %s %s %s %d/%d", branch, c.Name, c.Kind, paint(string(c.Phase)), c.ReadyReplicas, c.Replicas)
		if c.Reason != "" {
			line += " " + paint(c.Reason) + ": " + c.Message
		}
		if _, err := fmt.Fprintln(out, line); err != nil {
			return err
		}
		nodes := slices.Concat(c.Objects, c.Pods)
		for j, n := range nodes {
			b := "├─"
			if j == len(nodes)-1 {
				b = "└─"
			}
			l := fmt.Sprintf("%s%s %s %s %s", indent, b, n.Kind, n.Name, paint(n.Health))
			if n.Message != "" {
				l += " " + n.Message
			}
			if _, err := fmt.Fprintln(out, l); err != nil {
				return err
			}
		}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// componentKinds are the kinds a component's objects can be, listed in this order.
// Pods, bare ones included, are listed apart.
var componentKinds = []schema.GroupVersionKind{
	appsv1.SchemeGroupVersion.WithKind("Deployment"),
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
	appsv1.SchemeGroupVersion.WithKind("DaemonSet"),
	{Group: "batch", Version: "v1", Kind: "Job"},
	{Group: "batch", Version: "v1", Kind: "CronJob"},
	{Group: "", Version: "v1", Kind: "Service"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
}
