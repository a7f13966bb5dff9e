package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/schema"
)

// exitError ends the plugin with code; err, when set, is printed first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Exit codes of diff, as kubectl diff has them.
const (
	exitChanges = 1 // applying the stack would change the cluster
	exitFailed  = 2 // diff could not tell
)

func failed(err error) error { return &exitError{code: exitFailed, err: err} }

func newDiffCommand(out io.Writer) *cobra.Command {
	var flags clusterFlags
	var files []string
	cmd := &cobra.Command{
		Use:   "diff -f STACK.yaml",
		Short: "Show what applying stacks would change on the cluster, without changing it",
		Long: `diff shows what applying each AppStack in the files would change: the stack's
own spec, and what the operator would then do to its objects. It renders the stack
as the operator does, reads the cluster as the operator does, and sends each object
the operator would apply as a server-side dry-run apply (field manager
appstack-operator, forcing ownership, as the operator). It prints a unified diff per
changed object between the live object and the dry-run result, and a summary:

  changed   an object the apply changes
  created   an object that does not exist yet (the diff is all +)
  pruned    an object the stack owns (status.inventory) that the spec no longer
            renders: the operator deletes it (the diff is all -)
  kept      a claim the spec no longer renders whose data the operator keeps: it
            is labelled apps.appstack.dev/retained and loses the stack's owner
            reference instead of being deleted
  replaced  a Pod, Job or Service whose change cannot be made in place: the
            operator deletes it and creates it again
  conflict  a name taken by an object that is not the stack's: the operator
            refuses it (Conflict) and leaves it alone; nothing is pruned meanwhile

Left out of the diffs: managedFields, resourceVersion, generation, uid,
creationTimestamp, status and the apps.appstack.dev/applied-hash annotation, which
every apply changes. Workloads that wait for their dependencies are shown as they
will be applied once those are Ready. Nothing is written: every request that would
write is a dry run, which needs the same RBAC permission as the write.

Exit status: 0 when nothing would change (and nothing is printed), 1 when something
would, 2 or more when diff fails (an invalid stack, a refused dry run, a stack the
operator would not apply at all).

AppStacks are cluster-scoped and each stack's objects go to the namespace its spec
names, so diff takes no -n/--namespace: giving it is an error.`,
		Example: `  kubectl appstack diff -f shop.yaml
  cat shop.yaml | kubectl appstack diff -f -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return failed(fmt.Errorf("%w; pass the stacks with -f FILE", err))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return failed(errors.New("no input: pass -f FILE (or -f - for standard input)"))
			}
			changed, err := runDiff(cmd.Context(), &flags, files, cmd.InOrStdin(), out)
			if err != nil {
				return failed(err)
			}
			if changed {
				return &exitError{code: exitChanges}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return failed(err) })
	flags.add(cmd)
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "file with one or more AppStacks (- for standard input)")
	return cmd
}

// runDiff validates every stack of the files offline, as render does, and only then
// asks the cluster. It reports whether anything would change.
func runDiff(ctx context.Context, flags *clusterFlags, files []string, stdin io.Reader, out io.Writer) (bool, error) {
	if err := flags.check(); err != nil {
		return false, err
	}
	v, err := schema.ForAppStack()
	if err != nil {
		return false, err
	}
	var docs []document
	var problems []string
	for _, f := range files {
		stacks, err := readStacks(f, stdin)
		if err != nil {
			return false, err
		}
		for _, doc := range stacks {
			// Validation applies the CRD's defaults in place; the apiserver gets
			// the document as written.
			stack, errs := validate(ctx, v, runtime.DeepCopyJSON(doc.obj))
			if len(errs) > 0 {
				for _, e := range errs {
					problems = append(problems, fmt.Sprintf("%s: AppStack %q: %s", doc.source, doc.name(), e.Error()))
				}
				continue
			}
			// What only the operator checks (cycles, colliding names), before the cluster.
			if _, err := render.Render(stack); err != nil {
				problems = append(problems, fmt.Sprintf("%s: AppStack %q: %s", doc.source, doc.name(), err))
				continue
			}
			docs = append(docs, doc)
		}
	}
	if len(problems) > 0 {
		return false, fmt.Errorf("invalid input, nothing compared:\n  %s", strings.Join(problems, "\n  "))
	}
	d, err := newDiffer(flags)
	if err != nil {
		return false, err
	}
	changed := false
	for _, doc := range docs {
		r, err := d.stack(ctx, doc)
		if err != nil {
			return changed, fmt.Errorf("%s: AppStack %q: %w", doc.source, doc.name(), err)
		}
		if err := r.write(out); err != nil {
			return changed, err
		}
		changed = changed || r.changed()
	}
	return changed, nil
}
