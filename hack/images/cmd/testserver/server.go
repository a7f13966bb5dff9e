package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxBurn caps one /burn request so a typo cannot pin a core for minutes.
const maxBurn = 10 * time.Second

// server holds what the handlers report; it has no other state than readiness.
type server struct {
	hostname string
	listen   string // the -addr flag, e.g. ":8080"
	port     string // the port the listener is bound to
	version  string
	dir      string // served at / when set
	// readyAt is when /healthz starts answering 200 (UnixNano); 0 is "now".
	readyAt atomic.Int64
	// shuttingDown makes /healthz answer 503 while the server drains.
	shuttingDown atomic.Bool
	now          func() time.Time
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/echo", s.echo)
	mux.HandleFunc("/burn", s.burn)
	if s.dir != "" {
		mux.Handle("/", http.FileServer(http.Dir(s.dir)))
	} else {
		mux.HandleFunc("/", s.root)
	}
	return mux
}

func (s *server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *server) root(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "testserver %s on %s port %s\n", s.version, s.hostname, s.port)
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.shuttingDown.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "shutting down")
		return
	}
	if at := s.readyAt.Load(); at != 0 && s.clock().UnixNano() < at {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready yet")
		return
	}
	fmt.Fprintln(w, "ok")
}

// echoReply is what /echo reports, as "key: value" lines or, with ?format=json, JSON.
type echoReply struct {
	Hostname   string              `json:"hostname"`
	Version    string              `json:"version"`
	Listen     string              `json:"listen"`
	Port       string              `json:"port"`
	LocalAddr  string              `json:"localAddr"`
	RemoteAddr string              `json:"remoteAddr"`
	Method     string              `json:"method"`
	Host       string              `json:"host"`
	URI        string              `json:"uri"`
	Headers    map[string][]string `json:"headers"`
}

func (s *server) echo(w http.ResponseWriter, r *http.Request) {
	rep := echoReply{
		Hostname:   s.hostname,
		Version:    s.version,
		Listen:     s.listen,
		Port:       s.port,
		RemoteAddr: r.RemoteAddr,
		Method:     r.Method,
		Host:       r.Host,
		URI:        r.RequestURI,
		Headers:    r.Header,
	}
	// The address the connection arrived at: behind a Service this is the
	// pod's IP and the container port, whatever port the client dialled.
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		rep.LocalAddr = a.String()
	}
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "hostname: %s\nversion: %s\nlisten: %s\nport: %s\nlocal: %s\nremote: %s\nmethod: %s\nhost: %s\nuri: %s\n",
		rep.Hostname, rep.Version, rep.Listen, rep.Port, rep.LocalAddr, rep.RemoteAddr, rep.Method, rep.Host, rep.URI)
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "header %s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
}

// burn spins one core for ?ms= milliseconds (default 100, at most 10 s):
// load for a HorizontalPodAutoscaler demo, one busy goroutine per request.
func (s *server) burn(w http.ResponseWriter, r *http.Request) {
	d, err := burnDuration(r.URL.Query().Get("ms"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := time.Now()
	n := spin(start, d)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "burned %d ms on %s (%d rounds)\n", time.Since(start).Milliseconds(), s.hostname, n)
}

// burnDuration reads the ms parameter: 100 ms when empty, at most maxBurn.
func burnDuration(v string) (time.Duration, error) {
	if v == "" {
		return 100 * time.Millisecond, nil
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms < 0 {
		return 0, fmt.Errorf("ms must be a non-negative integer, got %q", v)
	}
	if ms >= int(maxBurn/time.Millisecond) {
		return maxBurn, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// spin does arithmetic until d has passed since start and returns the rounds,
// so the compiler cannot drop the loop.
func spin(start time.Time, d time.Duration) uint64 {
	var x, rounds uint64 = 1, 0
	for time.Since(start) < d {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		rounds++
	}
	if x == 0 { // practically never; keeps x live
		rounds++
	}
	return rounds
}
