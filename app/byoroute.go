package app

import goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

// routeFiles sends files given to the page (a drop, the image picker) to
// the converted-models panel when one of them is a checkpoint, told by
// its first bytes, and to the controller as images otherwise.
func (p *Page) routeFiles(ctx goapp.Context, fs []fileHandle) {
	ctx.Async(func() {
		for _, h := range fs {
			head, err := readHead(h, sniffLen)
			if err == nil && sniffKind(h.name, head, h.size) == kindCheckpoint {
				ctx.NewActionWithValue(actCheckpoint, fs)
				return
			}
		}
		ctx.Dispatch(func(goapp.Context) { p.ctl.takeFiles(sources(fs)) })
	})
}
