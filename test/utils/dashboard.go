package utils

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
)

// DashboardProcess is `kubectl appstack dashboard` run as a user runs it: the
// plugin's binary in a process of its own, serving the URL it printed.
type DashboardProcess struct {
	// URL is the first loopback http:// URL the process printed.
	URL string

	cmd    *exec.Cmd
	out    *urlWatcher
	exited chan struct{}
	err    error // the process's exit, once exited is closed
}

// dashboardURL is a loopback URL as the dashboard prints it, with any path and
// query; https:// (the API server's) does not match.
var dashboardURL = regexp.MustCompile(`http://(?:127\.0\.0\.1|localhost|\[::1\]):[0-9]+(?:/[^\s"'<>]*)?`)

// StartDashboard runs bin with args (say "dashboard", "--kubeconfig", FILE,
// "--port", "0"), its output to log as it comes (nil for none), and waits, for
// timeout at most, until it has printed a loopback URL and that URL answers.
func StartDashboard(log io.Writer, timeout time.Duration, bin string, args ...string) (*DashboardProcess, error) {
	if log == nil {
		log = io.Discard
	}
	d := &DashboardProcess{out: &urlWatcher{log: log, found: make(chan string, 1)}, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = ownProcessGroup()
	shown := strings.TrimSpace(bin + " " + strings.Join(args, " "))
	_, _ = fmt.Fprintf(log, "$ %s &\n", shown)
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	deadline := time.Now().Add(timeout)
	select {
	case d.URL = <-d.out.found:
	case <-d.exited:
		return nil, fmt.Errorf("%s exited (%v) before it printed a URL; its output:\n%s", shown, d.err, d.Output())
	case <-time.After(timeout):
		_ = d.Stop()
		return nil, fmt.Errorf("%s printed no http://127.0.0.1:PORT URL within %s; its output:\n%s", shown, timeout, d.Output())
	}
	if err := d.waitServing(deadline); err != nil {
		_ = d.Stop()
		return nil, fmt.Errorf("%s printed %s, which %w; its output:\n%s", shown, d.URL, err, d.Output())
	}
	return d, nil
}

// waitServing waits until the URL answers, whatever its status.
func (d *DashboardProcess) waitServing(deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var err error
	for {
		var req *http.Request
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil); err != nil {
			return err
		}
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("was not served: the process exited (%v)", d.err)
		case <-ctx.Done():
			return fmt.Errorf("did not answer: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Pid is the process's ID.
func (d *DashboardProcess) Pid() int { return d.cmd.Process.Pid }

// Output is everything the process printed so far (its last 64 kB).
func (d *DashboardProcess) Output() string { return d.out.String() }

// Stop interrupts the process as Ctrl-C would and waits for it to exit; after 10
// seconds it is killed. The error says how it ended when not by the interrupt.
func (d *DashboardProcess) Stop() error {
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("the dashboard did not exit within 10 s of an interrupt, and was killed")
	}
	if d.err != nil && d.cmd.ProcessState.ExitCode() != -1 && d.cmd.ProcessState.ExitCode() != 0 {
		return fmt.Errorf("the dashboard exited after an interrupt with %v; its output:\n%s", d.err, d.Output())
	}
	return nil
}

// urlWatcher passes the process's output on to log, keeps its end, and sends the
// first dashboard URL in it to found.
type urlWatcher struct {
	log   io.Writer
	found chan string

	mu   sync.Mutex
	all  lastBytes
	line []byte // the output since the last newline, for a URL not yet whole
	sent bool
}

func (w *urlWatcher) Write(p []byte) (int, error) {
	_, _ = w.log.Write(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.all.max == 0 {
		w.all.max = 64 << 10
	}
	_, _ = w.all.Write(p)
	if w.sent {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := strings.IndexByte(string(w.line), '\n')
		if i < 0 {
			return len(p), nil
		}
		if u := dashboardURL.FindString(string(w.line[:i])); u != "" {
			w.sent = true
			w.found <- strings.TrimRight(u, ".,;:)")
			return len(p), nil
		}
		w.line = w.line[i+1:]
	}
}

func (w *urlWatcher) String() string { return w.all.String() }
