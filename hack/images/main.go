// Command appstack-images writes the project's container images as archives
// that `ctr -n k8s.io images import` loads, with no Docker daemon: each image
// is one layer on an empty base, built with go-containerregistry.
//
//	appstack.dev/pause:3.10              the pod sandbox (cmd/pause)
//	appstack.dev/testserver:<versions>   busybox applets + an HTTP test server (cmd/testserver)
//	appstack-operator:<tag>              the operator manager (./cmd of the main module)
//
// Run it from the repository (make images, or cd hack/images && go run .).
// Same inputs give the same digests: every time stamp is the fixed creation
// time (SOURCE_DATE_EPOCH, default 0) and binaries are built with -trimpath.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	sourceURL    = "https://github.com/appstack-dev/appstack-operator"
	pauseRef     = "appstack.dev/pause:3.10"
	testserverRp = "appstack.dev/testserver"
	nonroot      = "65532:65532"
	defaultPath  = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

type options struct {
	root               string // repository root
	out                string
	arch               string
	created            time.Time
	busybox            string
	applets            []string // nil: ask the busybox binary (--list)
	skipStaticCheck    bool     // tests use a stand-in busybox
	operatorRef        string
	operatorLdflags    string
	testserverVersions []string
}

func main() {
	var o options
	var only, versions string
	flag.StringVar(&o.root, "root", "", "repository root (default: found upward from the working directory)")
	flag.StringVar(&o.out, "out", "", "directory for the archives (default: <root>/bin/images)")
	flag.StringVar(&o.arch, "arch", runtime.GOARCH, "GOARCH of the images")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "a static busybox binary for the testserver image (Debian: busybox-static)")
	flag.StringVar(&o.operatorRef, "operator-image", "appstack-operator:0.1.0", "name:tag of the operator image")
	flag.StringVar(&o.operatorLdflags, "operator-ldflags", "", "extra -ldflags for the operator's build (the version stamps of hack/version.sh ldflags)")
	flag.StringVar(&versions, "testserver-versions", "0.1.0,0.2.0", "tags of the testserver image, one archive each; they differ only in TESTSERVER_VERSION, for rolling updates")
	flag.StringVar(&only, "only", "pause,testserver,operator", "which images to write")
	flag.Parse()

	if err := run(&o, only, versions); err != nil {
		fmt.Fprintln(os.Stderr, "appstack-images:", err)
		os.Exit(1)
	}
}

func run(o *options, only, versions string) error {
	if o.root == "" {
		r, err := findRoot()
		if err != nil {
			return err
		}
		o.root = r
	}
	if o.out == "" {
		o.out = filepath.Join(o.root, "bin", "images")
	}
	created, err := creationTime()
	if err != nil {
		return err
	}
	o.created = created
	o.testserverVersions = splitList(versions)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "appstack-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	for _, which := range splitList(only) {
		var results []result
		var err error
		switch which {
		case "pause":
			results, err = writePause(o, work)
		case "testserver":
			results, err = writeTestserver(o, work)
		case "operator":
			results, err = writeOperator(o, work)
		default:
			err = fmt.Errorf("unknown image %q (want pause, testserver or operator)", which)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", which, err)
		}
		for _, r := range results {
			fmt.Printf("%-42s %-36s %7.1f MiB  %s  id %s\n", r.ref, r.path, float64(r.size)/(1<<20), r.digest, r.configDigest)
		}
	}
	return nil
}

// result is one written archive.
type result struct {
	ref, path            string
	size                 int64
	digest, configDigest v1.Hash
}

func writePause(o *options, work string) ([]result, error) {
	bin, err := goBuild(filepath.Join(o.root, "hack", "images"), "./cmd/pause", filepath.Join(work, "pause"), o.arch, "")
	if err != nil {
		return nil, err
	}
	data, err := readFile(bin, "")
	if err != nil {
		return nil, err
	}
	img, err := build(spec{
		files:   []file{{path: "/pause", mode: 0o755, data: data}},
		created: o.created,
		arch:    o.arch,
		config: v1.Config{
			Entrypoint: []string{"/pause"},
			User:       "65535:65535",
			WorkingDir: "/",
			Env:        []string{defaultPath},
			Labels:     labels("appstack pause", "Holds a pod's namespaces; reaps zombies as PID 1.", "3.10"),
		},
		createdBy: "go build ./hack/images/cmd/pause",
	})
	if err != nil {
		return nil, err
	}
	r, err := writeArchive(o.out, pauseRef, "pause-3.10.tar", img)
	if err != nil {
		return nil, err
	}
	return []result{r}, nil
}

