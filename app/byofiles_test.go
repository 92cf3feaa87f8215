package app

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/internal/byo"
)

func TestSniffKind(t *testing.T) {
	st := make([]byte, 16)
	binary.LittleEndian.PutUint64(st, 100)
	copy(st[8:], `{"conv`)
	for _, c := range []struct {
		name string
		head []byte
		size int64
		want fileKind
	}{
		{"model.pth", []byte("PK\x03\x04\x00\x00"), 1 << 20, kindCheckpoint},
		{"renamed.jpg", []byte("PK\x03\x04\x00\x00"), 1 << 20, kindCheckpoint}, // content, not name
		{"old.pth", []byte{0x80, 0x02, 'c'}, 500, kindCheckpoint},
		{"m.safetensors", st, 108, kindCheckpoint},
		{"m.safetensors", st, 50, kindOther}, // the header claims more than the file holds
		{"photo.jpg", []byte{0xff, 0xd8, 0xff, 0xe0}, 1000, kindImage},
		{"model.pth", []byte{0xff, 0xd8, 0xff, 0xe0}, 1000, kindImage},
		{"a.png", []byte("\x89PNG\r\n\x1a\n...."), 1000, kindImage},
		{"a.gif", []byte("GIF89a"), 1000, kindImage},
		{"a.bmp", []byte("BM...."), 1000, kindImage},
		{"a.webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), 1000, kindImage},
		{"labels.txt", []byte("tench\ngoldfish\n"), 15, kindLabels},
		{"labels.json", []byte(`["cat", "dog"]`), 14, kindLabels},
		{"classes", []byte("chat\nchien\n"), 11, kindLabels},
		{"utf8.txt", []byte("caf\xc3"), 5, kindLabels}, // cut inside "é"
		{"notes.md", []byte("# hello"), 7, kindOther},
		{"bin.txt", []byte("ab\x00cd"), 5, kindOther},
		{"empty.txt", nil, 0, kindOther},
	} {
		if got := sniffKind(c.name, c.head, c.size); got != c.want {
			t.Errorf("%s % x: kind %d, want %d", c.name, c.head, got, c.want)
		}
	}
}

func TestModelFiles(t *testing.T) {
	ck, lb, err := modelFiles([]string{"labels.txt", "r18.pth"}, []fileKind{kindLabels, kindCheckpoint})
	if err != nil || ck != 1 || lb != 0 {
		t.Fatalf("checkpoint %d, labels %d, %v", ck, lb, err)
	}
	ck, lb, err = modelFiles([]string{"r18.pth"}, []fileKind{kindCheckpoint})
	if err != nil || ck != 0 || lb != -1 {
		t.Fatalf("alone: checkpoint %d, labels %d, %v", ck, lb, err)
	}
	for _, c := range []struct {
		names []string
		kinds []fileKind
		want  string
	}{
		{[]string{"a.pth", "b.pth"}, []fileKind{kindCheckpoint, kindCheckpoint}, "both checkpoints"},
		{[]string{"a.txt", "b.json", "c.pth"}, []fileKind{kindLabels, kindLabels, kindCheckpoint}, "both look like labels"},
		{[]string{"a.txt"}, []fileKind{kindLabels}, "no checkpoint"},
		{[]string{"cat.jpg", "c.pth"}, []fileKind{kindImage, kindCheckpoint}, "cat.jpg is an image"},
		{[]string{"x.md", "c.pth"}, []fileKind{kindOther, kindCheckpoint}, "x.md is neither"},
	} {
		if _, _, err := modelFiles(c.names, c.kinds); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.names, err, c.want)
		}
	}
}

// The page and the converter share the Cache Storage bucket.
func TestCacheNameShared(t *testing.T) {
	if modelCacheName != byo.CacheName {
		t.Fatalf("the page keeps weights in %q, the converter in %q", modelCacheName, byo.CacheName)
	}
}
