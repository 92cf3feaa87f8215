package app

import goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

// Element ids of the file pickers.
const (
	fileInputID   = "file-input"
	cameraInputID = "camera-input"
)

// DropZone is where images come in: a drop target (the whole page accepts
// drops and pastes too), a file picker, a camera button on touch screens
// and a Paste button.
type DropZone struct {
	goapp.Compo
	Dragging bool
	Busy     bool
}

// Render draws the zone. What it says depends on the pointer, through CSS
// (.pointer-fine, .pointer-coarse): a phone has nothing to drop and no
// Ctrl+V, but it has a camera. The hidden variant is display:none, so
// screen readers read only the one shown.
func (d *DropZone) Render() goapp.UI {
	cls := []string{"dropzone"}
	if d.Dragging {
		cls = append(cls, "dragging")
	}
	return goapp.Div().Class(cls...).ID("dropzone").Body(
		goapp.P().Class("drop-hint").ID("drop-hint").Body(
			goapp.Span().Class("pointer-fine").Body(
				goapp.Strong().Text("Drop images anywhere on this page"),
				goapp.Text(", paste one with Ctrl+V (⌘V), or choose files. Several images run together as one batch."),
			),
			goapp.Span().Class("pointer-coarse").Body(
				goapp.Strong().Text("Take a photo or choose one"),
				goapp.Text(" from this device. Several images run together as one batch."),
			),
		),
		goapp.Div().Class("actions").Body(
			// The inputs are visually hidden but stay in the tab order;
			// their labels are the visible buttons.
			goapp.Span().Class("pointer-coarse", "camera").Body(
				goapp.Input().Type("file").ID(cameraInputID).Class("visually-hidden").
					Accept("image/*").Attr("capture", "environment").Aria("describedby", "drop-hint").
					OnChange(d.onPick(cameraInputID)),
				goapp.Label().For(cameraInputID).Class("button", "primary").Text("Take a photo"),
			),
			goapp.Input().Type("file").ID(fileInputID).Class("visually-hidden").
				Accept("image/*").Multiple(true).Aria("describedby", "drop-hint").
				OnChange(d.onPick(fileInputID)),
			goapp.Label().For(fileInputID).Class("button", "primary").Text("Choose images…"),
			goapp.Button().Type("button").Class("button").ID("paste-button").
				Text("Paste image").OnClick(d.onPaste),
		),
	)
}

// onPick sends the files chosen in an input to the page.
func (d *DropZone) onPick(id string) goapp.EventHandler {
	return func(ctx goapp.Context, e goapp.Event) {
		if files := pickedFiles(id); len(files) > 0 {
			ctx.NewActionWithValue(actFiles, files)
		}
	}
}

// onPaste reads images through the Clipboard API, off the UI goroutine
// (it waits on a promise). A refusal goes to the page as an error, which
// the controller turns into advice (pasteMessage).
func (d *DropZone) onPaste(ctx goapp.Context, e goapp.Event) {
	ctx.Async(func() {
		files, err := clipboardImages()
		if err != nil {
			ctx.NewActionWithValue(actPasteFailed, err)
			return
		}
		ctx.NewActionWithValue(actFiles, files)
	})
}
