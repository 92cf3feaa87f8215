package model

// Tensor is a dense float32 tensor in row-major order; images and
// activations are NCHW.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor allocates a zeroed tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Prediction is one class of a top-k answer.
type Prediction struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float32 `json:"prob"`
}

// StageResult is what an engine measured and saw at one stage.
type StageResult struct {
	Stage
	Ms      float64  `json:"ms"` // time spent in this stage (GPU time where the engine has it)
	Heatmap *Heatmap `json:"-"`  // the first image's, nil unless the engine was asked to inspect (JSON has it as heatmaps[0])
	// Heatmaps are every image's, in batch order (Heatmaps[0] is
	// Heatmap); nil unless the engine was asked to inspect.
	Heatmaps []*Heatmap `json:"heatmaps,omitempty"`
	// Blocks are a layer's blocks, measured like the layer. They shadow
	// Stage.Blocks (the same blocks without timings) in JSON.
	Blocks []StageResult `json:"blocks,omitempty"`
}

// Result is the answer of one run over a batch: both engines give it, and
// the app shows it without knowing which engine produced it.
type Result struct {
	Logits [][]float32    `json:"-"`      // [B][classes]
	Top    [][]Prediction `json:"top"`    // [B][k], best first
	Stages []StageResult  `json:"stages"` // the Net.Stages walk with timings
	Engine string         `json:"engine"` // e.g. "cpu", "webgpu (vulkan: llvmpipe)"
	// CAMs are the class activation maps asked for by RunOptions.CAM:
	// [B][k], CAMs[i][r] for the class Top[i][r]; nil otherwise.
	CAMs [][]CAM `json:"cams,omitempty"`
}

// NewResult starts the Result of a run of p: every row of its stage
// table, with no time or heatmap yet.
func NewResult(p *Program) *Result {
	res := &Result{Stages: make([]StageResult, len(p.Stages))}
	for i, st := range p.Stages {
		res.Stages[i].Stage = st
		for _, b := range st.Blocks {
			res.Stages[i].Blocks = append(res.Stages[i].Blocks, StageResult{Stage: b})
		}
	}
	return res
}

// Row is the row r of the stage table.
func (r *Result) Row(ref StageRef) *StageResult {
	s := &r.Stages[ref.Stage]
	if ref.Block >= 0 {
		return &s.Blocks[ref.Block]
	}
	return s
}

// AddTime counts ms in the time of the row an op runs in; a layer's time
// stays the sum of its blocks'.
func (r *Result) AddTime(stage, block int, ms float64) {
	s := &r.Stages[stage]
	if block < 0 {
		s.Ms += ms
		return
	}
	s.Blocks[block].Ms += ms
	s.Ms = 0
	for _, b := range s.Blocks {
		s.Ms += b.Ms
	}
}

// SetTop fills Top from Logits: the k most probable classes of every
// image, labelled from labels.
func (r *Result) SetTop(labels []string, k int) {
	r.Top = make([][]Prediction, len(r.Logits))
	for i, row := range r.Logits {
		r.Top[i] = TopK(row, labels, k)
	}
}
