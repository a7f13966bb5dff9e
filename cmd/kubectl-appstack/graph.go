package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/graph"
	"github.com/appstack-dev/appstack-operator/internal/schema"
)

// outputJSON is the -o value of the commands that print JSON.
const outputJSON = "json"

// graphFormats are the -o values of `kubectl appstack graph`, the default first.
var graphFormats = []string{"dot", "mermaid", "svg", outputJSON}

func newGraphCommand(out io.Writer) *cobra.Command {
	var flags clusterFlags
	var output, file string
	cmd := &cobra.Command{
		Use:   "graph STACK | graph [STACK] -f FILE",
		Short: "Draw a stack as a graph: components along dependsOn, and the volumes and configs they use",
		Long: `graph writes one stack's graph: a node per component (its kind, replicas, phase
and cause), per stack volume and per config; an edge from each dependency to the
component that depends on it, and a dashed one from each volume or config to the
components that mount it. Nodes are colored by phase (docs/dashboard.md).

With STACK alone it reads the stack, with its status, from the cluster. With
-f FILE it draws a stack from a file offline, as render reads it (validated, no
status, so no colors); STACK picks one when the file holds several.

Formats (-o): dot (Graphviz; the default), mermaid (a flowchart, rendered by
GitHub in a mermaid code block), svg (a standalone picture, laid out like the
dashboard's) and json (the graph itself).`,
		Example: `  kubectl appstack graph guestbook -o svg > guestbook.svg
  kubectl appstack graph -f config/samples/apps_v1alpha1_appstack_guestbook.yaml -o mermaid
  kubectl appstack graph guestbook | dot -Tpng > guestbook.png`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(graphFormats, output) {
				return fmt.Errorf("-o %s: the formats are %s (default %s)",
					output, strings.Join(graphFormats, ", "), graphFormats[0])
			}
			if err := flags.check(); err != nil {
				return err
			}
			stack, err := graphStack(cmd.Context(), &flags, args, file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			return writeGraph(out, graph.Build(stack), output)
		},
	}
	flags.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", graphFormats[0], "output format: "+strings.Join(graphFormats, ", "))
	cmd.Flags().StringVarP(&file, "filename", "f", "",
		"draw a stack from this file instead of the cluster (- for standard input)")
	return cmd
}

// graphStack is the stack to draw: from the file when -f is given (args, if
// any, names the stack in it), else the one args names from the cluster.
func graphStack(
	ctx context.Context, flags *clusterFlags, args []string, file string, stdin io.Reader,
) (*appstackv1.AppStack, error) {
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	if file != "" {
		return stackFromFile(ctx, file, name, stdin)
	}
	if name == "" {
		return nil, errors.New("no stack: give a STACK name to read it from the cluster, or -f FILE to draw one from a file")
	}
	c, err := flags.client()
	if err != nil {
		return nil, err
	}
	return stackFromCluster(ctx, c, name)
}

// stackFromCluster is getStack, with what to do when there is no such stack.
func stackFromCluster(ctx context.Context, c client.Reader, name string) (*appstackv1.AppStack, error) {
	stack, err := getStack(ctx, c, name)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w (kubectl get stacks lists them; -f FILE draws one from a file)", err)
	}
	return stack, err
}

// stackFromFile reads the file's AppStacks as render does, validates the one
// named (the only one when no name is given) with the CRD's rules and defaults,
// and returns it.
func stackFromFile(ctx context.Context, file, name string, stdin io.Reader) (*appstackv1.AppStack, error) {
	docs, err := readStacks(file, stdin)
	if err != nil {
		return nil, err
	}
	var names []string
	var doc *document
	for i := range docs {
		names = append(names, docs[i].name())
		if docs[i].name() == name || (name == "" && len(docs) == 1) {
			doc = &docs[i]
		}
	}
	switch {
	case doc == nil && name == "":
		return nil, fmt.Errorf("%s holds %d AppStacks (%s): name the one to draw, e.g. kubectl appstack graph %s -f %s",
			docs[0].source, len(docs), strings.Join(names, ", "), names[0], file)
	case doc == nil:
		return nil, fmt.Errorf("%s holds no AppStack %s; it holds %s: give one of those names, "+
			"or leave the name out when the file holds one stack", docs[0].source, name, strings.Join(names, ", "))
	}
	v, err := schema.ForAppStack()
	if err != nil {
		return nil, err
	}
	stack, errs := validate(ctx, v, doc.obj)
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid input, nothing drawn:\n  %s", strings.Join(doc.problems(errs), "\n  "))
	}
	return stack, nil
}

func writeGraph(out io.Writer, g graph.Graph, format string) error {
	var b []byte
	var err error
	switch format {
	case "mermaid":
		b = []byte(graph.Mermaid(g))
	case "svg":
		b, err = graph.SVG(g)
	case outputJSON:
		b, err = json.MarshalIndent(g, "", "  ")
		b = append(b, '\n')
	default:
		b = []byte(graph.DOT(g))
	}
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}
