package app

import "github.com/residual-webgpu/residual/model/preprocess"

// Limits and names the app works with.
const (
	// maxFileBytes is the largest image file read.
	maxFileBytes = preprocess.MaxFileBytes
	// maxModelBytes bounds a weight download (ResNet-152 f32 is ~240 MB).
	maxModelBytes = 1 << 30
	// maxBatch is the most images run together; more are reported, not
	// run. The engines split a batch that does not fit their memory into
	// sub-batches themselves (model.RunInBatches), so this bounds only
	// the page's own memory: every image's crop, tensor and card.
	maxBatch = 64
	// modelCacheName is the Cache Storage bucket for weight files. The dev
	// server's service worker leaves it alone when it cleans up its own
	// "app-…" caches.
	modelCacheName = "residual-models-v1"
	// defaultModel is the weight file under /web/models/ loaded at start;
	// ?model=<file> picks another one from the same directory.
	defaultModel = "resnet50-v1-int8.safetensors"
	// defaultSize is the input side the page starts with.
	defaultSize = 224
	// topK is how many classes each image shows.
	topK = 5
	// tinySide is the smallest side, in pixels, of a picture the page
	// classifies without a warning: below it there is too little to see.
	tinySide = 32
	// lowConfidence is the top-1 probability below which an answer is
	// marked unsure.
	lowConfidence = 0.3
)

// inputSizes are the choices of the input-size control.
var inputSizes = []int{160, 224, 288, 320}

// samplePhotos are the pictures of the sample row, under /web/samples/.
var samplePhotos = []struct{ File, Alt string }{
	{"chelsea.jpg", "a tabby cat"},
	{"coffee.jpg", "a cup of coffee"},
	{"moped.jpg", "a moped"},
	{"beach.jpg", "a kite over a beach"},
}
