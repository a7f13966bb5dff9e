package utils

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const page = `# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="appstack",result="error"} 2
controller_runtime_reconcile_total{controller="appstack",result="success"} 41
controller_runtime_reconcile_total_extra{controller="appstack"} 7
controller_runtime_reconcile_time_seconds_bucket{controller="appstack",le="+Inf"} 43
go_memstats_heap_inuse_bytes 1.048576e+07
workqueue_depth{controller="appstack",name="appstack"} 0
`

func TestSamples(t *testing.T) {
	got := Samples(page, "controller_runtime_reconcile_total")
	want := []Sample{{`controller="appstack",result="error"`, 2}, {`controller="appstack",result="success"`, 41}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Samples = %+v, want %+v (not the metric whose name it starts)", got, want)
	}
	if got := Samples(page, "go_memstats_heap_inuse_bytes"); len(got) != 1 || got[0] != (Sample{"", 10485760}) {
		t.Errorf("a metric without labels: %+v", got)
	}
	if got := Samples(page, "controller_runtime_reconcile_time_seconds_bucket"); len(got) != 1 || got[0] != (Sample{`controller="appstack",le="+Inf"`, 43}) {
		t.Errorf("a bucket: %+v", got)
	}
	if got := Samples(page, "absent"); len(got) != 0 {
		t.Errorf("an absent metric: %+v", got)
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(page))
	}))
	defer srv.Close()
	got, err := Scrape(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil || got != page {
		t.Errorf("Scrape = %q, %v", got, err)
	}
	srv.Close()
	if _, err := Scrape(strings.TrimPrefix(srv.URL, "http://")); err == nil {
		t.Error("a closed port must be an error")
	}
}