func writeTestserver(o *options, work string) ([]result, error) {
	bin, err := goBuild(filepath.Join(o.root, "hack", "images"), "./cmd/testserver", filepath.Join(work, "testserver"), o.arch, "")
	if err != nil {
		return nil, err
	}
	var out []result
	for _, version := range o.testserverVersions {
		img, err := testserverImage(o, bin, version)
		if err != nil {
			return nil, err
		}
		r, err := writeArchive(o.out, testserverRp+":"+version, "testserver-"+version+".tar", img)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// testserverImage is the testserver binary plus busybox and its applets
// (sh, wget, sleep, kill, ...) as symlinks in /bin, running as 65532.
func testserverImage(o *options, serverBin, version string) (v1.Image, error) {
	bb, err := readFile(o.busybox, "install the Debian package busybox-static, or pass -busybox")
	if err != nil {
		return nil, err
	}
	if err := checkStatic(bb, o.arch, o.busybox); err != nil && !o.skipStaticCheck {
		return nil, err
	}
	applets := o.applets
	if applets == nil {
		if applets, err = busyboxApplets(o.busybox); err != nil {
			return nil, err
		}
	}
	server, err := readFile(serverBin, "")
	if err != nil {
		return nil, err
	}
	files := []file{
		{path: "/bin/busybox", mode: 0o755, data: bb},
		{path: "/bin/testserver", mode: 0o755, data: server},
		{path: "/etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\n")},
		{path: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{path: "/home/nonroot", dir: true, mode: 0o755, uid: 65532, gid: 65532},
		{path: "/root", dir: true, mode: 0o700},
		{path: "/tmp", dir: true, mode: 0o1777},
		{path: "/var/www", dir: true, mode: 0o755},
	}
	for _, a := range applets {
		if a == "busybox" || a == "testserver" || strings.Contains(a, "/") {
			continue
		}
		files = append(files, file{path: "/bin/" + a, linkname: "busybox"})
	}
	return build(spec{
		files:   files,
		created: o.created,
		arch:    o.arch,
		config: v1.Config{
			Entrypoint:   []string{"/bin/testserver"},
			User:         nonroot,
			WorkingDir:   "/",
			Env:          []string{defaultPath, "HOME=/home/nonroot", "TESTSERVER_VERSION=" + version},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Labels:       labels("appstack testserver", "busybox applets and an HTTP server that serves a directory, echoes and burns CPU.", version),
		},
		createdBy: "go build ./hack/images/cmd/testserver; busybox-static applets",
	})
}

func writeOperator(o *options, work string) ([]result, error) {
	bin, err := goBuild(o.root, "./cmd", filepath.Join(work, "manager"), o.arch, o.operatorLdflags)
	if err != nil {
		return nil, err
	}
	data, err := readFile(bin, "")
	if err != nil {
		return nil, err
	}
	ref, err := name.NewTag(o.operatorRef)
	if err != nil {
		return nil, fmt.Errorf("-operator-image: %w", err)
	}
	img, err := build(spec{
		files: []file{
			{path: "/manager", mode: 0o755, data: data},
			{path: "/tmp", dir: true, mode: 0o1777},
		},
		created: o.created,
		arch:    o.arch,
		config: v1.Config{
			Entrypoint: []string{"/manager"},
			User:       nonroot,
			WorkingDir: "/",
			Env:        []string{defaultPath},
			Labels:     labels("appstack-operator", "The appstack operator: reconciles AppStack resources.", ref.TagStr()),
		},
		createdBy: "CGO_ENABLED=0 go build ./cmd",
	})
	if err != nil {
		return nil, err
	}
	r, err := writeArchive(o.out, o.operatorRef, "operator-"+ref.TagStr()+".tar", img)
	if err != nil {
		return nil, err
	}
	return []result{r}, nil
}

func labels(title, description, version string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.source":      sourceURL,
		"org.opencontainers.image.url":         sourceURL,
		"org.opencontainers.image.title":       title,
		"org.opencontainers.image.description": description,
		"org.opencontainers.image.version":     version,
	}
}

// writeArchive writes img tagged ref as a docker-archive tarball (manifest.json,
// config, gzip layers), the format ctr imports with the tag kept.
func writeArchive(dir, ref, file string, img v1.Image) (result, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return result{}, err
	}
	dst := filepath.Join(dir, file)
	tmp := dst + ".partial"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return result{}, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return result{}, err
	}
	st, err := os.Stat(dst)
	if err != nil {
		return result{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return result{}, err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return result{}, err
	}
	return result{ref: ref, path: relPath(dst), size: st.Size(), digest: d, configDigest: cd}, nil
}

// goBuild builds a static linux binary of pkg (relative to dir, the module), with
// ldflags added to -s -w.
func goBuild(dir, pkg, out, arch, ldflags string) (string, error) {
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w "+ldflags, "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stderr = os.Stderr
	cmd.Stdout = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %w", pkg, dir, err)
	}
	return out, nil
}

// busyboxApplets asks the binary which applets it has.
func busyboxApplets(bin string) ([]string, error) {
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", bin, err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)
	if len(applets) == 0 {
		return nil, fmt.Errorf("%s --list printed no applets", bin)
	}
	return applets, nil
}

// creationTime is SOURCE_DATE_EPOCH when set, else the Unix epoch.
func creationTime() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// findRoot walks up from the working directory to the directory holding hack/images/go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "hack", "images", "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no hack/images/go.mod above %s; pass -root", dir)
		}
	}
}

func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
