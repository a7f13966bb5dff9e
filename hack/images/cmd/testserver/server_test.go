package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, dir string) *server {
	t.Helper()
	return &server{hostname: "web-0", listen: ":8080", port: "8080", version: "0.1.0", dir: dir}
}

func TestHandlers(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello from the shared volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		dir        string
		target     string
		wantStatus int
		wantBody   []string // substrings
	}{
		{"healthz", "", "/healthz", 200, []string{"ok"}},
		{"root without dir", "", "/", 200, []string{"testserver 0.1.0 on web-0 port 8080"}},
		{"unknown path without dir", "", "/nope", 404, nil},
		{"root serves dir", dir, "/", 200, []string{"hello from the shared volume"}},
		{"file in dir", dir, "/index.html", 301, nil}, // FileServer redirects /index.html to /
		{"missing file in dir", dir, "/missing.txt", 404, nil},
		{"echo text", "", "/echo?x=1", 200, []string{"hostname: web-0", "port: 8080", "listen: :8080", "version: 0.1.0", "method: GET", "uri: /echo?x=1", "header X-Test: yes"}},
		{"echo with dir still echoes", dir, "/echo", 200, []string{"hostname: web-0"}},
		{"burn default", "", "/burn", 200, []string{"burned", "on web-0"}},
		{"burn 30ms", "", "/burn?ms=30", 200, []string{"burned", "on web-0"}},
		{"burn zero", "", "/burn?ms=0", 200, []string{"burned 0 ms on web-0"}},
		{"burn bad", "", "/burn?ms=abc", 400, []string{"non-negative integer"}},
		{"burn negative", "", "/burn?ms=-5", 400, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestServer(t, tc.dir).handler()
			req := httptest.NewRequest(http.MethodGet, tc.target, nil)
			req.Header.Set("X-Test", "yes")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tc.wantStatus, rec.Body.String())
			}
			for _, want := range tc.wantBody {
				if !strings.Contains(rec.Body.String(), want) {
					t.Errorf("body %q lacks %q", rec.Body.String(), want)
				}
			}
		})
	}
}

func TestBurnTakesAsLongAsAsked(t *testing.T) {
	h := newTestServer(t, "").handler()
	for _, ms := range []int{50, 120} {
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/burn?ms="+strconv.Itoa(ms), nil))
		took := time.Since(start)
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		if took < time.Duration(ms)*time.Millisecond {
			t.Errorf("ms=%d answered after %s", ms, took)
		}
	}
}

func TestBurnDuration(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 100 * time.Millisecond, false},
		{"0", 0, false},
		{"200", 200 * time.Millisecond, false},
		{"10000", maxBurn, false},
		{"999999999999", maxBurn, false}, // capped, no overflow
		{"-1", 0, true},
		{"1.5", 0, true},
		{"x", 0, true},
	}
	for _, tc := range cases {
		got, err := burnDuration(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("burnDuration(%q) = %s, %v; want %s, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestEchoJSONOverRealConnection(t *testing.T) {
	s := newTestServer(t, "")
	ts := httptest.NewServer(s.handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/echo?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep echoReply
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Hostname != "web-0" || rep.Port != "8080" || rep.Method != "GET" || rep.URI != "/echo?format=json" {
		t.Errorf("unexpected reply %+v", rep)
	}
	// LocalAddr is the address the connection arrived at (the test server's).
	if want := strings.TrimPrefix(ts.URL, "http://"); rep.LocalAddr != want {
		t.Errorf("localAddr %q, want %q", rep.LocalAddr, want)
	}
	if rep.RemoteAddr == "" {
		t.Error("remoteAddr empty")
	}
}

func TestHealthzReadiness(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newTestServer(t, "")
	s.now = func() time.Time { return now }
	s.readyAt.Store(time.Unix(1005, 0).UnixNano())
	h := s.handler()
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	if c := get(); c != 503 {
		t.Errorf("before ready-delay: %d, want 503", c)
	}
	now = time.Unix(1006, 0)
	if c := get(); c != 200 {
		t.Errorf("after ready-delay: %d, want 200", c)
	}
	s.shuttingDown.Store(true)
	if c := get(); c != 503 {
		t.Errorf("shutting down: %d, want 503", c)
	}
}
