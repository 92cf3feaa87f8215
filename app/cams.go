package app

import (
	"fmt"
	"image"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/overlay"
)

// camImage is one image of an answer with the class activation map of
// each of its top classes: what the "Where it looked" view draws.
type camImage struct {
	Name    string
	Crop    *image.RGBA // the crop the model saw, which the maps cover
	Classes []camClass  // in the order of the image's top-k
}

// camClass is one of an image's top classes and its map.
type camClass struct {
	Label   string
	Percent string
	Map     model.CAM
}

// camImages pairs each image of a batch with its maps, labelled as its
// top-k; nil when the engine gave none.
func camImages(b batch, res *model.Result) []camImage {
	if res == nil || len(res.CAMs) != len(b.Names) || len(b.Crops) != len(b.Names) {
		return nil
	}
	out := make([]camImage, len(b.Names))
	for i, name := range b.Names {
		out[i] = camImage{Name: name, Crop: b.Crops[i]}
		for r, m := range res.CAMs[i] {
			c := camClass{Label: fmt.Sprintf("class %d", m.Class), Map: m}
			if r < len(res.Top[i]) && res.Top[i][r].Index == m.Class {
				p := res.Top[i][r]
				if p.Label != "" {
					c.Label = p.Label
				}
				c.Percent = formatPercent(p.Prob)
			}
			out[i].Classes = append(out[i].Classes, c)
		}
	}
	return out
}

// camOverlays draws every map of imgs over its crop at opacity (0–1)
// with model/overlay (the drawing cmd/classify's -cam writes too), as PNG
// data URLs, [image][rank]. pause is called between two maps, so that the
// page keeps its thread while a batch's maps are drawn.
func camOverlays(imgs []camImage, opacity float64, pause func()) [][]string {
	out := make([][]string, len(imgs))
	for i, im := range imgs {
		for _, c := range im.Classes {
			url := ""
			if o, err := overlay.CAM(im.Crop, &c.Map, opacity); err == nil {
				url = pngDataURL(o)
			}
			out[i] = append(out[i], url)
			if pause != nil {
				pause()
			}
		}
	}
	return out
}
