package utils

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Scrape is the /metrics page the operator serves in plain HTTP at addr
// (host:port; --metrics-secure=false).
func Scrape(addr string) (string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// Sample is one line of a metrics page in the Prometheus text format: its labels
// as written between the braces ("" for none) and its value.
type Sample struct {
	Labels string
	Value  float64
}

// Samples are the samples of metric on page, in the page's order.
func Samples(page, metric string) []Sample {
	var out []Sample
	for _, l := range strings.Split(page, "\n") {
		rest, ok := strings.CutPrefix(l, metric)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		var labels string
		if rest[0] == '{' {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out = append(out, Sample{Labels: labels, Value: v})
	}
	return out
}
