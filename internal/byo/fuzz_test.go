package byo

import "testing"

// FuzzDecode feeds Decode header values as another page script (same
// origin) could have stored them: it never panics, accepts only
// descriptions of converted-model files, and what it accepts encodes back
// to a value that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(Stored{File: File("0123456789abcdef"), Name: "r18.pth", Arch: "resnet18", Classes: 10}))
	f.Add("eyJmaWxlIjoiLi4vLi4vZXRjIn0=")
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, v string) {
		m, ok := Decode(v)
		if !ok {
			return
		}
		if !IsStored(m.File) {
			t.Fatalf("accepted %q", m.File)
		}
		again, ok := Decode(Encode(m))
		if !ok || again != m {
			t.Fatalf("round trip of %+v gave %+v, %v", m, again, ok)
		}
		if l := List(map[string]string{m.File: v}); len(l) != 1 {
			t.Fatalf("List dropped %+v", m)
		}
	})
}
