package utils

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSSSample is one reading of a process's resident set size, in MiB: in all
// (VmRSS), and split into anonymous memory (RssAnon: the Go heap, stacks) and file
// pages (RssFile: mostly the binary's).
type RSSSample struct {
	Total, Anon, File float64
}

// RSS reads a process's resident set size from /proc/<pid>/status every second
// and keeps every sample, and the kernel's high-water mark of the process (VmHWM,
// over its whole life), until Stop.
type RSS struct {
	mu      sync.Mutex
	samples []RSSSample
	hwm     float64
	done    chan struct{}
}

// SampleRSS starts sampling process pid; the first sample is a second later.
func SampleRSS(pid int) *RSS {
	s := &RSS{done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-s.done:
				return
			case <-time.After(time.Second):
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				continue
			}
			sample, hwm := parseStatus(string(b))
			s.mu.Lock()
			s.samples = append(s.samples, sample)
			s.hwm = hwm
			s.mu.Unlock()
		}
	}()
	return s
}

// parseStatus reads the memory lines of /proc/<pid>/status ("VmRSS:  1024 kB"), in
// MiB.
func parseStatus(status string) (sample RSSSample, hwm float64) {
	for _, l := range strings.Split(status, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			sample.Total = kb / 1024
		case "RssAnon:":
			sample.Anon = kb / 1024
		case "RssFile:":
			sample.File = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return sample, hwm
}

// Stop ends the sampling; the samples stay.
func (s *RSS) Stop() { close(s.done) }

// Mark is the index of the next sample.
func (s *RSS) Mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples)
}

// Peak is the largest total of the samples from index from on, 0 when there are
// none.
func (s *RSS) Peak(from int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var peak float64
	for _, v := range s.samples[from:] {
		peak = math.Max(peak, v.Total)
	}
	return peak
}

// Median is, field by field, the median of the samples from index from on (NaN
// when there are none).
func (s *RSS) Median(from int) RSSSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.samples) - from
	total, anon, file := make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	for _, v := range s.samples[from:] {
		total, anon, file = append(total, v.Total), append(anon, v.Anon), append(file, v.File)
	}
	return RSSSample{Total: median(total), Anon: median(anon), File: median(file)}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// HWM is the process's high-water mark at the last sample.
func (s *RSS) HWM() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hwm
}

// Latest is the total of the last sample, 0 before the first.
func (s *RSS) Latest() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return 0
	}
	return s.samples[len(s.samples)-1].Total
}

// ManagerPIDs are the host PIDs of the operator's processes in the containers of
// the real node of cluster (command /manager, in the node's cgroup tree), of the
// pod with UID podUID only unless that is "".
func ManagerPIDs(cluster, podUID string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.HasPrefix(string(cmdline), "/manager\x00") {
			continue
		}
		cg, err := os.ReadFile(filepath.Join(d, "cgroup"))
		if err != nil || !strings.Contains(string(cg), "/appstack-node-"+cluster+"/") ||
			(podUID != "" && !strings.Contains(string(cg), "pod"+podUID)) {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(filepath.Base(d), &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
