package utils

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// GitBranch is the branch GitRepo commits to.
const GitBranch = "main"

// GitRepo is a Git repository on the suite's Git server (a bare repository under
// Flux's Workdir/git) with a work tree of its own (Workdir/work/NAME) that Commit
// pushes from over HTTP, as a user pushes to a Git host. It runs the git command
// with no system or global configuration.
type GitRepo struct {
	// URL is what a GitRepository's spec.url names: GitURL/NAME.git.
	URL  string
	work string
}

// NewGitRepo creates the bare repository NAME.git on the Git server and a work
// tree that pushes to it; it has no commit yet.
func (f *Flux) NewGitRepo(name string) (*GitRepo, error) {
	bare := filepath.Join(f.Workdir, "git", name+".git")
	r := &GitRepo{URL: f.GitURL + "/" + name + ".git", work: filepath.Join(f.Workdir, "work", name)}
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"init", "--bare", "--initial-branch=" + GitBranch, bare},
		{"init", "--initial-branch=" + GitBranch},
		{"config", "user.name", "appstack e2e"},
		{"config", "user.email", "e2e@appstack.invalid"},
		{"remote", "add", "origin", r.URL},
	} {
		if _, err := r.git(args...); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Commit makes the repository's files exactly files (path relative to the
// repository's root → content; a file not listed is removed), commits them with
// message, pushes the commit to the server's branch main and returns its SHA. A
// commit that changes nothing is still a commit, with a revision of its own.
func (r *GitRepo) Commit(files map[string]string, message string) (string, error) {
	if _, err := r.git("rm", "-r", "--ignore-unmatch", "."); err != nil {
		return "", err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel := filepath.Clean(filepath.FromSlash(p))
		if first, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); !filepath.IsLocal(rel) || first == ".git" {
			return "", fmt.Errorf("commit %q: file %q is not a relative path inside the repository", message, p)
		}
		full := filepath.Join(r.work, rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return "", err
		}
	}
	for _, args := range [][]string{
		{"add", "--all"},
		{"commit", "--allow-empty", "--no-verify", "-m", message},
		{"push", "origin", "HEAD:refs/heads/" + GitBranch},
	} {
		if _, err := r.git(args...); err != nil {
			return "", err
		}
	}
	sha, err := r.git("rev-parse", "HEAD")
	return strings.TrimSpace(sha), err
}

// git runs git in the work tree without the machine's or the user's Git
// configuration.
func (r *GitRepo) git(args ...string) (string, error) {
	return Run(nil, r.work, []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"}, "git", args...)
}

// FluxRevision is how Flux writes the revision of commit sha on branch (a
// GitRepository's status.artifact.revision, a Kustomization's
// status.lastAppliedRevision).
func FluxRevision(branch, sha string) string { return branch + "@sha1:" + sha }
