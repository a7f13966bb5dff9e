// Command mkimage writes a one-layer image as a docker-archive tar (the format of
// `docker save`), which `ctr -n k8s.io images import` loads without a Docker daemon
// and without pulling anything. The layer holds only the files named on the command
// line; timestamps are fixed, so the same inputs give the same image ID.
//
//	mkimage -o out.tar -name appstack.dev/pause:1 -file bin/appstack-pause:/pause:0755 -entrypoint /pause
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

var epoch = time.Unix(0, 0).UTC()

func main() {
	out := flag.String("o", "", "output tar")
	name := flag.String("name", "", "image reference, e.g. appstack.dev/pause:1")
	entrypoint := flag.String("entrypoint", "", "comma-separated entrypoint")
	cmd := flag.String("cmd", "", "comma-separated default command")
	user := flag.String("user", "", "user[:group] the image runs as")
	var files, links, dirs, envs list
	flag.Var(&files, "file", "host:image[:mode] file to add (repeatable)")
	flag.Var(&links, "symlink", "target:link symlink to add (repeatable)")
	flag.Var(&dirs, "dir", "directory to add, mode 1777 for /tmp, 0755 otherwise (repeatable)")
	flag.Var(&envs, "env", "KEY=VALUE (repeatable)")
	flag.Parse()
	if *out == "" || *name == "" {
		log.Fatal("-o and -name are required")
	}

	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	seen := map[string]bool{}
	var mkdir func(d string, mode int64)
	mkdir = func(d string, mode int64) {
		d = strings.Trim(path.Clean(d), "/")
		if d == "" || d == "." || seen[d] {
			return
		}
		mkdir(path.Dir(d), 0o755)
		seen[d] = true
		must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, ModTime: epoch, Format: tar.FormatPAX}))
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		mode := int64(0o755)
		if path.Clean(d) == "/tmp" {
			mode = 0o1777
		}
		mkdir(d, mode)
	}
	for _, f := range files {
		parts := strings.Split(f, ":")
		if len(parts) < 2 {
			log.Fatalf("-file %q: want host:image[:mode]", f)
		}
		mode := int64(0o644)
		if len(parts) > 2 {
			m, err := strconv.ParseInt(parts[2], 8, 32)
			must(err)
			mode = m
		}
		data, err := os.ReadFile(parts[0])
		must(err)
		dst := strings.TrimPrefix(path.Clean(parts[1]), "/")
		mkdir(path.Dir(dst), 0o755)
		must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dst, Mode: mode, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}))
		_, err = tw.Write(data)
		must(err)
	}
	for _, l := range links {
		target, link, ok := strings.Cut(l, ":")
		if !ok {
			log.Fatalf("-symlink %q: want target:link", l)
		}
		dst := strings.TrimPrefix(path.Clean(link), "/")
		mkdir(path.Dir(dst), 0o755)
		must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: dst, Linkname: target, Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX}))
	}
	must(tw.Close())
	diffID := sha256.Sum256(layer.Bytes())
	layerHex := hex.EncodeToString(diffID[:])

	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	env := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, envs...)
	config := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"Entrypoint": split(*entrypoint),
			"Cmd":        split(*cmd),
			"Env":        env,
			"User":       *user,
			"WorkingDir": "/",
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
		"history": []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "hack/tools/real-node/mkimage"}},
	}
	configJSON, err := json.Marshal(config)
	must(err)
	configSum := sha256.Sum256(configJSON)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{*name},
		"Layers":   []string{layerHex + "/layer.tar"},
	}})
	must(err)

	f, err := os.Create(*out + ".tmp")
	must(err)
	ow := tar.NewWriter(f)
	add := func(name string, data []byte) {
		must(ow.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}))
		_, err := ow.Write(data)
		must(err)
	}
	must(ow.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: layerHex + "/", Mode: 0o755, ModTime: epoch}))
	add(layerHex+"/layer.tar", layer.Bytes())
	add(configName, configJSON)
	add("manifest.json", manifest)
	must(ow.Close())
	must(f.Close())
	must(os.Rename(*out+".tmp", *out))
	fmt.Printf("%s sha256:%s\n", *name, strings.TrimSuffix(configName, ".json"))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
