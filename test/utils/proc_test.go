package utils

import (
	"math"
	"os"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	sample, hwm := parseStatus("Name:\tmanager\nVmHWM:\t   81920 kB\nVmRSS:\t   61440 kB\nRssAnon:\t   40960 kB\nRssFile:\t   20480 kB\nThreads:\t12\n")
	if want := (RSSSample{Total: 60, Anon: 40, File: 20}); sample != want || hwm != 80 {
		t.Errorf("parseStatus = %+v, %v; want %+v, 80 (MiB)", sample, hwm, want)
	}
}

func TestRSSFigures(t *testing.T) {
	s := &RSS{samples: []RSSSample{{Total: 50, Anon: 30, File: 20}, {Total: 90, Anon: 70, File: 20}, {Total: 60, Anon: 40, File: 20},
		{Total: 70, Anon: 45, File: 25}, {Total: 65, Anon: 42, File: 23}}, hwm: 95}
	if got := s.Peak(0); got != 90 {
		t.Errorf("Peak(0) = %v, want 90", got)
	}
	if got := s.Peak(2); got != 70 {
		t.Errorf("Peak(2) = %v, want 70: the samples from index 2 on", got)
	}
	if got, want := s.Median(2), (RSSSample{Total: 65, Anon: 42, File: 23}); got != want {
		t.Errorf("Median(2) = %+v, want %+v", got, want)
	}
	if got := s.Median(5); !math.IsNaN(got.Total) {
		t.Errorf("Median of no samples = %+v, want NaN", got)
	}
	if s.Mark() != 5 || s.Latest() != 65 || s.HWM() != 95 {
		t.Errorf("Mark %d, Latest %v, HWM %v", s.Mark(), s.Latest(), s.HWM())
	}
	// The medians leave the samples in their order.
	if s.samples[1].Total != 90 {
		t.Errorf("samples reordered: %+v", s.samples)
	}
}

func TestSampleRSSOfThisProcess(t *testing.T) {
	s := SampleRSS(os.Getpid())
	time.Sleep(2500 * time.Millisecond)
	s.Stop()
	if s.Mark() < 2 || s.Latest() <= 0 || s.HWM() < s.Peak(0) {
		t.Errorf("%d samples, latest %v MiB, high-water mark %v MiB, peak %v MiB: want a sample a second of a live process",
			s.Mark(), s.Latest(), s.HWM(), s.Peak(0))
	}
}

func TestManagerPIDsFindsNoneOutsideTheRealNode(t *testing.T) {
	if pids := ManagerPIDs("no-such-cluster", ""); len(pids) != 0 {
		t.Errorf("ManagerPIDs = %v for a cluster with no real node", pids)
	}
}
