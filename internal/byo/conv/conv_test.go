package conv

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/internal/torchsave"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/convert"
	"github.com/residual-webgpu/residual/model/weights"
)

// resnet18File is a torch.save resnet18 with a classes-way head.
func resnet18File(t *testing.T, classes int) []byte {
	t.Helper()
	a, _ := model.ByName("resnet18")
	a.NumClasses = classes
	ts, err := torchsave.ResNet(a, 3)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := torchsave.Write(&b, ts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The page's conversion gives the weight file cmd/quantize's steps give
// (convert.Convert then weights.Quantize), with the labels file's names,
// and a report of what it found and did.
func TestConvertCheckpoint(t *testing.T) {
	data := resnet18File(t, 10)
	labels := []byte(`["a","b","c","d","e","f","g","h","i","j"]`)
	var steps []int
	out, rep, err := Convert("r18.pth", data, "names.json", labels, weights.Int8, func(i int) { steps = append(steps, i) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(steps, []int{0, 1, 2, 3, 4}) {
		t.Errorf("steps %v", steps)
	}
	got, err := weights.Decode("out", out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Arch.Name != "resnet18" || got.Meta.Arch.NumClasses != 10 || got.Meta.Scheme != weights.Int8 || got.Meta.Labels[9] != "j" {
		t.Fatalf("converted %+v", got.Meta)
	}

	// The same bytes as the command line's steps.
	ck, err := convert.ReadBytes("r18.pth", data)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := convert.ParseLabels(labels)
	f32, _, err := convert.Convert(ck, convert.Options{Labels: l})
	if err != nil {
		t.Fatal(err)
	}
	f32.Meta.SourceSHA256 = rep.SHA256
	q, err := weights.Quantize(f32, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := q.Encode(&want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want.Bytes()) {
		t.Error("the page's weight file differs from convert + quantize's")
	}

	if rep.Arch != "resnet18" || rep.Classes != 10 || rep.Variant != "v1.5" || rep.LabelsFrom != "names.json" {
		t.Errorf("report %+v", rep)
	}
	if rep.Params != 11181642 { // torchvision's resnet18 with a 10-class fc: 11,689,512 − 512×990 − 990
		t.Errorf("params %d", rep.Params)
	}
	if len(rep.PerLayer) != 21 || rep.PerLayer[0].Name != "conv1" || rep.PerLayer[20].Name != "fc" {
		t.Errorf("%d layers in the report", len(rep.PerLayer))
	}
	folded := 0
	for _, l := range rep.PerLayer {
		folded += l.Params
	}
	if rep.SourceBytes != int64(len(data)) || rep.OutBytes != int64(len(out)) || rep.F32Bytes != 4*int64(folded) {
		t.Errorf("sizes: source %d, f32 %d, out %d", rep.SourceBytes, rep.F32Bytes, rep.OutBytes)
	}
	if rep.OutBytes > rep.F32Bytes/3 {
		t.Errorf("int8 file of %d bytes for %d bytes of float32", rep.OutBytes, rep.F32Bytes)
	}
	if rep.MaxErr <= 0 || rep.MeanErr <= 0 || rep.MeanErr > rep.MaxErr || len(rep.StepMs) != 5 {
		t.Errorf("errors max %g mean %g, step times %v", rep.MaxErr, rep.MeanErr, rep.StepMs)
	}
}

// What a visitor might give instead of a checkpoint is refused with a
// message that says what is wrong, and never panics.
func TestConvertCheckpointRefuses(t *testing.T) {
	data := resnet18File(t, 10)
	for _, c := range []struct {
		name         string
		data, labels []byte
		want         string
	}{
		{"truncated.pth", data[:len(data)/2], nil, "zip"},
		{"garbage.pth", []byte("PK\x03\x04 this is not a zip at all"), nil, "zip"},
		{"legacy.pth", []byte{0x80, 0x02, 'c', 'x'}, nil, "legacy"},
		{"photo.pth", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), nil, "not a checkpoint"},
		{"r18.pth", data, []byte("one\ntwo\n"), "2 labels for the classifier's 10 classes"},
		{"r18.pth", data, []byte("[1, 2"), "labels"},
		{"empty.safetensors", []byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, nil, "no float tensors"},
	} {
		out, _, err := Convert(c.name, c.data, "labels.txt", c.labels, weights.Int8, nil)
		if err == nil || out != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
