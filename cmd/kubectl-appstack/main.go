// Command kubectl-appstack is the appstack kubectl plugin. Installed on the PATH
// (`make install-plugin`), it runs as `kubectl appstack ...`.
//
//	kubectl appstack render -f stack.yaml          # the exact objects the operator would apply
//	kubectl appstack diff -f stack.yaml            # what applying it would change on the cluster; exit 1 if anything
//	kubectl appstack status shop --wait            # a tree of components, objects and pods; exit 0 when Ready
//	kubectl appstack graph shop -o svg             # the stack as a graph (dot, mermaid, svg, json); -f FILE offline
//	kubectl appstack history shop                  # the recorded revisions of a stack
//	kubectl appstack rollback shop --to-revision 2 # restore a revision's spec
//	kubectl appstack dashboard                     # a live web page of every stack, on 127.0.0.1
//	kubectl appstack version                       # the plugin's version and the operator's
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/appstack-dev/appstack-operator/internal/version"
)

func main() {
	root := &cobra.Command{
		Use:           "kubectl-appstack",
		Short:         "Work with AppStacks: render, diff, status, graph, history and rollback, and a live dashboard",
		Version:       version.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRenderCommand(os.Stdout), newDiffCommand(os.Stdout), newStatusCommand(os.Stdout),
		newGraphCommand(os.Stdout), newHistoryCommand(os.Stdout), newRollbackCommand(os.Stdout),
		newDashboardCommand(os.Stdout, os.Stderr), newVersionCommand(os.Stdout))
	if err := root.Execute(); err != nil {
		code := 1
		var exit *exitError
		if errors.As(err, &exit) {
			code = exit.code
		}
		if !errors.Is(err, errNotReady) && (exit == nil || exit.err != nil) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(code)
	}
}
