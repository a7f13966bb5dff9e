package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/appstack-dev/appstack-operator/internal/graph"
)

// asset is one embedded file, with its gzipped form (when smaller) and its
// ETag: the page revalidates each load (Cache-Control: no-cache) and gets 304s,
// so a new plugin build is never served stale.
type asset struct {
	body, gz    []byte
	etag, ctype string
}

// loadAssets reads the page (web/: index.html at /, every other file at
// /assets/NAME) and dagre with its license from internal/graph.
func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{
		"/assets/dagre.min.js":      newAsset("dagre.min.js", graph.DagreJS),
		"/assets/LICENSE-dagre.txt": newAsset("LICENSE-dagre.txt", graph.DagreLicense),
	}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "web/")
		route := "/assets/" + rel
		if rel == "index.html" {
			route = "/"
		}
		out[route] = newAsset(rel, body)
		return nil
	})
	return out, err
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: mime.TypeByExtension(path.Ext(name))}
	if a.ctype == "" {
		a.ctype = "application/octet-stream"
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a
}

// serveAsset serves the page and its files.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	a := s.assets[r.URL.Path]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
