package preprocess

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/preprocess/jpegscale"
)

// TestScaledDecodeNearLibjpeg compares jpegscale's reduced-size decodes
// (converted as Prepare converts them) with libjpeg-turbo's own, made by
// PIL's draft mode (tools/jpegscale_golden.py): baseline and progressive
// (successive approximation), 4:4:4, 4:2:2, 4:2:0 and grey, with and
// without restart markers, at 1/2, 1/4 and 1/8. The methods differ:
// libjpeg-turbo (like IJG libjpeg 6b's jidctred.c) averages the full
// 8-point IDCT's outputs, jpegscale (like IJG libjpeg 7+'s jidctint.c)
// takes the n-point IDCT of the lowest n×n frequencies, which needs only
// those coefficients kept. Both keep each block's mean, so at 1/8 grey and
// 4:4:4 pictures are identical; elsewhere fine detail differs a little.
func TestScaledDecodeNearLibjpeg(t *testing.T) {
	dir := filepath.Join(testdata, "jpegscale")
	files, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(files) < 9 {
		t.Fatalf("fixtures: %v, %d files", err, len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".jpg")
		for _, s := range []int{2, 4, 8} {
			t.Run(fmt.Sprintf("%s/1:%d", name, s), func(t *testing.T) {
				got, err := jpegscale.Decode(data, s)
				if err != nil {
					t.Fatal(err)
				}
				d := compare(t, got, decodeFile(t, filepath.Join(dir, fmt.Sprintf("%s_s%d.png", name, s))))
				t.Logf("%T %v vs libjpeg: max |diff| %d, mean %.4f, %.1f%% differ", got, got.Bounds().Size(), d.max, d.mean, 100*d.differing)
				exact := s == 8 && (strings.Contains(name, "gray") || strings.Contains(name, "444"))
				if exact && d.max != 0 || d.max > 24 || d.mean > 2.5 {
					t.Errorf("too far from libjpeg's scaled decode: %+v", d)
				}
			})
		}
	}
}

// TestDecodeReadsWhatImageJPEGRefuses: image/jpeg fails on a progressive
// file with restart markers; Decode then reads it with jpegscale at full
// size, the same picture as the baseline file with the same coefficients.
func TestDecodeReadsWhatImageJPEGRefuses(t *testing.T) {
	dir := filepath.Join(testdata, "jpegscale")
	got := decodeFile(t, filepath.Join(dir, "rstprog420.jpg"))
	want := decodeFile(t, filepath.Join(dir, "base420.jpg"))
	if d := compare(t, got, want); d.max > 2 { // planes within 1, so RGB within 2
		t.Errorf("differs from the baseline file's decode: %+v", d)
	}
}

// TestDecodeJPEGLimit: JPEGs are refused over MaxJPEGPixels, from the
// header, saying the limit.
func TestDecodeJPEGLimit(t *testing.T) {
	data := withSize(t, JPEG, fixture(t, "pic.jpg"), 20000, 12501)
	_, err := Decode("big.jpg", data)
	if !errors.Is(err, ErrTooLarge) || err.Error() != "big.jpg: 20000×12501 is 250.0 megapixels, over the 250 megapixel limit" {
		t.Errorf("error %v", err)
	}
	// Just within the limit it is planned at 1/8 and fails only for
	// want of data.
	_, err = Decode("big.jpg", withSize(t, JPEG, fixture(t, "pic.jpg"), 20000, 12500))
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("250 megapixels without data: %v, want ErrCorrupt", err)
	}
}
