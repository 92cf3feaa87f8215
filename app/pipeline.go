package app

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// inputFile is one image the user gave, read into memory (or the error
// reading it gave).
type inputFile struct {
	Name string
	Data []byte
	Err  error
}

// batch is a set of inputs decoded and prepared for one run.
type batch struct {
	Names []string      // the images that made it, in batch order
	Crops []*image.RGBA // each image as the model sees it (after resize and crop)
	Dims  []image.Point // each image's own size, upright, before resizing
	Size  int           // the side of the model's input
	X     *model.Tensor // [B,3,size,size]
	Errs  []string      // one message per file that did not make it, naming it
	Ms    float64       // decode and preprocessing time
}

// prepareBatch decodes and preprocesses every file as the weights say, at
// the given crop size, and stacks the good ones into one tensor. Bad files
// (unreadable, empty, not an image, corrupt, too large) become messages;
// beyond maxBatch images the rest are reported, not run.
func prepareBatch(files []inputFile, p weights.Preprocess, size int) batch {
	start := time.Now()
	b := batch{Size: size}
	var xs []*model.Tensor
	for _, f := range files {
		if f.Err != nil {
			b.Errs = append(b.Errs, f.Err.Error())
			continue
		}
		if len(xs) == maxBatch {
			b.Errs = append(b.Errs, fmt.Sprintf("%s: not run: at most %d images go in one batch", f.Name, maxBatch))
			continue
		}
		img, err := preprocess.Decode(f.Name, f.Data)
		if err != nil {
			b.Errs = append(b.Errs, err.Error())
			continue
		}
		x, crop, err := preprocess.Prepare(img, p, size)
		if err != nil {
			b.Errs = append(b.Errs, fmt.Sprintf("%s: %v", f.Name, err))
			continue
		}
		xs = append(xs, x)
		b.Crops = append(b.Crops, crop)
		b.Names = append(b.Names, f.Name)
		b.Dims = append(b.Dims, img.Bounds().Size())
	}
	if len(xs) > 0 {
		x, err := preprocess.Batch(xs...)
		if err != nil {
			b.Errs = append(b.Errs, err.Error())
			b.Names, b.Crops, b.Dims = nil, nil, nil
		} else {
			b.X = x
		}
	}
	b.Ms = msSince(start)
	return b
}

// runEngine runs a batch for the page (top-k, heatmaps and stage times)
// and checks that the answer covers it, labelling the top-k from the
// weights when the engine left it out.
func runEngine(e model.Engine, x *model.Tensor, labels []string) (*model.Result, float64, error) {
	return runEngineCtx(context.Background(), e, x, labels)
}

// msSince is the time since start in milliseconds.
func msSince(start time.Time) float64 { return float64(time.Since(start).Microseconds()) / 1000 }
