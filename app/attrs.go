package app

import goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

// go-app writes a false boolean attribute as checked="false" when it
// renders server-side, which HTML reads as checked; these set such
// attributes only when true (in the browser go-app then removes them).

// checkedIf marks an input checked when on.
func checkedIf(in goapp.HTMLInput, on bool) goapp.HTMLInput {
	if on {
		return in.Checked(true)
	}
	return in
}

// disabledIf disables an input when on.
func disabledIf(in goapp.HTMLInput, on bool) goapp.HTMLInput {
	if on {
		return in.Disabled(true)
	}
	return in
}

// yesNo writes a flag for a data- attribute ("true" would be written as a
// bare attribute server-side).
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
