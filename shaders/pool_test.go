package shaders

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

var poolShapes = [][4]int{{1, 8, 112, 112}, {3, 5, 7, 9}, {2, 12, 6, 5}, {3, 3, 1, 1}, {2, 16, 2, 3}}

func TestMaxPoolMatchesReference(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewSource(3))
	for _, s := range poolShapes {
		x := randTensor(r, s[0], s[1], s[2], s[3])
		got, err := d.MaxPool(context.Background(), x)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		want, err := cpu.MaxPool(x)
		if err != nil {
			t.Fatalf("%v: cpu reference: %v", s, err)
		}
		compare(t, fmt.Sprint("maxpool ", s), got, want, 0)
	}
}

func TestAvgPoolMatchesReference(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewSource(4))
	for _, s := range poolShapes {
		x := randTensor(r, s[0], s[1], s[2], s[3])
		got, err := d.AvgPool(context.Background(), x)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		want, err := cpu.AvgPool(x)
		if err != nil {
			t.Fatalf("%v: cpu reference: %v", s, err)
		}
		compare(t, fmt.Sprint("avgpool ", s), got, want, 1e-5)
	}
}

func TestLinearMatchesReference(t *testing.T) { checkLinear(t, 5, "linear ", randConvWeights) }

// checkLinear runs the fc kernel (vec4 and scalar features, batches that
// do and do not fill the row tile) with weights from makeWeights against
// cpu.Linear.
func checkLinear(t *testing.T, seed int64, prefix string, makeWeights func(*rand.Rand, model.Conv) (w, b *weights.Tensor)) {
	d := device(t)
	r := rand.New(rand.NewSource(seed))
	for _, s := range [][3]int{{1, 2048, 1000}, {3, 37, 10}, {6, 64, 5}, {5, 8, 3}} {
		x := randTensor(r, s[0], s[1])
		w, b := makeWeights(r, model.Conv{Name: "fc", Cin: s[1], Cout: s[2], Kernel: 1, Groups: 1})
		w.Shape = []int{s[2], s[1]}
		got, err := d.Linear(context.Background(), x, w, b)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		want, err := cpu.Linear(x, w, b)
		if err != nil {
			t.Fatalf("%v: cpu reference: %v", s, err)
		}
		compare(t, fmt.Sprint(prefix, s), got, want, 1e-5)
	}
}
