package app

import (
	"encoding/binary"
	"strings"
	"testing"
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

// The list of kept models comes from the cache's description headers:
// newest first, and anything unreadable or not naming its own entry is
// left out rather than offered.
func TestStoredList(t *testing.T) {
	a := storedModel{File: storedFile("aaaaaaaaaaaaaaaaaaaa"), Name: "résnet18 ☃.pth", Arch: "resnet18", Classes: 10, Added: 100}
	b := storedModel{File: storedFile("bbbbbbbbbbbbbbbb"), Name: "x.safetensors", Arch: "resnext50_32x4d", Classes: 1000, Added: 200}
	if a.File != "mine/aaaaaaaaaaaaaaaa.safetensors" || !isStoredFile(a.File) || isStoredFile(defaultModel) || isStoredFile("mine/../x.safetensors") {
		t.Fatalf("stored file names: %q", a.File)
	}
	h := encodeStored(a)
	for _, r := range h {
		if r > 0x7e {
			t.Fatalf("header value %q is not plain ASCII", h)
		}
	}
	wrong := b
	wrong.File = storedFile("cccccccccccccccc")
	got := storedList(map[string]string{
		a.File:                   h,
		b.File:                   encodeStored(b),
		"mine/dddd.safetensors":  encodeStored(wrong), // describes another entry
		"mine/eeee.safetensors":  "not base64!",
		"mine/ffff.safetensors":  "eyJmaWxlIjoiLi4vLi4vZXRjIn0=", // {"file":"../../etc"}
		wrong.File + ".unlisted": "",
	})
	if len(got) != 2 || got[0] != b || got[1] != a {
		t.Fatalf("list %+v, want b then a", got)
	}
}
