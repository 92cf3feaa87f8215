package convert

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImageNetLabels checks the embedded list against known torchvision
// classes.
func TestImageNetLabels(t *testing.T) {
	l := ImageNetLabels()
	if len(l) != 1000 {
		t.Fatalf("%d labels", len(l))
	}
	for i, want := range map[int]string{0: "tench", 285: "Egyptian cat", 967: "espresso", 999: "toilet tissue"} {
		if l[i] != want {
			t.Errorf("label %d = %q, want %q", i, l[i], want)
		}
	}
	for i, s := range l {
		if s == "" || strings.TrimSpace(s) != s {
			t.Errorf("label %d = %q", i, s)
		}
	}
}

// TestParseLabels covers the three label file formats and their errors.
func TestParseLabels(t *testing.T) {
	want := []string{"cat", "dog", "sea lion"}
	for _, in := range []string{
		"cat\ndog\nsea lion\n",
		"cat\r\ndog\r\nsea lion\r\n\n",
		`["cat", "dog", "sea lion"]`,
		`{"1": "dog", "0": "cat", "2": "sea lion"}`,
	} {
		got, err := ParseLabels([]byte(in))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseLabels(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "cat\n\ndog\n", `["cat", 3]`, `{"0": "cat", "2": "dog"}`, `{"x": "cat"}`, `["cat", ""]`} {
		if got, err := ParseLabels([]byte(in)); err == nil {
			t.Errorf("ParseLabels(%q) = %q, want an error", in, got)
		}
	}
	path := filepath.Join(t.TempDir(), "labels.txt")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadLabels(path); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("ReadLabels = %q, %v", got, err)
	}
	if _, err := ReadLabels(path + ".missing"); err == nil {
		t.Error("missing file accepted")
	}
}
