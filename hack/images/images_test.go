package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testOptions use a stand-in busybox so the test needs nothing installed.
func testOptions(t *testing.T) *options {
	t.Helper()
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	bb := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(bb, []byte("stand-in busybox\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &options{
		root:               root,
		out:                t.TempDir(),
		arch:               "amd64",
		created:            time.Unix(0, 0).UTC(),
		busybox:            bb,
		applets:            []string{"sh", "wget", "sleep", "echo", "kill", "cat", "ls", "busybox"},
		skipStaticCheck:    true,
		testserverVersions: []string{"0.1.0"},
	}
}

// TestTestserverDigestIsStable builds the testserver binary and image twice,
// into fresh directories, and expects the same digest and the same archive
// bytes. (The Go build cache may serve the second binary; a build with an
// empty GOCACHE gives the same bytes too, see docs/images.md.)
func TestTestserverDigestIsStable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the testserver twice")
	}
	var digests []v1.Hash
	var sums [][32]byte
	for i := 0; i < 2; i++ {
		o := testOptions(t)
		res, err := writeTestserver(o, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 {
			t.Fatalf("%d archives, want 1", len(res))
		}
		b, err := os.ReadFile(filepath.Join(o.out, "testserver-0.1.0.tar"))
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, res[0].digest)
		sums = append(sums, sha256.Sum256(b))
		t.Logf("build %d: %s, %d bytes", i+1, res[0].digest, res[0].size)
	}
	if digests[0] != digests[1] {
		t.Errorf("digest changed between builds: %s vs %s", digests[0], digests[1])
	}
	if sums[0] != sums[1] {
		t.Errorf("archive bytes changed between builds")
	}
}

func TestTestserverImage(t *testing.T) {
	o := testOptions(t)
	res, err := writeTestserver(o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(o.out, "testserver-0.1.0.tar")
	tag, _ := name.NewTag("appstack.dev/testserver:0.1.0")
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("reading the archive back by its tag: %v", err)
	}
	if d, _ := img.Digest(); d != res[0].digest {
		t.Errorf("archive digest %s, printed %s", d, res[0].digest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "amd64" || cf.OS != "linux" || !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("platform/created: %s/%s %s", cf.OS, cf.Architecture, cf.Created)
	}
	c := cf.Config
	if c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/bin/testserver" {
		t.Errorf("user %q entrypoint %q", c.User, c.Entrypoint)
	}
	if c.Labels["org.opencontainers.image.source"] != sourceURL || c.Labels["org.opencontainers.image.version"] != "0.1.0" {
		t.Errorf("labels %v", c.Labels)
	}
	found := false
	for _, e := range c.Env {
		found = found || e == "TESTSERVER_VERSION=0.1.0"
	}
	if !found {
		t.Errorf("env %v lacks TESTSERVER_VERSION", c.Env)
	}

	entries := layerEntries(t, img)
	for p, want := range map[string]string{
		"bin/sh":         "busybox",
		"bin/wget":       "busybox",
		"bin/kill":       "busybox",
		"bin/busybox":    "",
		"bin/testserver": "",
	} {
		h, ok := entries[p]
		if !ok {
			t.Errorf("layer lacks %s", p)
			continue
		}
		if want != "" && (h.Typeflag != tar.TypeSymlink || h.Linkname != want) {
			t.Errorf("%s: type %c link %q, want a symlink to %s", p, h.Typeflag, h.Linkname, want)
		}
		if want == "" && (h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0) {
			t.Errorf("%s: type %c mode %o, want an executable file", p, h.Typeflag, h.Mode)
		}
	}
	if h := entries["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp/ missing or not 1777: %+v", h)
	}
	for p, h := range entries {
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s has mtime %s", p, h.ModTime)
		}
	}
}

func TestPauseImage(t *testing.T) {
	o := testOptions(t)
	res, err := writePause(o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(pauseRef)
	img, err := tarball.ImageFromPath(filepath.Join(o.out, "pause-3.10.tar"), &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Entrypoint[0] != "/pause" || cf.Config.User == "" || cf.Config.User[0] == '0' {
		t.Errorf("config %+v", cf.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Errorf("%d layers, want 1", len(layers))
	}
	entries := layerEntries(t, img)
	if h := entries["pause"]; h == nil || h.Typeflag != tar.TypeReg {
		t.Errorf("layer lacks /pause: %v", entries)
	}
	t.Logf("pause: %s, %d bytes", res[0].digest, res[0].size)
}

func TestLayerTar(t *testing.T) {
	files := []file{
		{path: "/b/x", mode: 0o644, data: []byte("x")},
		{path: "a", mode: 0o755, data: []byte("a")},
		{path: "/b/link", linkname: "x"},
	}
	mtime := time.Unix(0, 0)
	one, err := layerTar(files, mtime)
	if err != nil {
		t.Fatal(err)
	}
	// Input order does not matter.
	two, err := layerTar([]file{files[2], files[1], files[0]}, mtime)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one, two) {
		t.Error("layer depends on the order of its files")
	}
	var names []string
	for _, h := range tarHeaders(t, bytes.NewReader(one)) {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s owned by %d:%d %q", h.Name, h.Uid, h.Gid, h.Uname)
		}
	}
	want := []string{"a", "b/", "b/link", "b/x"}
	if len(names) != len(want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %q, want %q", names, want)
		}
	}
	if _, err := layerTar([]file{{path: "/a"}, {path: "a"}}, mtime); err == nil {
		t.Error("a duplicate path was accepted")
	}
}

func TestCheckStatic(t *testing.T) {
	o := testOptions(t)
	bin, err := goBuild(filepath.Join(o.root, "hack", "images"), "./cmd/pause", filepath.Join(t.TempDir(), "pause"), "amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkStatic(b, "amd64", "pause"); err != nil {
		t.Errorf("static amd64 pause rejected: %v", err)
	}
	if err := checkStatic(b, "arm64", "pause"); err == nil {
		t.Error("an amd64 binary was accepted for arm64")
	}
	if err := checkStatic([]byte("not elf"), "amd64", "x"); err == nil {
		t.Error("a non-ELF file was accepted")
	}
	if _, err := os.Stat("/bin/sh"); err == nil && runtime.GOARCH == "amd64" {
		// The host's shell is dynamically linked on every distribution this runs on.
		if data, err := os.ReadFile("/bin/sh"); err == nil && bytes.Contains(data, []byte("ld-linux")) {
			if err := checkStatic(data, "amd64", "/bin/sh"); err == nil {
				t.Error("a dynamically linked /bin/sh was accepted")
			}
		}
	}
}

func layerEntries(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range tarHeaders(t, rc) {
			out[h.Name] = h
		}
		rc.Close()
	}
	return out
}

// tarHeaders are the headers of a tar stream's entries, in order.
func tarHeaders(t *testing.T, r io.Reader) []*tar.Header {
	t.Helper()
	var out []*tar.Header
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}
