// Command testserver is the HTTP server of the appstack.dev/testserver image:
// it serves a directory, echoes requests (with the pod's hostname and the port
// it listens on) and burns CPU per request for an autoscaling demo.
//
//	GET /healthz        200 "ok" once ready (see -ready-delay); 503 while shutting down
//	GET /echo           the request, hostname, version and ports as "key: value" lines (?format=json for JSON)
//	GET /burn?ms=200    spins one core for that long (at most 10 s), then answers
//	GET /               the files of -dir, or one line naming version, host and port
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	dir := flag.String("dir", "", "directory served at / (empty: / answers with one line naming version, host and port)")
	readyDelay := flag.Duration("ready-delay", 0, "how long /healthz answers 503 after start")
	drain := flag.Duration("drain-delay", 0, "on SIGTERM, keep serving (with /healthz at 503) this long before closing the listener, so endpoints can catch up")
	grace := flag.Duration("shutdown-grace", 5*time.Second, "on SIGTERM, how long in-flight requests may take to finish")
	quiet := flag.Bool("quiet", false, "do not log each request")
	flag.Parse()

	version := os.Getenv("TESTSERVER_VERSION")
	if version == "" {
		version = "dev"
	}
	hostname, _ := os.Hostname()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &server{hostname: hostname, listen: *addr, port: port, version: version, dir: *dir}
	if *readyDelay > 0 {
		s.readyAt.Store(time.Now().Add(*readyDelay).UnixNano())
	}
	h := s.handler()
	if !*quiet {
		h = logRequests(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		s.shuttingDown.Store(true)
		log.Printf("signal received; serving %s more, then draining for up to %s", *drain, *grace)
		time.Sleep(*drain)
		sctx, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("testserver %s on %s listening on %s (dir %q)", version, hostname, ln.Addr(), *dir)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serve: %v", err)
	}
	log.Printf("stopped")
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		log.Printf("%s %s %s from %s in %s", r.Method, r.Host, r.RequestURI, r.RemoteAddr, time.Since(start).Round(time.Millisecond))
	})
}
