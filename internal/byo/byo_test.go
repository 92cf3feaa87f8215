package byo

import "testing"

// The list of kept models comes from the cache's description headers:
// newest first, and anything unreadable or not naming its own entry is
// left out rather than offered.
func TestList(t *testing.T) {
	a := Stored{File: File(ID("aa", nil)), Name: "résnet18 ☃.pth", Arch: "resnet18", Classes: 10, Added: 100}
	b := Stored{File: File(ID("aa", []byte("cat\n"))), Name: "x.safetensors", Arch: "resnext50_32x4d", Classes: 1000, Added: 200}
	if a.File == b.File || len(a.File) != len("mine/")+16+len(".safetensors") || !IsStored(a.File) {
		t.Fatalf("stored file names %q, %q", a.File, b.File)
	}
	for _, f := range []string{"resnet50-v1-int8.safetensors", "mine/../x.safetensors", "mine/.x.safetensors", "mine/a/b.safetensors", "mine/x.bin"} {
		if IsStored(f) {
			t.Errorf("%q taken for a converted model", f)
		}
	}
	h := Encode(a)
	for _, r := range h {
		if r > 0x7e {
			t.Fatalf("header value %q is not plain ASCII", h)
		}
	}
	wrong := b
	wrong.File = File("cccccccccccccccc")
	got := List(map[string]string{
		a.File:                  h,
		b.File:                  Encode(b),
		"mine/dddd.safetensors": Encode(wrong), // describes another entry
		"mine/eeee.safetensors": "not base64!",
		"mine/ffff.safetensors": "eyJmaWxlIjoiLi4vLi4vZXRjIn0=", // {"file":"../../etc"}
	})
	if len(got) != 2 || got[0].File != b.File || got[1].File != a.File || got[1].Name != a.Name {
		t.Fatalf("list %+v, want b then a", got)
	}
}
