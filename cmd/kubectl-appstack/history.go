package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/inspect"
	"github.com/appstack-dev/appstack-operator/internal/plan"
)

func newHistoryCommand(out io.Writer) *cobra.Command {
	var flags clusterFlags
	cmd := &cobra.Command{
		Use:     "history STACK",
		Short:   "List the recorded revisions of a stack's spec",
		Example: "  kubectl appstack history shop",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := flags.client()
			if err != nil {
				return err
			}
			stack, revs, err := revisions(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			return printHistory(out, stack, revs)
		},
	}
	flags.add(cmd)
	return cmd
}

func newRollbackCommand(out io.Writer) *cobra.Command {
	var flags clusterFlags
	var to int64
	cmd := &cobra.Command{
		Use:   "rollback STACK --to-revision N",
		Short: "Restore a stack's spec from a recorded revision",
		Long: "rollback writes the spec recorded in revision N back to the stack; " +
			"the operator then applies it, and records it as the newest revision.",
		Example: "  kubectl appstack rollback shop --to-revision 2",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to <= 0 {
				return fmt.Errorf("--to-revision: give the revision number to restore (see kubectl appstack history %s)", args[0])
			}
			c, err := flags.client()
			if err != nil {
				return err
			}
			return rollback(cmd.Context(), c, out, args[0], to)
		},
	}
	flags.add(cmd)
	cmd.Flags().Int64Var(&to, "to-revision", 0, "the revision to restore")
	return cmd
}

// revisions returns the stack and its revisions, oldest first.
func revisions(
	ctx context.Context, c client.Client, name string,
) (*appstackv1.AppStack, []appsv1.ControllerRevision, error) {
	stack, err := getStack(ctx, c, name)
	if err != nil {
		return nil, nil, err
	}
	revs, err := inspect.Revisions(ctx, c, stack)
	return stack, revs, err
}

func printHistory(out io.Writer, stack *appstackv1.AppStack, revs []appsv1.ControllerRevision) error {
	if len(revs) == 0 {
		_, err := fmt.Fprintf(out, "stack %s has no recorded revisions yet\n", stack.Name)
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	notes := make([]string, len(revs))
	noted := false
	for i, r := range revs {
		notes[i] = inspect.RevisionNote(stack, &r)
		noted = noted || notes[i] != ""
	}
	// Writes to the tabwriter are buffered; Flush below returns the first error.
	header := "REVISION\tCURRENT\tCREATED\tCOMPONENTS"
	if noted { // a NOTE column only when a revision has one: no trailing blanks
		header += "\tNOTE"
	}
	_, _ = fmt.Fprintln(w, header)
	for i, r := range revs {
		data, err := plan.DecodeRevision(&r)
		if err != nil {
			return err
		}
		current := ""
		if r.Revision == stack.Status.Revision {
			current = "*"
		}
		line := fmt.Sprintf("%d\t%s\t%s\t%s", r.Revision, current,
			r.CreationTimestamp.UTC().Format("2006-01-02 15:04:05"), inspect.RevisionSummary(data.Spec))
		if noted {
			line += "\t" + notes[i]
		}
		_, _ = fmt.Fprintln(w, strings.TrimRight(line, "\t"))
	}
	return w.Flush()
}

func rollback(ctx context.Context, c client.Client, out io.Writer, name string, to int64) error {
	_, revs, err := revisions(ctx, c, name)
	if err != nil {
		return err
	}
	rev, err := inspect.FindRevision(name, revs, to)
	if err != nil {
		return err
	}
	data, err := plan.DecodeRevision(rev)
	if err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		stack := &appstackv1.AppStack{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, stack); err != nil {
			return err
		}
		stack.Spec = data.Spec
		return c.Update(ctx, stack)
	})
	if err != nil {
		return fmt.Errorf("roll stack %s back to revision %d: %w", name, to, err)
	}
	_, err = fmt.Fprintf(out, "stack %s rolled back to revision %d\n", name, to)
	return err
}
