package convert

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model"
)

// The readers of TF.js models, npm tarballs and labels files against
// hostile inputs: each must fail fast, with bounded memory and an error
// naming the file, never hang or read what lies outside the checkpoint.

// maxGrowth is the heap growth a reader may cause on a hostile input.
const maxGrowth = 64 << 20

// bounded runs read in a goroutine and fails the test when it takes longer
// than limit or grows the heap by more than maxGrowth; it returns read's
// error.
func bounded(t *testing.T, limit time.Duration, read func() error) error {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	done := make(chan error, 1)
	go func() { done <- read() }()
	deadline := time.After(limit)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	peak := uint64(0)
	for {
		select {
		case err := <-done:
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			if peak > maxGrowth {
				t.Fatalf("heap grew by %d MB (limit %d MB)", peak>>20, maxGrowth>>20)
			}
			return err
		case <-deadline:
			t.Fatalf("still reading after %v", limit)
		case <-tick.C:
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			if peak > maxGrowth {
				t.Fatalf("heap grew by %d MB while reading (limit %d MB)", peak>>20, maxGrowth>>20)
			}
		}
	}
}

// wantErr fails unless err is an error containing every one of parts.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q, want one containing %q", err, parts)
		}
	}
	t.Log(err)
}

// hostileDir writes the tiny model into a fresh folder and returns the
// fixture, the model.json path and the shard names.
func hostileDir(t *testing.T) (*kerasFixture, string, []string) {
	fx := newKerasFixture(t, tinyArch(model.Bottleneck, [4]int{1, 1, 1, 1}, model.V1), "caffe", 1e-3)
	dir := filepath.Join(t.TempDir(), "Tiny")
	writeDir(t, dir, fx.files(t))
	return fx, filepath.Join(dir, "model.json"), fx.shardPaths()
}

// replaceWithSymlink turns path into a symbolic link to target.
func replaceWithSymlink(t *testing.T, path, target string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// TestTFJSShardDevZero: a shard that is a link to /dev/zero is refused at
// once (it leaves the model's folder, and is no regular file), without
// reading it.
func TestTFJSShardDevZero(t *testing.T) {
	_, mj, shards := hostileDir(t)
	replaceWithSymlink(t, filepath.Join(filepath.Dir(mj), shards[0]), "/dev/zero")
	err := bounded(t, 10*time.Second, func() error { _, err := Read(mj); return err })
	wantErr(t, err, "shard "+shards[0], "escapes")
}

// TestTFJSShardFIFO: a shard that is a FIFO is refused without waiting for
// a writer.
func TestTFJSShardFIFO(t *testing.T) {
	_, mj, shards := hostileDir(t)
	p := filepath.Join(filepath.Dir(mj), shards[1])
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(p); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	err := bounded(t, 5*time.Second, func() error { _, err := Read(mj); return err })
	wantErr(t, err, "shard "+shards[1], "not a regular file (a FIFO)")
}

// TestTFJSShardOutside: a shard that links to a file outside the model's
// folder is refused (even one of the right size); one that links inside it
// is read.
func TestTFJSShardOutside(t *testing.T) {
	_, mj, shards := hostileDir(t)
	dir := filepath.Dir(mj)
	replaceWithSymlink(t, filepath.Join(dir, shards[0]), "/etc/passwd")
	_, err := Read(mj)
	wantErr(t, err, "shard "+shards[0], "escapes")

	// The same shard, of the right size, outside the folder, through ../.
	fx, mj, shards := hostileDir(t)
	dir = filepath.Dir(mj)
	outside := filepath.Join(filepath.Dir(dir), "outside.bin")
	if err := os.WriteFile(outside, fx.data[:fx.shard], 0o644); err != nil {
		t.Fatal(err)
	}
	replaceWithSymlink(t, filepath.Join(dir, shards[0]), "../outside.bin")
	_, err = Read(mj)
	wantErr(t, err, "shard "+shards[0], "escapes")

	// Inside the folder, a link is followed.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(outside, filepath.Join(dir, "sub", "real.bin")); err != nil {
		t.Fatal(err)
	}
	replaceWithSymlink(t, filepath.Join(dir, shards[0]), "sub/real.bin")
	if _, err := Read(mj); err != nil {
		t.Fatalf("shard linked inside the model's folder: %v", err)
	}
}

