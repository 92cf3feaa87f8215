package shaders

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model/weights"
)

// stepLog is what SetProgress reported, in order.
type stepLog struct {
	step        string
	done, total int
}

// checkSteps checks that a plan build reported step from 0 (before its
// first layer) to total of total, never going back.
func checkSteps(t *testing.T, log []stepLog, step string, total int) {
	t.Helper()
	if len(log) == 0 {
		t.Fatalf("%s: nothing reported", step)
	}
	if log[0].done != 0 {
		t.Fatalf("%s: first reported %+v, want 0 done", step, log[0])
	}
	prev := 0
	for _, l := range log {
		if l.step != step || l.total != total || l.done < prev || l.done > total {
			t.Fatalf("%s: reported %+v after %d of %d", step, l, prev, total)
		}
		prev = l.done
	}
	if prev != total {
		t.Fatalf("%s: ended at %d of %d", step, prev, total)
	}
}

// Precompile reports compiling layer by layer, a plan build reports
// packing and uploading its weights, and both call the yield hook.
func TestPlanProgressAndYield(t *testing.T) {
	ctx := context.Background()
	m := randModel(t, tinyArchs[2], 11)
	d, err := Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var log []stepLog
	yields := 0
	d.SetProgress(func(step string, done, total int) { log = append(log, stepLog{step, done, total}) })
	d.SetYield(0, func() { yields++ })
	prog, err := m.Net.Program(1, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Precompile(ctx, &weights.Model{Meta: m.Meta, Net: m.Net}, 1, 32, 32); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, log, StepCompiling, len(prog.Ops))
	if yields < len(prog.Ops)-1 {
		t.Errorf("compiling %d layers yielded %d times, want one per layer after the first", len(prog.Ops), yields)
	}
	log, yields = nil, 0
	e, err := NewEngine(d, m)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Prepare(ctx, 1, 32, 32); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, log, StepUploading, len(prog.Ops)+1)
	if yields < len(prog.Ops) {
		t.Errorf("uploading yielded %d times", yields)
	}
}

// TimeLayer times one layer of a prepared plan, far faster than a run,
// and refuses a name the network does not have.
func TestTimeLayer(t *testing.T) {
	ctx := context.Background()
	m := randModel(t, tinyArchs[0], 12)
	e := newEngine(t, m)
	if err := e.Prepare(ctx, 1, 64, 64); err != nil {
		t.Fatal(err)
	}
	ms, err := e.TimeLayer(ctx, "layer1.0.conv1", 1, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	if ms <= 0 || ms > float64(time.Minute/time.Millisecond) {
		t.Errorf("layer1.0.conv1 took %v ms", ms)
	}
	if _, err := e.TimeLayer(ctx, "layer9.conv1", 1, 64, 64); err == nil || !strings.Contains(err.Error(), `no layer "layer9.conv1"`) {
		t.Errorf("an unknown layer: %v", err)
	}
	if len(e.plans) != 1 {
		t.Errorf("%d plans after timing layers of the prepared shape, want 1", len(e.plans))
	}
}
