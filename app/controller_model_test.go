package app

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model/weights"
)

// otherModel is the tiny network with 5 classes named "other i".
func otherModel(t *testing.T) []byte {
	t.Helper()
	m := tinyModel(t)
	a := m.Meta.Arch
	a.NumClasses = 5
	f := map[string]*weights.Tensor{}
	for k, v := range m.Tensors {
		f[k] = v
	}
	w, b := f["fc.weight"], f["fc.bias"]
	in := w.Shape[1]
	f["fc.weight"] = &weights.Tensor{Shape: []int{5, in}, F32: w.F32[:5*in]}
	f["fc.bias"] = &weights.Tensor{Shape: []int{5}, F32: b.F32[:5]}
	meta := m.Meta
	meta.Arch, meta.Labels = a, nil
	for i := range 5 {
		meta.Labels = append(meta.Labels, fmt.Sprintf("other %d", i))
	}
	o, err := weights.New(meta, f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := o.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Switching to a converted model loads it from the store under its own
// URL, re-plans the inspector for its network and runs the images on
// screen again with its labels; switching back loads the built-in one.
func TestControllerUseModel(t *testing.T) {
	store := &fakeStore{answers: []storeAnswer{{data: encodedModel(t)}, {data: otherModel(t), cached: true}, {data: encodedModel(t), cached: true}}}
	r := newRig(t, rigOptions{gpu: noAdapter, store: store})
	r.started()
	r.c.takeFiles(images(t, 1))
	s := r.settle()
	if len(s.Images) != 1 || !strings.HasPrefix(s.Images[0].Top[0].Label, "label ") {
		t.Fatalf("built-in answer: %s", brief(s))
	}

	r.c.useModel("mine/0123456789abcdef.safetensors", "my-resnet.pth")
	s = r.settle()
	if s.ModelFile != "mine/0123456789abcdef.safetensors" || s.ModelName != "my-resnet.pth" || s.Phase != phaseReady || !s.Cached || s.Facts.Classes != 5 {
		t.Fatalf("after the switch: %s, facts %+v", brief(s), s.Facts)
	}
	if store.loads[1] != "/web/models/mine/0123456789abcdef.safetensors" {
		t.Errorf("loaded %v", store.loads)
	}
	if len(s.Images) != 1 || len(s.Images[0].Top) != 5 || !strings.HasPrefix(s.Images[0].Top[0].Label, "other ") {
		t.Fatalf("the image did not run again on the new model: %s", brief(s))
	}
	if last := s.Rows[len(s.Rows)-1]; last.Name != "fc" || last.Shape != "[1, 5]" || !s.Measured {
		t.Errorf("the inspector's fc row after the switch: %+v", last)
	}

	// The same model again does nothing; "" is the built-in one.
	r.c.useModel("mine/0123456789abcdef.safetensors", "my-resnet.pth")
	if r.settle(); len(store.loads) != 2 {
		t.Errorf("switching to the model in use loaded it again: %v", store.loads)
	}
	r.c.useModel("", "")
	s = r.settle()
	if s.ModelFile != defaultModel || s.ModelName != "" || s.Facts.Classes != 10 || store.loads[2] != "/web/models/"+defaultModel {
		t.Errorf("back to the built-in model: %s, loads %v", brief(s), store.loads)
	}
}

// A switch while a model loads is refused with a message, not raced.
func TestControllerUseModelWhileLoading(t *testing.T) {
	store := &fakeStore{answers: []storeAnswer{{data: encodedModel(t)}}, delay: 100 * time.Millisecond}
	r := newRig(t, rigOptions{gpu: noAdapter, store: store})
	r.c.start("", "", "")
	r.c.useModel("mine/0123456789abcdef.safetensors", "my-resnet.pth")
	s := r.settle()
	if s.ModelFile != defaultModel || s.Phase != phaseReady || len(store.loads) != 1 {
		t.Errorf("a switch during the load: %s, loads %v", brief(s), store.loads)
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "Wait for the model") {
		t.Errorf("messages %q", s.Problems)
	}
}
