package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/appstack-dev/appstack-operator/internal/dashboard"
	"github.com/appstack-dev/appstack-operator/internal/version"
)

// dashboardFlags are the dashboard's own flags.
type dashboardFlags struct {
	address     string
	port        int
	allowRemote bool
}

func newDashboardCommand(out, errOut io.Writer) *cobra.Command {
	var flags clusterFlags
	var df dashboardFlags
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a live, read-only web page of every stack, read with your own identity",
		Long: `dashboard serves a web page of every stack on this machine (127.0.0.1, a free
port unless --port): the stacks, failing first; each stack's graph of components
with their objects and pods, its conditions, revisions and their diffs, and its
recent events, following the cluster live. It reads the cluster with your
kubeconfig and identity, as kubectl does (--context, --as, ...): nothing is
installed in the cluster, RBAC applies as it is, and what you may not read is
said on the page. It writes nothing; where you would act, the page shows the
command to copy, and only the commands your identity may run.

Whoever can open the page reads the cluster as you: it is served on a loopback
address only, unless --allow-remote. Ctrl-C stops it.`,
		Example: `  kubectl appstack dashboard
  kubectl appstack dashboard --context staging --port 8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDashboard(ctx, &flags, df, commandFlags(cmd.Flags()), out, errOut)
		},
	}
	flags.add(cmd)
	cmd.Flags().StringVar(&df.address, "address", "127.0.0.1",
		"the IP address to serve on; one that is not loopback needs --allow-remote")
	cmd.Flags().IntVar(&df.port, "port", 0, "the port to serve on; 0 picks a free one")
	cmd.Flags().BoolVar(&df.allowRemote, "allow-remote", false,
		"serve on an --address that is not loopback: whoever reaches it reads the cluster as you, with no login")
	return cmd
}

// runDashboard serves the dashboard until ctx ends, then shuts it down.
func runDashboard(
	ctx context.Context, flags *clusterFlags, df dashboardFlags, cmdFlags []string, out, errOut io.Writer,
) error {
	remote, err := checkAddress(df)
	if err != nil {
		return err
	}
	cfg, err := flags.restConfig()
	if err != nil {
		return err
	}
	// The informers' errors are on the page, in words; their logs would only
	// scroll the terminal.
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())
	ln, err := net.Listen("tcp", net.JoinHostPort(df.address, strconv.Itoa(df.port)))
	if err != nil {
		return fmt.Errorf("listen on %s port %d: %w (pick another --port, or --port 0 for a free one)",
			df.address, df.port, err)
	}
	defer func() { _ = ln.Close() }()
	kubeContext := flags.contextName()
	srv, err := dashboard.New(cfg, dashboard.Options{Listen: ln.Addr().String(), Context: kubeContext,
		Version: version.Get().String(), CommandFlags: cmdFlags})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	if remote {
		_, _ = fmt.Fprintf(errOut, "warning: serving on %s, which is not a loopback address: whoever reaches it reads "+
			"the cluster as %s, with no login and no TLS. Stop it (Ctrl-C) when you are done.\n", ln.Addr(), srv.Info().User)
	}
	via := "context " + kubeContext
	if kubeContext == "" {
		via = "server " + cfg.Host
	}
	_, _ = fmt.Fprintf(out, "Dashboard at %s (reading the cluster as %s via %s); Ctrl-C stops it\n",
		pageURL(ln.Addr().(*net.TCPAddr)), srv.Info().User, via)
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serve the dashboard: %w", err)
	case err = <-runErr:
	}
	cancel()
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if sErr := hs.Shutdown(shutdownCtx); sErr != nil && err == nil && !errors.Is(sErr, http.ErrServerClosed) {
		err = fmt.Errorf("stop the dashboard: %w", sErr)
	}
	return err
}

// checkAddress refuses an --address that is not a loopback one unless
// --allow-remote; it tells whether the address is remote.
func checkAddress(df dashboardFlags) (remote bool, err error) {
	if df.port < 0 || df.port > 65535 {
		return false, fmt.Errorf("--port %d: give a port from 1 to 65535, or 0 for a free one", df.port)
	}
	if df.address == "localhost" {
		return false, nil
	}
	ip := net.ParseIP(df.address)
	if ip == nil {
		return false, fmt.Errorf("--address %q: give an IP address of this machine, such as 127.0.0.1 or ::1", df.address)
	}
	if ip.IsLoopback() {
		return false, nil
	}
	if !df.allowRemote {
		return false, fmt.Errorf("--address %s is not a loopback address: whoever reaches it would read the cluster as "+
			"you, with no login. Pass --allow-remote as well to serve there anyway", df.address)
	}
	return true, nil
}

// pageURL is the page's address as a person types it: a loopback address for a
// listener on every address.
func pageURL(a *net.TCPAddr) string {
	ip := a.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		if a.IP.To4() == nil {
			ip = net.IPv6loopback
		}
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(a.Port)) + "/"
}

// commandFlags are the connection flags given on the command line, to add to
// the commands the page offers (never a token or password: the page shows them),
// file paths made absolute.
func commandFlags(fs *pflag.FlagSet) []string {
	keep := map[string]bool{"kubeconfig": true, "context": true, "cluster": true, "user": true, "as": true,
		"as-group": true, "as-uid": true, "server": true, "certificate-authority": true, "client-certificate": true,
		"client-key": true, "tls-server-name": true, "insecure-skip-tls-verify": true}
	paths := map[string]bool{"kubeconfig": true, "certificate-authority": true, "client-certificate": true,
		"client-key": true}
	var out []string
	fs.Visit(func(f *pflag.Flag) {
		if !keep[f.Name] {
			return
		}
		if f.Value.Type() == "stringArray" {
			values, _ := fs.GetStringArray(f.Name)
			for _, v := range values {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		v := f.Value.String()
		if paths[f.Name] {
			// A command pasted in another directory reaches the same files.
			if abs, err := filepath.Abs(v); err == nil {
				v = abs
			}
		}
		out = append(out, "--"+f.Name+"="+v)
	})
	return out
}
