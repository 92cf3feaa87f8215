package app

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// The page shows one input at a time: its answer or its errors, never
// another input's (controller.go).

// snapshots records every state the controller announces.
type snapshots struct {
	mu   sync.Mutex
	list []pageState
}

// watch makes the rig's controller record its snapshots.
func (r *rig) watch() *snapshots {
	s := &snapshots{}
	r.c.attach(nil, func() {
		st := r.c.state()
		s.mu.Lock()
		s.list = append(s.list, st)
		s.mu.Unlock()
	})
	return s
}

// since returns the snapshots from index i on.
func (s *snapshots) since(i int) []pageState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pageState(nil), s.list[i:]...)
}

func (s *snapshots) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.list)
}

// A new input clears the answer before it is even read; an input that
// fails leaves its errors alone on the page, with nothing to run again.
func TestControllerNewInputClearsAnswer(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10}
	r := newRig(t, rigOptions{gpu: noAdapter, cpu: cpu})
	r.started()
	r.c.takeFiles(images(t, 2))
	s := r.settle()
	answered(t, s, 2, "cpu")
	if s.Input != 1 {
		t.Errorf("input number %d after the first input, want 1", s.Input)
	}

	r.c.takeFiles([]fileSource{testFile{name: "notes.txt", data: []byte("not an image")}})
	if s := r.c.state(); len(s.Images) != 0 || len(s.Problems) != 0 || s.Shown.Engine != "" || s.Measured || s.Input != 2 ||
		s.Rows[0].Shape != "[1, 3, 224, 224]" {
		t.Errorf("just after a new input: %s; input %d, inspector measured %v at %s", brief(s), s.Input, s.Measured, s.Rows[0].Shape)
	}
	s = r.settle()
	if len(s.Images) != 0 || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "notes.txt") {
		t.Fatalf("after a bad file: %s", brief(s))
	}
	// Run again has nothing to run: the bad file is the input now.
	runs := cpu.runs.Load()
	r.c.rerun()
	if s := r.settle(); len(s.Images) != 0 || cpu.runs.Load() != runs {
		t.Errorf("run again after a bad file: %s; %d runs, want %d", brief(s), cpu.runs.Load(), runs)
	}
	// The next good input clears the error.
	r.c.takeFiles(images(t, 1))
	s = r.settle()
	answered(t, s, 1, "cpu")
	if len(s.Problems) != 0 {
		t.Errorf("the bad file's error outlived it: %q", s.Problems)
	}
	// An empty drop is an input too: the page is back to ready (the
	// model is loaded), with the drop's error only.
	r.c.emptyDrop()
	if s := r.c.state(); len(s.Images) != 0 || len(s.Problems) != 1 || s.Status != statusReady {
		t.Errorf("an empty drop after an answer: %s", brief(s))
	}
}

// A run whose input has been replaced shows neither its answer nor its
// errors, not even for a moment.
func TestControllerDropsStaleRuns(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10, delay: 100 * time.Millisecond}
	r := newRig(t, rigOptions{gpu: noAdapter, cpu: cpu})
	r.started()
	snaps := r.watch()
	r.c.takeFiles(images(t, 1))
	deadline := time.Now().Add(10 * time.Second)
	for !r.c.state().Busy && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	from, first := snaps.len(), r.c.state().Input
	r.c.takeFiles([]fileSource{testFile{name: "broken.png", data: []byte("\x89PNG\r\n\x1a\nbroken")}})
	s := r.settle()
	if len(s.Images) != 0 || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "broken.png") || s.Busy {
		t.Fatalf("after the stale run: %s", brief(s))
	}
	if cpu.runs.Load() != 1 {
		t.Errorf("%d runs, want the first input's only", cpu.runs.Load())
	}
	for _, st := range snaps.since(from) {
		if st.Input == first {
			continue // still the first input's (its images being prepared): not stale yet
		}
		if len(st.Images) > 0 || st.Shown.Engine != "" {
			t.Fatalf("the replaced input's answer was shown: %s", brief(st))
		}
	}

	// A failing run of a replaced input does not put its error on the new
	// one.
	cpu = &timedEngine{name: "cpu", classes: 10, delay: 100 * time.Millisecond, fail: errors.New("out of memory")}
	r = newRig(t, rigOptions{gpu: noAdapter, cpu: cpu})
	r.started()
	r.c.takeFiles(images(t, 1))
	for !r.c.state().Busy && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.c.takeFiles([]fileSource{testFile{name: "notes.txt", data: []byte("text")}})
	s = r.settle()
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "notes.txt") {
		t.Errorf("problems %q, want only the new input's", s.Problems)
	}
}

