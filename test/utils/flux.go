package utils

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FluxNamespace is where the suite's Flux objects live, as `flux install` has it.
const FluxNamespace = "flux-system"

// The Flux CRDs that StartFlux waits for; hack/tools.sh copies every CRD of both
// controllers into bin/flux-crds.
var fluxCRDs = []string{"crd/gitrepositories.source.toolkit.fluxcd.io", "crd/kustomizations.kustomize.toolkit.fluxcd.io"}

// Flux is Flux's source-controller and kustomize-controller, built by
// `hack/tools.sh flux` into bin/, run as processes on this machine against a
// cluster, with a Git server (bin/gitserver) serving the bare repositories under
// Workdir/git. Everything listens on 127.0.0.1 only. Each process logs to
// Workdir/<name>.log (Logs).
type Flux struct {
	Workdir string
	// GitURL is the Git server's base URL: http://127.0.0.1:PORT; the repository
	// NAME is at GitURL/NAME.git.
	GitURL string
	// Started is how long StartFlux took, from applying the CRDs to both
	// controllers ready.
	Started time.Duration

	procs    []*fluxProc
	stopOnce sync.Once
	// grace is how long Stop waits after SIGTERM before SIGKILL (0: 10 s).
	grace time.Duration
}

// fluxProc is one process of Flux, in a process group of its own so that Stop
// ends its children too (the Git server runs git for each request).
type fluxProc struct {
	name, log string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// StartFlux applies the Flux CRDs (bin/flux-crds) and the namespace flux-system to
// the cluster, starts the Git server and both controllers with Workdir as their
// home (created when missing; Git repositories in Workdir/git, source-controller's
// artifacts in Workdir/storage), and waits until both controllers answer
// ready and the artifact server accepts connections, for as long as ctx allows.
// On an error the processes it started are stopped again; their logs stay.
func (c Cluster) StartFlux(ctx context.Context, workdir string) (*Flux, error) {
	start := time.Now()
	bin := filepath.Join(c.Root, "bin")
	for _, b := range []string{"source-controller", "kustomize-controller", "gitserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("bin/%s is missing: build it with `hack/tools.sh flux` (make tools-flux): %w", b, err)
		}
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("the Git server and GitRepo run the git command, which is not on PATH: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(workdir, "storage"), 0o755); err != nil {
		return nil, err
	}
	if err := c.ApplyCRD(true, "-f", filepath.Join(bin, "flux-crds")); err != nil {
		return nil, fmt.Errorf("apply the Flux CRDs of bin/flux-crds: %w", err)
	}
	if err := c.WaitFor("Established", 10*time.Second, time.Minute, fluxCRDs...); err != nil {
		return nil, err
	}
	if err := c.ApplyFile(filepath.Join(workdir, "namespace.yaml"),
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+FluxNamespace+"\n"); err != nil {
		return nil, err
	}
	f := &Flux{Workdir: workdir}
	if err := f.start(ctx, bin, c.Kubeconfig); err != nil {
		f.Stop()
		return nil, err
	}
	f.Started = time.Since(start)
	return f, nil
}

// start starts the Git server, then both controllers, and waits until they serve.
func (f *Flux) start(ctx context.Context, bin, kubeconfig string) error {
	git, err := f.run(bin, "gitserver", nil, "-root", filepath.Join(f.Workdir, "git"), "-listen", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if f.GitURL, err = firstLine(ctx, git); err != nil {
		return fmt.Errorf("gitserver did not print its URL: %w", err)
	}
	addrs, err := FreeAddrs(5)
	if err != nil {
		return err
	}
	storage := addrs[0]
	env := []string{"KUBECONFIG=" + kubeconfig, "RUNTIME_NAMESPACE=" + FluxNamespace}
	common := func(health, metrics string) []string {
		return []string{"--health-addr=" + health, "--metrics-addr=" + metrics,
			"--enable-leader-election=false", "--log-encoding=console"}
	}
	source, err := f.run(bin, "source-controller", env, append(common(addrs[1], addrs[2]),
		"--storage-path="+filepath.Join(f.Workdir, "storage"), "--storage-addr="+storage, "--storage-adv-addr="+storage)...)
	if err != nil {
		return err
	}
	kustomize, err := f.run(bin, "kustomize-controller", env, common(addrs[3], addrs[4])...)
	if err != nil {
		return err
	}
	for _, w := range []struct {
		p   *fluxProc
		url string
	}{
		{source, "http://" + addrs[1] + "/readyz"},
		{kustomize, "http://" + addrs[3] + "/readyz"},
		// The artifact server, which source-controller starts beside its
		// controllers: a Kustomization cannot fetch before it serves.
		{source, "http://" + storage + "/"},
	} {
		if err := waitServing(ctx, w.p, w.url); err != nil {
			return err
		}
	}
	return nil
}

// run starts bin/name with args, env added, its output to Workdir/name.log.
func (f *Flux) run(bin, name string, env []string, args ...string) (*fluxProc, error) {
	p := &fluxProc{name: name, log: filepath.Join(f.Workdir, name+".log"), exited: make(chan struct{})}
	// The process writes its log through a descriptor of its own.
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.cmd = exec.Command(filepath.Join(bin, name), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = logf
	p.cmd.Stdout = logf
	p.cmd.SysProcAttr = ownProcessGroup()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bin/%s: %w", name, err)
	}
	f.procs = append(f.procs, p)
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

// firstLine waits for the first line of p's log.
func firstLine(ctx context.Context, p *fluxProc) (string, error) {
	for {
		if b, err := os.ReadFile(p.log); err == nil {
			if line, _, ok := strings.Cut(string(b), "\n"); ok {
				return strings.TrimSpace(line), nil
			}
		}
		if err := p.alive(ctx); err != nil {
			return "", err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitServing waits until url answers 2xx or 404 (the artifact server's root),
// while p runs.
func waitServing(ctx context.Context, p *fluxProc, url string) error {
	client := http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotFound {
				return nil
			}
		}
		if err := p.alive(ctx); err != nil {
			return fmt.Errorf("%s not serving %s: %w", p.name, url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// alive is nil while p runs and ctx is not done; otherwise it says which, and
// where p's log is.
func (p *fluxProc) alive(ctx context.Context) error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%s); its log: %s", p.name, p.cmd.ProcessState, p.log)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w; its log: %s", p.name, ctx.Err(), p.log)
	default:
		return nil
	}
}

// Stop ends the controllers and the Git server, with their children: SIGTERM,
// then SIGKILL to what is still running 10 s later. It waits until they have
// exited; a second call returns at once.
func (f *Flux) Stop() {
	f.stopOnce.Do(func() {
		for _, p := range f.procs {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		}
		grace := f.grace
		if grace == 0 {
			grace = 10 * time.Second
		}
		deadline := time.Now().Add(grace)
		for _, p := range f.procs {
			select {
			case <-p.exited:
			case <-time.After(time.Until(deadline)):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.exited
			}
			// The process group outlives its leader while a child runs.
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		}
	})
}

// Logs is the last n lines of each process's log, under a header naming the
// process and the file (for a failing spec to print).
func (f *Flux) Logs(n int) string {
	var b strings.Builder
	for _, p := range f.procs {
		fmt.Fprintf(&b, "---- %s (last %d lines of %s) ----\n", p.name, n, p.log)
		lines, err := tail(p.log, n)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func tail(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines, s.Err()
}

// FreeAddrs are n distinct free loopback addresses (127.0.0.1:PORT): the listeners stay open until
// all are found, so that no port comes twice.
func FreeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("no free port on 127.0.0.1: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
