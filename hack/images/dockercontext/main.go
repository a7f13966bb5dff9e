// Command dockercontext checks that the Dockerfile builds, without Docker: it
// reproduces the build context of the Dockerfile's first (builder) stage — exactly
// the files its COPY lines name that .dockerignore lets in, matched with the
// pattern rules Docker itself uses (github.com/moby/patternmatcher) — in a
// temporary directory, runs that stage's RUN steps there with the host's Go, and
// checks that every file a later stage copies from it was made.
//
//	go -C hack/images run ./dockercontext            (make check-dockerfile)
//	go -C hack/images run ./dockercontext -root DIR  (another checkout, e.g. an old commit)
//
// The builder's WORKDIR is mapped to the temporary directory: occurrences of it in
// RUN commands are rewritten. TARGETOS/TARGETARCH are set as buildx would for this
// machine. The module cache is the host's, so `go mod download` needs no network
// when the modules are already there.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, COPY, RUN, ...
	args string
}

func main() {
	root := flag.String("root", "", "repository root (default: the git top level of the working directory)")
	keep := flag.Bool("keep", false, "keep the temporary build directory")
	flag.Parse()
	if *root == "" {
		out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			fail("find the repository root: %v (pass -root)", err)
		}
		*root = strings.TrimSpace(string(out))
	}
	if err := check(*root, *keep); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "!! dockercontext: "+format+"\n", args...)
	os.Exit(1)
}

func check(root string, keep bool) error {
	steps, err := parse(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return err
	}
	included, err := contextFiles(root)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "dockercontext-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Printf("keeping %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}

	stage, workdir := 0, "/"
	copied := 0
	var wants []string // builder paths later stages copy
	for _, in := range steps {
		switch in.cmd {
		case "FROM":
			stage++
			continue
		case "COPY":
			if stage == 1 {
				n, err := copyStep(root, included, work, workdir, in)
				if err != nil {
					return err
				}
				copied += n
			} else if strings.HasPrefix(in.args, "--from=") {
				f := strings.Fields(in.args)
				for len(f) > 0 && strings.HasPrefix(f[0], "--") {
					f = f[1:]
				}
				if len(f) < 2 {
					return fmt.Errorf("Dockerfile:%d: COPY %s: no source", in.line, in.args)
				}
				wants = append(wants, f[:len(f)-1]...)
			}
		case "WORKDIR":
			if stage == 1 {
				workdir = path.Join(workdir, in.args)
			}
		case "RUN":
			if stage == 1 {
				if err := runStep(work, workdir, in); err != nil {
					return err
				}
			}
		}
	}
	for _, w := range wants {
		p, err := mapPath(work, workdir, w)
		if err != nil {
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("a later stage copies %s from the builder, which did not make it: %v", w, err)
		}
		fmt.Printf("ok: %s built (%.1f MiB)\n", w, float64(st.Size())/(1<<20))
	}
	fmt.Printf("ok: the Dockerfile's builder stage builds from its %d context files (of %d .dockerignore lets in)\n", copied, len(included))
	return nil
}

// parse reads a Dockerfile's instructions (comments dropped, continuations joined).
func parse(file string) ([]instruction, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out, sc.Err()
}

// contextFiles are the files of root that .dockerignore lets into the build context.
func contextFiles(root string) (map[string]bool, error) {
	var patterns []string
	if f, err := os.Open(filepath.Join(root, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	in := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if !excluded {
			in[rel] = true
		}
		return nil
	})
	return in, err
}

// copyStep copies what a COPY instruction takes from the context into work.
func copyStep(root string, included map[string]bool, work, workdir string, in instruction) (int, error) {
	f := strings.Fields(in.args)
	if len(f) < 2 || strings.HasPrefix(f[0], "--") {
		return 0, fmt.Errorf("Dockerfile:%d: COPY %s: only plain `COPY src... dst` is understood here", in.line, in.args)
	}
	srcs, dst := f[:len(f)-1], f[len(f)-1]
	target, err := mapPath(work, workdir, dst)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, src := range srcs {
		src = strings.TrimPrefix(path.Clean(src), "./")
		var files []string
		for rel := range included {
			if rel == src || strings.HasPrefix(rel, src+"/") {
				files = append(files, rel)
			} else if ok, _ := path.Match(src, rel); ok {
				files = append(files, rel)
			}
		}
		if len(files) == 0 {
			return 0, fmt.Errorf("Dockerfile:%d: COPY %s: nothing in the build context (after .dockerignore) matches %q", in.line, in.args, src)
		}
		sort.Strings(files)
		for _, rel := range files {
			var out string
			switch {
			case rel == src || !strings.HasPrefix(rel, src+"/"):
				out = filepath.Join(target, path.Base(rel)) // a file: into the destination directory
			default:
				out = filepath.Join(target, strings.TrimPrefix(rel, src+"/")) // a directory's contents
			}
			if err := copyFile(filepath.Join(root, rel), out); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

// runStep runs a RUN instruction in work, with the builder's WORKDIR mapped to it.
func runStep(work, workdir string, in instruction) error {
	dir, err := mapPath(work, workdir, ".")
	if err != nil {
		return err
	}
	script := strings.ReplaceAll(in.args, workdir, dir)
	fmt.Printf("RUN %s\n", in.args)
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TARGETOS=linux", "TARGETARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("Dockerfile:%d: RUN %s failed in the reproduced build context (%v):\n%s", in.line, in.args, err, out.String())
	}
	return nil
}

// mapPath maps a path of the builder's filesystem (relative to workdir, or
// absolute under it) into work.
func mapPath(work, workdir, p string) (string, error) {
	if !path.IsAbs(p) {
		p = path.Join(workdir, p)
	}
	rel := strings.TrimPrefix(path.Clean(p), path.Clean(workdir))
	if rel == path.Clean(p) && path.Clean(p) != path.Clean(workdir) {
		return "", errors.New("path " + p + " is outside the builder's WORKDIR " + workdir)
	}
	return filepath.Join(work, filepath.FromSlash(rel)), nil
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
