package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// file is one entry of an image layer. Paths are absolute inside the image.
type file struct {
	path     string
	mode     int64 // permission bits (and sticky bit for /tmp)
	dir      bool
	linkname string // a symlink when set
	data     []byte
	uid, gid int
}

// layerTar returns a deterministic tar of files: entries sorted by path,
// parent directories added (0755, owner 0:0), every time stamp set to mtime.
func layerTar(files []file, mtime time.Time) ([]byte, error) {
	byPath := map[string]file{}
	for _, f := range files {
		p := path.Clean("/" + f.path)
		if p == "/" {
			return nil, fmt.Errorf("layer entry with empty path")
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("layer entry %s twice", p)
		}
		f.path = p
		byPath[p] = f
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = file{path: d, dir: true, mode: 0o755}
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := byPath[p]
		hdr := &tar.Header{
			Name:    strings.TrimPrefix(p, "/"),
			Mode:    f.mode,
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		switch {
		case f.dir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case f.linkname != "":
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = f.linkname
			hdr.Mode = 0o777
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// spec describes one image: a single layer on an empty base.
type spec struct {
	files   []file
	config  v1.Config
	created time.Time
	arch    string
	// createdBy is the history line (what made the layer).
	createdBy string
}

// build assembles the image. Same spec, same digest: the layer tar, its gzip
// and the config carry no time but spec.created.
func build(s spec) (v1.Image, error) {
	raw, err := layerTar(s.files, s.created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	})
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: s.created.UTC()}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: s.arch,
		OS:           "linux",
		Created:      created,
		Config:       s.config,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: s.createdBy,
			Comment:   "appstack hack/images",
		},
	})
}

// readFile returns the bytes of path, with a hint when it is missing.
func readFile(p, hint string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		if os.IsNotExist(err) && hint != "" {
			return nil, fmt.Errorf("%w (%s)", err, hint)
		}
		return nil, err
	}
	return b, nil
}

// checkStatic fails unless data is a statically linked ELF executable for
// arch: a dynamic busybox (Debian's busybox package, not busybox-static)
// would start nowhere in an image without a libc.
func checkStatic(data []byte, arch, what string) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %w", what, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the image has no libc (Debian: install busybox-static, not busybox)", what)
		}
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM, "riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390}
	if m, ok := want[arch]; ok && f.Machine != m {
		return fmt.Errorf("%s is for %s, the image for %s", what, f.Machine, arch)
	}
	return nil
}
