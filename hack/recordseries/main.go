// Command recordseries scrapes a metrics endpoint at a fixed interval until it is
// interrupted and writes what it saw as promtool's input_series (the series of a
// `promtool test rules` file), for the rule tests in test/rules. A scrape that
// fails records every series as missing (_) at that step, as Prometheus sees a
// target that is down; a series a scrape does not serve is missing at that step too.
//
//	go run ./hack/recordseries -url http://127.0.0.1:18392/metrics -interval 15s \
//	    -keep 'appstack_.*|workqueue_depth' -only-for '^workqueue_' -only 'name="appstack"' \
//	    -labels job=appstack-operator -out series.yaml
//
// hack/record-series.sh runs it beside a scenario on the local cluster.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18392/metrics", "The metrics endpoint to scrape (plain HTTP).")
	interval := flag.Duration("interval", 15*time.Second, "Time between scrapes; the test file's interval.")
	keep := flag.String("keep", ".*", "Regular expression of the metric names to keep (whole name).")
	only := flag.String("only", "",
		"Regular expression a kept series (name and labels, as served) must match when its name matches -only-for.")
	onlyFor := flag.String("only-for", "^$", "Regular expression of the metric names -only applies to.")
	labels := flag.String("labels", "", "Labels added to every series, as Prometheus adds job and instance: k=v,k=v.")
	out := flag.String("out", "", "File to write the input_series to (stdout when empty).")
	flag.Parse()

	keepRE, err := regexp.Compile("^(?:" + *keep + ")$")
	if err != nil {
		log.Fatalf("-keep: %v", err)
	}
	onlyRE, err := regexp.Compile(*only)
	if err != nil {
		log.Fatalf("-only: %v", err)
	}
	onlyForRE, err := regexp.Compile(*onlyFor)
	if err != nil {
		log.Fatalf("-only-for: %v", err)
	}
	extra, err := parseLabels(*labels)
	if err != nil {
		log.Fatalf("-labels: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := &recording{series: map[string][]string{}}
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	client := &http.Client{Timeout: *interval / 2}
	for {
		samples, err := scrape(ctx, client, *url)
		if err != nil && ctx.Err() == nil {
			log.Printf("step %d: scrape failed, every series missing: %v", r.steps, err)
		}
		kept := map[string]string{}
		for s, v := range samples {
			name := s
			if i := strings.IndexByte(s, '{'); i >= 0 {
				name = s[:i]
			}
			if !keepRE.MatchString(name) || (onlyForRE.MatchString(name) && !onlyRE.MatchString(s)) {
				continue
			}
			kept[withLabels(s, extra)] = v
		}
		if ctx.Err() != nil {
			break
		}
		r.add(kept)
		select {
		case <-ctx.Done():
		case <-tick.C:
			continue
		}
		break
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		defer func() {
			if err := f.Close(); err != nil {
				log.Fatal(err)
			}
		}()
		w = f
	}
	if err := r.write(w); err != nil {
		log.Fatal(err)
	}
	log.Printf("recorded %d series over %d steps of %s", len(r.series), r.steps, *interval)
}

// recording holds, per series, its value at each step ("_" when missing).
type recording struct {
	steps  int
	series map[string][]string
}

func (r *recording) add(samples map[string]string) {
	for s, v := range samples {
		if _, ok := r.series[s]; !ok {
			r.series[s] = slices.Repeat([]string{"_"}, r.steps)
		}
		r.series[s] = append(r.series[s], v)
	}
	r.steps++
	for s, vs := range r.series {
		if len(vs) < r.steps {
			r.series[s] = append(vs, "_")
		}
	}
}

// write writes the series sorted, each value run in promtool's expanding notation:
// "v+0xN" is v N+1 times, "_xN" is N missing samples.
func (r *recording) write(w io.Writer) error {
	names := make([]string, 0, len(r.series))
	for s := range r.series {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, s := range names {
		if _, err := fmt.Fprintf(w, "  - series: '%s'\n    values: '%s'\n", s, compress(r.series[s])); err != nil {
			return err
		}
	}
	return nil
}

func compress(values []string) string {
	var parts []string
	for i := 0; i < len(values); {
		j := i
		for j < len(values) && values[j] == values[i] {
			j++
		}
		n := j - i
		switch {
		case values[i] == "_" && n > 1:
			parts = append(parts, fmt.Sprintf("_x%d", n))
		case values[i] == "_":
			parts = append(parts, "_")
		case n > 1:
			parts = append(parts, fmt.Sprintf("%s+0x%d", values[i], n-1))
		default:
			parts = append(parts, values[i])
		}
		i = j
	}
	return strings.Join(parts, " ")
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?)\s+(\S+)(?:\s+-?\d+)?$`)

// scrape reads the text exposition format: series (name and labels, as written)
// to value.
func scrape(ctx context.Context, client *http.Client, url string) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s: cannot read line %q", url, line)
		}
		if _, err := strconv.ParseFloat(m[2], 64); err != nil {
			return nil, fmt.Errorf("%s: value of %q: %w", url, line, err)
		}
		out[m[1]] = m[2]
	}
	return out, sc.Err()
}

func parseLabels(s string) ([][2]string, error) {
	var out [][2]string
	for kv := range strings.SplitSeq(s, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not k=v", kv)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// withLabels adds labels to a series written as name{a="b",...} or name.
func withLabels(series string, labels [][2]string) string {
	if len(labels) == 0 {
		return series
	}
	add := make([]string, 0, len(labels))
	for _, l := range labels {
		add = append(add, fmt.Sprintf("%s=%q", l[0], l[1]))
	}
	name, rest, found := strings.Cut(series, "{")
	if !found || strings.TrimSuffix(rest, "}") == "" {
		return name + "{" + strings.Join(add, ",") + "}"
	}
	return name + "{" + strings.TrimSuffix(rest, "}") + "," + strings.Join(add, ",") + "}"
}
