package utils

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A stand-in for `kubectl appstack dashboard`: it names the API server (https,
// not the dashboard), then the URL a test server serves, then waits.
func TestStartDashboardFindsTheURLAndStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	script := `echo "reading the cluster at https://127.0.0.1:6443 as admin"; printf 'dashboard: '; sleep 0.2; echo "` + srv.URL + `/ (Ctrl-C to stop)."; exec sleep 30`
	var log bytes.Buffer
	d, err := StartDashboard(&log, 10*time.Second, "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	if d.URL != srv.URL+"/" {
		t.Errorf("URL = %q, want %q: the dashboard's, not the API server's, without the punctuation after it", d.URL, srv.URL+"/")
	}
	start := time.Now()
	if err := d.Stop(); err != nil {
		t.Error(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Stop took %s, want the interrupt to end it at once", took)
	}
	if !strings.Contains(log.String(), "$ sh -c") || !strings.Contains(d.Output(), "reading the cluster") {
		t.Errorf("the log does not show the command and its output:\n%s", log.String())
	}
}

func TestStartDashboardSaysWhyNot(t *testing.T) {
	_, err := StartDashboard(nil, 10*time.Second, "sh", "-c", `echo "error: no configuration has been provided"; exit 1`)
	if err == nil || !strings.Contains(err.Error(), "exited (exit status 1) before it printed a URL") || !strings.Contains(err.Error(), "no configuration has been provided") {
		t.Errorf("a dashboard that exits at once: %v; want the exit and its output", err)
	}
	_, err = StartDashboard(nil, 300*time.Millisecond, "sh", "-c", `echo starting; exec sleep 30`)
	if err == nil || !strings.Contains(err.Error(), "printed no http://127.0.0.1:PORT URL within 300ms") || !strings.Contains(err.Error(), "starting") {
		t.Errorf("a dashboard that prints no URL: %v; want the timeout and its output", err)
	}
}
