package cpu

import (
	"context"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// TimeLayer times a conv with a residual and the fc alone, and refuses
// ops it cannot time alone.
func TestTimeLayer(t *testing.T) {
	m := randModel(t, tinyArchs[2], 7, true)
	e, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	var timer model.LayerTimer = e
	p, err := m.Net.Program(1, 48, 48)
	if err != nil {
		t.Fatal(err)
	}
	residual := ""
	for _, op := range p.Ops {
		if op.Kind == model.OpConv && op.Residual >= 0 {
			residual = op.Name
			break
		}
	}
	for _, name := range []string{"conv1", residual, "fc"} {
		ms, err := timer.TimeLayer(context.Background(), name, 1, 48, 48)
		if err != nil || ms < 0 {
			t.Errorf("%s: %v ms, %v", name, ms, err)
		}
	}
	for _, name := range []string{"maxpool", "layer9.0.conv1"} {
		if _, err := timer.TimeLayer(context.Background(), name, 1, 48, 48); err == nil || !strings.Contains(err.Error(), "no such conv or fc layer") {
			t.Errorf("%s: %v", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := timer.TimeLayer(ctx, "conv1", 1, 48, 48); err == nil {
		t.Error("a canceled probe ran")
	}
}
