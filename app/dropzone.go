package app

import goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

// fileInputID is the file picker's element id.
const fileInputID = "file-input"

// DropZone is where images come in: a drop target (the whole page accepts
// drops and pastes too), a file picker and a Paste button.
type DropZone struct {
	goapp.Compo
	Dragging bool
	Busy     bool
}

// Render draws the zone.
func (d *DropZone) Render() goapp.UI {
	cls := []string{"dropzone"}
	if d.Dragging {
		cls = append(cls, "dragging")
	}
	return goapp.Div().Class(cls...).ID("dropzone").Body(
		goapp.P().Class("drop-hint").ID("drop-hint").Body(
			goapp.Strong().Text("Drop images anywhere on this page"),
			goapp.Text(", paste one with Ctrl+V (⌘V), or choose files. Several images run together as one batch."),
		),
		goapp.Div().Class("actions").Body(
			// The input is visually hidden but stays in the tab order; its
			// label is the visible button.
			goapp.Input().Type("file").ID(fileInputID).Class("visually-hidden").
				Accept("image/*").Multiple(true).Aria("describedby", "drop-hint").
				OnChange(d.onPick),
			goapp.Label().For(fileInputID).Class("button", "primary").Text("Choose images…"),
			goapp.Button().Type("button").Class("button").ID("paste-button").
				Text("Paste image").OnClick(d.onPaste),
		),
	)
}

// onPick sends the chosen files to the page.
func (d *DropZone) onPick(ctx goapp.Context, e goapp.Event) {
	if files := pickedFiles(fileInputID); len(files) > 0 {
		ctx.NewActionWithValue(actFiles, files)
	}
}

// onPaste reads images through the Clipboard API, off the UI goroutine
// (it waits on a promise).
func (d *DropZone) onPaste(ctx goapp.Context, e goapp.Event) {
	ctx.Async(func() {
		files, err := clipboardImages()
		if err != nil {
			ctx.NewActionWithValue(actProblem, "Paste: "+err.Error())
			return
		}
		ctx.NewActionWithValue(actFiles, files)
	})
}
