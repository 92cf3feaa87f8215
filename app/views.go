package app

import (
	"fmt"
	"image"
	"math"

	"github.com/residual-webgpu/residual/model"
)

// stageRow is one inspector row, ready to show: every value is formatted
// and the heatmap is already a data URL, so Render does no work.
type stageRow struct {
	Name       string
	Kind       string
	Shape      string
	Params     string
	MACs       string
	Time       string
	Heatmap    string     // data URL of the first image's map, "" when there is none
	Maps       []heatView // every image's heatmap, in batch order
	Stride     int        // blocks only
	Downsample bool       // blocks only
	Path       string     // blocks only: model.BlockPath
	Blocks     []stageRow
}

// planRows turns a Net.Stages plan into rows without timings.
func planRows(stages []model.Stage) []stageRow {
	rows := make([]stageRow, len(stages))
	for i, s := range stages {
		rows[i] = stageRowOf(s, nil)
		for _, b := range s.Blocks {
			rows[i].Blocks = append(rows[i].Blocks, stageRowOf(b, nil))
		}
	}
	return rows
}

// resultRows turns an engine's measured stages into rows with timings and
// heatmaps (its blocks too, where the engine measured them).
func resultRows(stages []model.StageResult) []stageRow {
	rows := make([]stageRow, len(stages))
	for i := range stages {
		s := &stages[i]
		rows[i] = stageRowOf(s.Stage, s)
		if len(s.Blocks) > 0 {
			for j := range s.Blocks {
				rows[i].Blocks = append(rows[i].Blocks, stageRowOf(s.Blocks[j].Stage, &s.Blocks[j]))
			}
		} else {
			for _, b := range s.Stage.Blocks {
				rows[i].Blocks = append(rows[i].Blocks, stageRowOf(b, nil))
			}
		}
	}
	return rows
}

// stageRowOf formats one stage, with its measurement when there is one.
func stageRowOf(s model.Stage, r *model.StageResult) stageRow {
	row := stageRow{
		Name:       s.Name,
		Kind:       string(s.Kind),
		Shape:      formatShape(s.Shape),
		Params:     formatCount(s.Params),
		MACs:       formatCount(s.MACs),
		Time:       "–",
		Stride:     s.Stride,
		Downsample: s.Downsample,
		Path:       s.Path,
	}
	if r != nil {
		if r.Ms > 0 || s.Kind != model.KindFlatten {
			row.Time = formatMs(r.Ms)
		}
		for _, h := range r.Heatmaps {
			row.Maps = append(row.Maps, heatViewOf(h))
		}
		if len(row.Maps) > 0 {
			row.Heatmap = row.Maps[0].Mean
		}
	}
	return row
}

// heatView is one image's heatmap at a stage, ready to show large: the
// channel mean and the strongest channel as data URLs, with the raw
// values at the ends of their colour scales.
type heatView struct {
	Mean, Strongest string // data URLs, "" when there is none
	Lo, Hi          string // the mean's raw range, formatted
	SLo, SHi        string // the strongest channel's
	Channels        int
	Channel         int    // the strongest channel
	ChannelMean     string // its mean activation, formatted
	Strip           bool   // a vector's values, not a spatial map
	W, H            int
}

// heatViewOf formats one image's heatmap.
func heatViewOf(h *model.Heatmap) heatView {
	v := heatView{Mean: heatmapDataURL(h), Channels: h.Channels, W: h.W, H: h.H, Strip: h.H == 1 && h.W > 1,
		Lo: formatValue(h.Lo), Hi: formatValue(h.Hi)}
	if s := h.Strongest; s != nil {
		v.Channel, v.ChannelMean, v.SLo, v.SHi = s.Channel, formatValue(s.Mean), formatValue(s.Lo), formatValue(s.Hi)
		if !v.Strip {
			v.Strongest = heatmapDataURL(s)
		}
	}
	return v
}

// formatValue writes an activation for a colour scale: "3.41", "-0.07",
// "1.2e+03".
func formatValue(v float32) string {
	if a := math.Abs(float64(v)); a != 0 && (a >= 1e4 || a < 1e-2) {
		return fmt.Sprintf("%.2g", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// imageView is one image of a batch with its answer.
type imageView struct {
	Name   string
	Crop   string // data URL of the crop the model saw
	Top    []predView
	Note   string // a warning about the picture itself (a tiny one), "" when none
	Unsure bool   // the best class is below lowConfidence
}

// predView is one of an image's top-k classes.
type predView struct {
	Label   string
	Index   int
	Prob    float32
	Percent string
}

// imageViews pairs each image of a batch with its predictions.
func imageViews(names []string, crops []*image.RGBA, top [][]model.Prediction) []imageView {
	out := make([]imageView, len(names))
	for i, n := range names {
		v := imageView{Name: n}
		if i < len(crops) {
			v.Crop = pngDataURL(crops[i])
		}
		if i < len(top) {
			for _, p := range top[i] {
				label := p.Label
				if label == "" {
					label = fmt.Sprintf("class %d", p.Index)
				}
				v.Top = append(v.Top, predView{Label: label, Index: p.Index, Prob: p.Prob, Percent: formatPercent(p.Prob)})
			}
			v.Unsure = len(v.Top) > 0 && v.Top[0].Prob < lowConfidence
		}
		out[i] = v
	}
	return out
}

// batchViews is imageViews for a prepared batch, with a note on each
// picture too small to say much.
func batchViews(b batch, top [][]model.Prediction) []imageView {
	views := imageViews(b.Names, b.Crops, top)
	for i := range views {
		if i < len(b.Dims) {
			views[i].Note = tinyNote(b.Dims[i], b.Size)
		}
	}
	return views
}

// tinyNote warns about a picture with a side under tinySide pixels: the
// model sees it stretched to size×size, a blur it was never trained on,
// yet it still names a class with some confidence.
func tinyNote(d image.Point, size int) string {
	if d.X >= tinySide && d.Y >= tinySide {
		return ""
	}
	return fmt.Sprintf("This picture is only %d×%d pixels: the model sees it stretched to %d×%d, so its answer says little.", d.X, d.Y, size, size)
}

// latency remembers how long an engine took for one batch shape: its
// first run (pipelines compiled, buffers allocated, caches cold) and its
// latest warm one.
type latency struct {
	FirstMs float64
	WarmMs  float64
	Runs    int
}

// latencyBook keeps a latency per engine, input size and batch size.
type latencyBook map[string]latency

// latencyKey is a book entry's key.
func latencyKey(engine string, size, batch int) string {
	return fmt.Sprintf("%s@%d×%d", engine, size, batch)
}

// get returns the entry of an engine, size and batch.
func (b latencyBook) get(engine string, size, batch int) latency {
	return b[latencyKey(engine, size, batch)]
}

// add records one run and returns the updated entry.
func (b latencyBook) add(engine string, size, batch int, ms float64) latency {
	k := latencyKey(engine, size, batch)
	l := b[k]
	if l.Runs == 0 {
		l.FirstMs = ms
	} else {
		l.WarmMs = ms
	}
	l.Runs++
	b[k] = l
	return l
}
