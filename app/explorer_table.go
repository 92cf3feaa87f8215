package app

import (
	"fmt"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ExplorerTable is the explorer's stage table: one row per stage and per
// block, for one architecture or two side by side (rows lined up by name,
// those that differ highlighted), with each run's stage times.
type ExplorerTable struct {
	goapp.Compo
	Plans []exPlan
	Lines []exLine   // mergeRows(Plans)
	Times []*exTimes // per plan: its latest run, or nil
}

// exColumns are each architecture's columns.
var exColumns = []string{"Output shape", "Shortcut", "Params", "MACs", "Time"}

// Render draws the table.
func (t *ExplorerTable) Render() goapp.UI {
	differ := 0
	for _, l := range t.Lines {
		if l.Differs {
			differ++
		}
	}
	titles := make([]string, len(t.Plans))
	for i, p := range t.Plans {
		titles[i] = p.Choice.Title()
	}
	caption := ""
	if len(t.Plans) > 0 {
		s := t.Plans[0].Shape
		caption = fmt.Sprintf("%s: batch of %d at %d×%d, %d classes.", strings.Join(titles, " beside "), s.Batch, s.Size, s.Size, s.Classes)
	}
	if len(t.Plans) > 1 {
		caption += fmt.Sprintf(" %d of %d rows differ (highlighted).", differ, len(t.Lines))
	}
	return goapp.Div().Class("table-scroll").Role("region").Aria("label", "Explorer's stage table").TabIndex(0).Body(
		goapp.Table().ID("ex-table").Class("ex-table").DataSet("archs", len(t.Plans)).Body(
			goapp.Caption().ID("ex-caption").Text(caption),
			goapp.THead().Body(
				goapp.Tr().Body(
					goapp.Th().Scope("col").Rowspan(2).Text("Stage or block"),
					goapp.Range(t.Plans).Slice(func(i int) goapp.UI {
						return goapp.Th().Scope("colgroup").ColSpan(len(exColumns)).Class("ex-arch", fmt.Sprintf("ex-arch-%d", i)).Text(titles[i])
					}),
				),
				goapp.Tr().Body(
					goapp.Range(t.Plans).Slice(func(i int) goapp.UI {
						return goapp.Range(exColumns).Slice(func(j int) goapp.UI {
							th := goapp.Th().Scope("col").Text(exColumns[j])
							if j >= 2 {
								th = th.Class("num")
							}
							return th
						})
					}),
				),
			),
			goapp.TBody().Body(
				goapp.Range(t.Lines).Slice(func(i int) goapp.UI { return t.line(t.Lines[i]) }),
			),
			goapp.TFoot().Body(t.totals()),
		),
	)
}

// line is one row: its name, then each architecture's cells.
func (t *ExplorerTable) line(l exLine) goapp.UI {
	cls := []string{"ex-row", "kind-" + cssName(string(l.Kind))}
	if l.Block {
		cls = append(cls, "ex-block")
	}
	if l.Differs {
		cls = append(cls, "differs")
	}
	name := goapp.Th().Scope("row").Class("name").Body(
		goapp.Text(l.Name),
		goapp.If(l.Differs, func() goapp.UI { return goapp.Span().Class("visually-hidden").Text(" (differs)") }),
	)
	return goapp.Tr().Class(cls...).DataSet("row", l.Name).DataSet("differs", yesNo(l.Differs)).Body(
		name,
		goapp.Range(l.Cells).Slice(func(k int) goapp.UI { return t.cells(l, k) }),
	)
}

// cells are architecture k's values on a line (dashes where it has no
// such row), those that differ from the other's marked.
func (t *ExplorerTable) cells(l exLine, k int) goapp.UI {
	r := l.Cells[k]
	if r == nil {
		missing := "not in " + t.Plans[k].Choice.Title()
		return goapp.Range(exColumns).Slice(func(j int) goapp.UI {
			td := goapp.Td().Class("missing", "diff")
			if j == 0 {
				return td.Body(goapp.Span().Aria("hidden", true).Text("—"), goapp.Span().Class("visually-hidden").Text(missing))
			}
			return td.Body(goapp.Span().Aria("hidden", true).Text("—"))
		})
	}
	mark := func(td goapp.HTMLTd, diff bool) goapp.HTMLTd {
		if diff {
			return td.Class("diff")
		}
		return td
	}
	ms := "–"
	if tm := t.timesOf(k); tm != nil {
		if v, ok := tm.Ms[r.Name]; ok {
			ms = formatMs(v)
		}
	}
	return goapp.Range(exColumns).Slice(func(j int) goapp.UI {
		switch j {
		case 0:
			return mark(goapp.Td().Class("shape").DataSet("arch", k), l.DiffShape).Text(formatShape(r.Shape))
		case 1:
			return mark(goapp.Td().Class("cut"), l.DiffCut).Text(r.Shortcut())
		case 2:
			return mark(goapp.Td().Class("num", "params"), l.DiffParams).Text(formatCount(r.Params))
		case 3:
			return mark(goapp.Td().Class("num", "macs"), l.DiffMACs).Text(formatCount(r.MACs))
		}
		return goapp.Td().Class("num", "time").Text(ms)
	})
}

// totals is the footer row: each architecture's parameters, MACs, weight
// size and run time.
func (t *ExplorerTable) totals() goapp.UI {
	return goapp.Tr().Class("ex-total").Body(
		goapp.Th().Scope("row").Text("Total"),
		goapp.Range(t.Plans).Slice(func(k int) goapp.UI {
			p := t.Plans[k]
			run := "–"
			tm := t.timesOf(k)
			if tm != nil {
				run = formatMs(tm.RunMs)
			}
			return goapp.Range(exColumns).Slice(func(j int) goapp.UI {
				switch j {
				case 0:
					return goapp.Td().Class("ex-weights").Text(formatBytes(p.WeightBytes) + " as int8")
				case 1:
					if tm != nil {
						return goapp.Td().Class("ex-engine").Text("on " + tm.Engine)
					}
					return goapp.Td()
				case 2:
					return goapp.Td().Class("num", "params").DataSet("value", p.Params).Text(formatCount(p.Params))
				case 3:
					return goapp.Td().Class("num", "macs").DataSet("value", p.MACs).Text(formatCount(p.MACs))
				}
				return goapp.Td().Class("num", "time").Text(run)
			})
		}),
	)
}

// timesOf is architecture k's latest run, or nil.
func (t *ExplorerTable) timesOf(k int) *exTimes {
	if k < len(t.Times) {
		return t.Times[k]
	}
	return nil
}