// TestTFJSShardSizes: a shard that is longer or shorter than the manifest
// needs, or a directory, is an error naming it.
func TestTFJSShardSizes(t *testing.T) {
	for _, c := range []struct {
		name  string
		alter func(p string) error
		want  string
	}{
		{"longer", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			f.Write([]byte{0})
			return f.Close()
		}, "has 1001 bytes, expected 1000"},
		{"shorter", func(p string) error { return os.Truncate(p, 999) }, "has 999 bytes, expected 1000"},
		{"sparse 1 GB", func(p string) error { return os.Truncate(p, 1<<30) }, "expected 1000"},
		{"directory", func(p string) error {
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Mkdir(p, 0o755)
		}, "not a regular file (a directory)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, mj, shards := hostileDir(t)
			if err := c.alter(filepath.Join(filepath.Dir(mj), shards[1])); err != nil {
				t.Fatal(err)
			}
			err := bounded(t, 10*time.Second, func() error { _, err := Read(mj); return err })
			wantErr(t, err, "shard "+shards[1], c.want)
		})
	}
}

// TestTFJSLabelsOutside: a labels.json beside model.json or in ../assets
// that links out of the package is refused, not parsed; one with more names
// than the classifier has classes is an error.
func TestTFJSLabelsOutside(t *testing.T) {
	for _, where := range []string{"labels.json", "../assets/labels.json"} {
		t.Run(where, func(t *testing.T) {
			_, mj, _ := hostileDir(t)
			p := filepath.Join(filepath.Dir(mj), filepath.FromSlash(where))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc/passwd", p); err != nil {
				t.Fatal(err)
			}
			ck, err := Read(mj)
			if err == nil {
				t.Fatalf("labels %q read through a link to /etc/passwd", ck.Labels)
			}
			wantErr(t, err, "labels.json", "escapes")
		})
	}
	_, mj, _ := hostileDir(t)
	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprint("c", i)
	}
	js, _ := json.Marshal(names)
	if err := os.WriteFile(filepath.Join(filepath.Dir(mj), "labels.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(mj)
	wantErr(t, err, "labels.json", "11 labels for the classifier's 10 classes")
}

// TestReadLabelsHostile: -labels files that are FIFOs, too large, or list
// too many names are refused.
func TestReadLabelsHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	err := bounded(t, 5*time.Second, func() error { _, err := ReadLabels(fifo); return err })
	wantErr(t, err, fifo, "FIFO")
	big := filepath.Join(dir, "big.txt")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a\n"), maxLabelsBytes/2+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadLabels(big)
	wantErr(t, err, big, "more than the 4194304 allowed")
	many := filepath.Join(dir, "many.txt")
	if err := os.WriteFile(many, bytes.Repeat([]byte("a\n"), maxLabels+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadLabels(many)
	wantErr(t, err, many, "65537 labels, more than the 65536 allowed")
}

// tarItem is one entry of a test tarball; data shorter than hdr.Size cuts
// the archive short there.
type tarItem struct {
	hdr  tar.Header
	data []byte
}

// reg is a regular file entry.
func reg(name string, b []byte) tarItem {
	return tarItem{tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}, b}
}

// writeTarball writes the entries as a gzipped tar (the last one may be
// cut short) and returns its path.
func writeTarball(t *testing.T, items []tarItem) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, it := range items {
		h := it.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(it.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil && !strings.Contains(err.Error(), "missed writing") {
		t.Fatal(err)
	}
	gz.Close()
	p := filepath.Join(t.TempDir(), "hostile-1.0.0.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyPackage is the tiny model as npm package entries.
func tinyPackage(t *testing.T) ([]tarItem, *kerasFixture) {
	fx := newKerasFixture(t, tinyArch(model.Bottleneck, [4]int{1, 1, 1, 1}, model.V1), "caffe", 1e-3)
	files := fx.files(t)
	items := []tarItem{reg("package/package.json", []byte(`{"name":"tiny"}`)), reg("package/Tiny/model.json", files["model.json"])}
	for _, p := range fx.shardPaths() {
		items = append(items, reg("package/Tiny/"+p, files[p]))
	}
	return items, fx
}

// TestNPMTarballHostile: names that leave the package, entries whose
// declared size is huge (over the cap, or under it with the data cut
// short), and link entries are refused, fast and with bounded memory.
func TestNPMTarballHostile(t *testing.T) {
	items, fx := tinyPackage(t)
	if _, err := Read(writeTarball(t, items)); err != nil {
		t.Fatalf("the untouched package: %v", err)
	}
	shard := "package/Tiny/" + fx.shardPaths()[1]
	huge := func(name string, size int64) tarItem {
		return tarItem{tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}, []byte("not that much")}
	}
	for _, c := range []struct {
		name  string
		alter func([]tarItem) []tarItem
		want  []string
	}{
		{"traversal", func(it []tarItem) []tarItem {
			return append(it, reg("package/../../etc/cron.d/evil", []byte("* * * * * root sh")))
		}, []string{`"package/../../etc/cron.d/evil"`, "leaves the package"}},
		{"absolute", func(it []tarItem) []tarItem {
			return append(it, reg("/etc/evil", []byte("x")))
		}, []string{`"/etc/evil"`, "absolute"}},
		{"traversal model.json", func(it []tarItem) []tarItem {
			return append(it[:1], append([]tarItem{reg("../model.json", it[1].data)}, it[2:]...)...)
		}, []string{`"../model.json"`}},
		{"huge declared size", func(it []tarItem) []tarItem {
			return append(it, huge("package/big.bin", 3<<29))
		}, []string{`"package/big.bin"`, "declares 1610612736 bytes"}},
		{"huge shard cut short", func(it []tarItem) []tarItem {
			return append(it, huge("package/Tiny/zzz.bin", 900<<20))
		}, []string{`"package/Tiny/zzz.bin"`, "unexpected EOF"}},
		{"symlink shard", func(it []tarItem) []tarItem {
			for i := range it {
				if it[i].hdr.Name == shard {
					it[i] = tarItem{tar.Header{Name: shard, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd", Mode: 0o777}, nil}
				}
			}
			return it
		}, []string{shard, "is a link", "not followed"}},
		{"hard link labels", func(it []tarItem) []tarItem {
			return append(it, tarItem{tar.Header{Name: "package/assets/labels.json", Typeflag: tar.TypeLink, Linkname: "package/package.json", Mode: 0o644}, nil})
		}, []string{"package/assets/labels.json", "is a link"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, _ := tinyPackage(t)
			tgz := writeTarball(t, c.alter(items))
			err := bounded(t, 10*time.Second, func() error { _, err := Read(tgz); return err })
			wantErr(t, err, append([]string{tgz}, c.want...)...)
		})
	}
}

// TestTarSparse: sparse entries (old GNU, or PAX records, which archive/tar
// hands over as TypeReg) are recognised, so that none is extracted.
func TestTarSparse(t *testing.T) {
	for _, h := range []*tar.Header{{Typeflag: tar.TypeGNUSparse}, {Typeflag: tar.TypeReg, PAXRecords: map[string]string{"GNU.sparse.major": "1"}}} {
		if !isSparse(h) {
			t.Errorf("%+v not sparse", h)
		}
		if err := checkTarEntry("x", tarEntry{typ: tar.TypeGNUSparse}); err == nil || !strings.Contains(err.Error(), "sparse") {
			t.Errorf("sparse entry: %v", err)
		}
	}
	if isSparse(&tar.Header{Typeflag: tar.TypeReg, PAXRecords: map[string]string{"path": "x"}}) {
		t.Error("plain PAX entry taken for sparse")
	}
}

// TestCheckpointPathNotRegular: a checkpoint path that is a FIFO or a
// character device (/dev/zero) is refused at once by Read and by each
// format's reader, without blocking on it or reading it.
func TestCheckpointPathNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.pth")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	zero := filepath.Join(dir, "model.safetensors")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		read func(string) (*Checkpoint, error)
	}{{"Read", Read}, {"ReadPTH", ReadPTH}, {"ReadSafetensors", ReadSafetensors}, {"ReadNPMTarball", ReadNPMTarball}} {
		for path, want := range map[string]string{fifo: "not a regular file (a FIFO)", zero: "not a regular file (a character device)"} {
			t.Run(c.name+"/"+filepath.Base(path), func(t *testing.T) {
				err := bounded(t, 5*time.Second, func() error { _, err := c.read(path); return err })
				wantErr(t, err, path, want)
			})
		}
	}
}
