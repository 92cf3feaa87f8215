package app

// The go-app actions child components send to the Page.
const (
	actFiles   = "residual/files"   // []fileHandle: images to read and run
	actSample  = "residual/sample"  // string: a sample photo's file name
	actSize    = "residual/size"    // int: a new input size
	actBackend = "residual/backend" // Backend: the GPU/CPU toggle
	actForget  = "residual/forget"  // nil: drop the cached weights
	actRerun   = "residual/rerun"   // nil: run the current images again
	actProblem = "residual/problem" // string: a message to show
	// actPasteFailed carries the error of a Paste button that got no image.
	actPasteFailed = "residual/paste-failed"
)

// modelChoice is the value of actUseModel: a weight file under
// /web/models/ ("" for the built-in one) and, for a converted model, the
// name of the checkpoint it came from, which the model panel shows.
type modelChoice struct {
	File, Name string
}