// A sample replaces the answer too, and a sample that cannot be fetched
// says so on its own.
func TestControllerSampleIsAnInput(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter, cpu: &timedEngine{name: "cpu", classes: 10}})
	r.plat.samples = map[string][]byte{"/web/samples/chelsea.jpg": photo(t, 64, 48, "jpeg")}
	r.started()
	r.c.takeFiles(images(t, 1))
	answered(t, r.settle(), 1, "cpu")
	r.c.takeSample("coffee.jpg") // not served by the fake: a 404
	s := r.settle()
	if len(s.Images) != 0 || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "coffee.jpg") {
		t.Errorf("a sample that failed: %s", brief(s))
	}
	r.c.takeSample("chelsea.jpg")
	s = r.settle()
	answered(t, s, 1, "cpu")
	if s.Images[0].Name != "chelsea.jpg" || len(s.Problems) != 0 {
		t.Errorf("the sample after a failure: %s", brief(s))
	}
}

// The Paste button's failures are advice, not the browser's exception
// text, and they replace each other instead of piling up.
func TestControllerPasteFailures(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter, cpu: &timedEngine{name: "cpu", classes: 10}})
	r.started()
	r.c.takeFiles(images(t, 1))
	answered(t, r.settle(), 1, "cpu")

	refused := &pasteError{problem: clipboardRefused, cause: errors.New("NotAllowedError: Failed to execute 'read' on 'Clipboard': Read permission denied.")}
	r.c.pasteFailed(refused)
	r.c.pasteFailed(refused)
	s := r.c.state()
	want := "The browser did not let this page read the clipboard: press Ctrl+V (⌘V) instead."
	if len(s.Problems) != 1 || s.Problems[0] != want || len(s.Images) != 0 {
		t.Errorf("a refused paste, twice: problems %q, %d images; want only %q", s.Problems, len(s.Images), want)
	}
	if !errors.Is(refused, refused.cause) || !strings.Contains(refused.Error(), "NotAllowedError") {
		t.Errorf("the browser's reason is lost: %v", refused)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&pasteError{problem: clipboardUnsupported}, "This browser does not let pages read images from the clipboard: press Ctrl+V (⌘V) instead."},
		{&pasteError{problem: clipboardEmpty}, "The clipboard holds no image: copy one first, or choose a file."},
		{errors.New("something else"), "Paste: something else"},
	} {
		r.c.pasteFailed(tc.err)
		if s := r.c.state(); len(s.Problems) != 1 || s.Problems[0] != tc.want {
			t.Errorf("%v: problems %q, want %q", tc.err, s.Problems, tc.want)
		}
	}
}

// A picture under tinySide pixels on a side is classified with a note
// saying how little the model had to see.
func TestControllerTinyImageNote(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter, cpu: &timedEngine{name: "cpu", classes: 10}})
	r.started()
	r.c.takeFiles([]fileSource{
		testFile{name: "dot.png", data: photo(t, 1, 1, "png")},
		testFile{name: "strip.png", data: photo(t, 300, 20, "png")},
		testFile{name: "small.png", data: photo(t, 32, 32, "png")},
	})
	s := r.settle()
	answered(t, s, 3, "cpu")
	notes := []string{s.Images[0].Note, s.Images[1].Note, s.Images[2].Note}
	if notes[0] != "This picture is only 1×1 pixels: the model sees it stretched to 224×224, so its answer says little." ||
		!strings.Contains(notes[1], "only 300×20 pixels") || notes[2] != "" {
		t.Errorf("notes %q", notes)
	}
}
