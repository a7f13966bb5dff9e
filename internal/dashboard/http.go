package dashboard

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// gzipAbove: JSON larger than this is gzipped for a client that takes it (the
// stacks of a large cluster); smaller is not worth the CPU.
const gzipAbove = 8 << 10

// Handler serves the page, its assets and the API (api.go), all GET.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/info", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, r, http.StatusOK, s.info) })
	mux.HandleFunc("GET /api/stacks", s.serveStacks)
	mux.HandleFunc("GET /api/stacks/{name}", s.serveStack)
	mux.HandleFunc("GET /api/stacks/{name}/diff", s.serveDiff)
	mux.HandleFunc("GET /api/watch", s.serveWatch)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("no such API route: %s %s (see internal/dashboard/api.go)",
			r.Method, r.URL.Path))
	})
	mux.HandleFunc("GET /{$}", s.serveAsset)
	mux.HandleFunc("GET /assets/", s.serveAsset)
	return s.guard(mux)
}

// guard refuses what the dashboard does not serve: a Host header other than its
// own address (a page elsewhere in the browser, through DNS rebinding, would
// read the cluster as the user), and any method but GET.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
			"frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		if !s.hostAllowed(r.Host) {
			writeError(w, r, http.StatusForbidden, fmt.Sprintf("this dashboard answers only at http://127.0.0.1:%s/ "+
				"(or localhost, or the IP address it listens on); Host %q is refused, so that no other web page can "+
				"read your cluster through it", s.port, r.Host))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeError(w, r, http.StatusMethodNotAllowed, "the dashboard is read-only: only GET is served")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed: the Host header names the dashboard's port, and localhost or an
// IP address. A DNS rebinding attack needs a name of its own in Host; an IP
// address cannot be rebound.
func (s *Server) hostAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil { // no port: the scheme's default
		host, port = hostport, "80"
	}
	if port != s.port {
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || net.ParseIP(strings.Trim(host, "[]")) != nil
}

// writeJSON writes v with code, gzipped when large and the client takes it.
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if len(body) > gzipAbove && acceptsGzip(r) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeError writes {"error": msg} with code.
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	writeJSON(w, r, code, map[string]string{"error": msg})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); enc == "gzip" {
			return true
		}
	}
	return false
}
