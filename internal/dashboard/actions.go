package dashboard

import (
	"context"
	"fmt"
	"strings"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// actions are the commands a person would run from the stack page, each only
// when an access review says the user may (docs/dashboard.md):
//
//   - roll back to each revision but the current: update on the stack (the
//     command writes the revision's spec back), and the revisions read;
//   - diff an edited copy: patch on the stack, which `kubectl appstack diff`
//     dry-runs as a server-side apply (its children's dry runs need what the
//     stack's author needs; diff says so when they are refused);
//   - delete: delete on the stack.
func (s *Server) actions(ctx context.Context, st *appstackv1.AppStack, revs []Revision, revisionsRead bool) ([]Action, error) {
	var out []Action
	allowed := map[string]bool{}
	for _, verb := range []string{"update", "patch", "delete"} {
		ok, err := s.access.can(ctx, verb, s.stackKind.gr, "", st.Name)
		if err != nil {
			return nil, err
		}
		allowed[verb] = ok
	}
	if allowed["update"] && revisionsRead {
		for i := len(revs) - 1; i >= 0; i-- {
			if !revs[i].Current {
				out = append(out, Action{Title: fmt.Sprintf("Roll back to revision %d", revs[i].Number),
					Command: s.command("kubectl appstack rollback %s --to-revision %d", st.Name, revs[i].Number)})
			}
		}
	}
	if allowed["patch"] {
		out = append(out, Action{Title: fmt.Sprintf("See what applying your edited %s.yaml would change", st.Name),
			Command: s.command("kubectl appstack diff -f %s.yaml", st.Name)})
	}
	if allowed["delete"] {
		out = append(out, Action{Title: "Delete the stack (its retained volumes stay)",
			Command: s.command("kubectl delete appstack %s", st.Name)})
	}
	return out, nil
}

// command is a command line with the connection flags the dashboard was started
// with, so that it reaches the same cluster as the same user.
func (s *Server) command(format string, args ...any) string {
	parts := make([]string, 0, 1+len(s.opts.CommandFlags))
	parts = append(parts, fmt.Sprintf(format, args...))
	for _, f := range s.opts.CommandFlags {
		parts = append(parts, shellQuote(f))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes a word for a POSIX shell when it needs it.
func shellQuote(w string) string {
	plain := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r)
	}
	if w != "" && strings.IndexFunc(w, func(r rune) bool { return !plain(r) }) < 0 {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
