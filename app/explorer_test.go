package app

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// The explorer's tables are the model's: for each of the nine
// architectures, both stride variants, every row (stage and block) the
// view renders carries exactly the Program's name, kind, shape,
// parameters, MACs, stride and shortcut, in order, and the totals are
// model.Totals.
func TestExplorerPlansEqualProgram(t *testing.T) {
	names := model.TorchvisionNames()
	if len(names) != 9 {
		t.Fatalf("%d architectures, want 9", len(names))
	}
	for _, name := range names {
		for _, v := range []model.Variant{model.V15, model.V1} {
			p := planArch(exChoice{Name: name, Variant: v}, exShape{Classes: 1000, Batch: 1, Size: 224})
			if p.Err != "" {
				t.Fatalf("%s %s: %s", name, v, p.Err)
			}
			a, _ := model.ByName(name)
			a.Variant = v
			net, _ := a.Net()
			prog, err := net.Program(1, 224, 224)
			if err != nil {
				t.Fatal(err)
			}
			var want []exRow
			for _, s := range prog.Stages {
				want = append(want, exRow{Name: s.Name, Kind: s.Kind, Shape: s.Shape, Params: s.Params, MACs: s.MACs})
				for _, b := range s.Blocks {
					want = append(want, exRow{Name: b.Name, Kind: b.Kind, Block: true, Shape: b.Shape, Params: b.Params, MACs: b.MACs, Stride: b.Stride, Downsample: b.Downsample})
				}
			}
			if len(p.Rows) != len(want) {
				t.Fatalf("%s %s: %d rows, want %d", name, v, len(p.Rows), len(want))
			}
			for i, r := range p.Rows {
				w := want[i]
				if r.Name != w.Name || r.Kind != w.Kind || r.Block != w.Block || !slices.Equal(r.Shape, w.Shape) ||
					r.Params != w.Params || r.MACs != w.MACs || r.Stride != w.Stride || r.Downsample != w.Downsample {
					t.Errorf("%s %s row %d: %+v, want %+v", name, v, i, r, w)
				}
			}
			params, macs := model.Totals(prog.Stages)
			if p.Params != params || p.MACs != macs {
				t.Errorf("%s %s: totals %d %d, want %d %d", name, v, p.Params, p.MACs, params, macs)
			}
			// int8 weights: a byte per weight, plus float32 biases and scales.
			if p.WeightBytes < params/2 || p.WeightBytes > params+int64(1e6) {
				t.Errorf("%s: %d bytes of int8 weights for %d parameters", name, p.WeightBytes, params)
			}
		}
	}
	// The rendered table holds every row's values as the view has them.
	p := planArch(exChoice{Name: "resnext50_32x4d", Variant: model.V15}, exShape{Classes: 1000, Batch: 1, Size: 224})
	html := render(t, &ExplorerTable{Plans: []exPlan{p}, Lines: mergeRows([]exPlan{p}), Times: []*exTimes{nil}})
	if n := strings.Count(html, `data-row="`); n != len(p.Rows) {
		t.Errorf("%d rows rendered, want %d", n, len(p.Rows))
	}
	for _, r := range p.Rows {
		row := regexp.MustCompile(`(?s)<tr[^>]*data-row="` + regexp.QuoteMeta(r.Name) + `"[^>]*>(.*?)</tr>`).FindStringSubmatch(html)
		if row == nil {
			t.Fatalf("no row %s", r.Name)
		}
		for _, s := range []string{formatShape(r.Shape), formatCount(r.Params), formatCount(r.MACs)} {
			if !strings.Contains(row[1], ">"+s+"<") {
				t.Errorf("row %s lacks %q: %s", r.Name, s, row[1])
			}
		}
	}
	wantAll(t, html, `data-value="25028904"`, `25.03 M`, `4.23 G`)
}

// seedTable is one architecture of testdata/explorer_seed_tables.txt.
type seedTable struct {
	block, layers, fcIn string
	rows                [][2]string // stage, shape with B
}

func readSeedTables(t *testing.T) map[string]*seedTable {
	t.Helper()
	f, err := os.Open("testdata/explorer_seed_tables.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tables := map[string]*seedTable{}
	var cur *seedTable
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "arch":
			cur = &seedTable{}
			tables[v] = cur
		case "block":
			cur.block = v
		case "layers":
			cur.layers = v
		case "fc.in_features":
			cur.fcIn = v
		default:
			cur.rows = append(cur.rows, [2]string{k, v})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

// The seed's ResNet-18 and ResNet-50 tables, exactly: every stage's shape
// (for batches of 1 and 8; bn1+relu is a row of its own here, the seed
// folds it into conv1's), the block type, blocks per layer and fc's input.
func TestExplorerSeedTables(t *testing.T) {
	tables := readSeedTables(t)
	if len(tables) != 2 || tables["resnet18"] == nil || tables["resnet50"] == nil {
		t.Fatalf("fixture holds %d tables", len(tables))
	}
	for name, want := range tables {
		for _, batch := range []int{1, 8} {
			p := planArch(exChoice{Name: name, Variant: model.V15}, exShape{Classes: 1000, Batch: batch, Size: 224})
			var got [][2]string
			var blocks []string
			for _, r := range p.Rows {
				switch {
				case r.Block:
				case r.Kind == model.KindBNReLU:
					if r.Name != "bn1+relu" {
						t.Errorf("%s: bn row %s", name, r.Name)
					}
				default:
					got = append(got, [2]string{r.Name, formatShape(r.Shape)})
				}
			}
			for _, l := range mergeRows([]exPlan{p}) {
				if l.Kind == model.KindLayer {
					n := 0
					for _, m := range p.Rows {
						if m.Block && strings.HasPrefix(m.Name, l.Name+".") {
							n++
						}
					}
					blocks = append(blocks, fmt.Sprint(n))
				}
			}
			var rows [][2]string
			for _, r := range want.rows {
				rows = append(rows, [2]string{r[0], strings.ReplaceAll(r[1], "B", fmt.Sprint(batch))})
			}
			if !slices.Equal(got, rows) {
				t.Errorf("%s batch %d:\n got  %v\n want %v", name, batch, got, rows)
			}
			if l := "[" + strings.Join(blocks, ", ") + "]"; l != want.layers {
				t.Errorf("%s: layers %s, want %s", name, l, want.layers)
			}
			block := map[model.BlockKind]string{model.Basic: "BasicBlock", model.Bottleneck: "Bottleneck"}[p.Arch.Block]
			if block != want.block || fmt.Sprint(p.Net.FC.In) != want.fcIn {
				t.Errorf("%s: %s with fc.in_features %d, want %s and %s", name, block, p.Net.FC.In, want.block, want.fcIn)
			}
		}
	}
}

// Two architectures side by side: rows line up by name, and exactly the
// ones whose values differ are highlighted.
func TestExplorerCompare(t *testing.T) {
	s := exShape{Classes: 1000, Batch: 1, Size: 224}
	r18 := planArch(exChoice{Name: "resnet18", Variant: model.V15}, s)
	r50 := planArch(exChoice{Name: "resnet50", Variant: model.V15}, s)
	lines := mergeRows([]exPlan{r18, r50})
	by := map[string]exLine{}
	var order []string
	for _, l := range lines {
		by[l.Name] = l
		order = append(order, l.Name)
	}
	// resnet50's rows, in order, with nothing of resnet18 missing.
	if len(lines) != len(r50.Rows) {
		t.Fatalf("%d lines, want %d", len(lines), len(r50.Rows))
	}
	for i, r := range r50.Rows {
		if order[i] != r.Name {
			t.Fatalf("line %d is %s, want %s", i, order[i], r.Name)
		}
	}
	for _, c := range []struct {
		name                 string
		differs, shape, only bool
	}{
		{"input", false, false, false}, {"conv1", false, false, false}, {"maxpool", false, false, false},
		{"layer1", true, true, false}, {"layer1.0", true, true, false}, {"layer1.2", true, false, true},
		{"layer4", true, true, false}, {"avgpool", true, true, false}, {"fc", true, false, false},
	} {
		l := by[c.name]
		if l.Differs != c.differs || l.DiffShape != c.shape || (l.Cells[0] == nil) != c.only || l.Cells[1] == nil {
			t.Errorf("%s: differs %v shape %v only-in-resnet50 %v; want %v %v %v", c.name, l.Differs, l.DiffShape, l.Cells[0] == nil, c.differs, c.shape, c.only)
		}
	}
	// v1 against v1.5: the same shapes and parameters; the MACs of the
	// first block of layers 2–4, where the stride moves, differ.
	v1 := planArch(exChoice{Name: "resnet50", Variant: model.V1}, s)
	var differ []string
	for _, l := range mergeRows([]exPlan{r50, v1}) {
		if l.DiffShape || l.DiffParams || l.DiffCut {
			t.Errorf("v1 vs v1.5: %s differs in more than MACs", l.Name)
		}
		if l.Differs {
			differ = append(differ, l.Name)
		}
	}
	if want := []string{"layer2", "layer2.0", "layer3", "layer3.0", "layer4", "layer4.0"}; !slices.Equal(differ, want) {
		t.Errorf("v1 vs v1.5 differ at %v, want %v", differ, want)
	}
	html := render(t, &ExplorerTable{Plans: []exPlan{r18, r50}, Lines: lines, Times: []*exTimes{nil, nil}})
	differs := 0
	for _, l := range lines {
		if l.Differs {
			differs++
		}
	}
	if n := strings.Count(html, `data-differs="yes"`); n != differs || n == 0 {
		t.Errorf("%d rows highlighted, want %d", n, differs)
	}
	wantAll(t, html, `resnet18 beside resnet50 v1.5`, fmt.Sprintf("%d of %d rows differ", differs, len(lines)),
		`[1, 64, 56, 56]`, `[1, 256, 56, 56]`, `not in resnet18`, `scope="colgroup"`, ` (differs)`)
}

// The explorer opens on ResNet-50 with labelled controls; the drawing
// puts the stride where the variant says, with the downsample branch.
func TestRenderExplorer(t *testing.T) {
	html := render(t, &Explorer{Backend: BackendCPU})
	wantAll(t, html, `id="explorer"`, `id="ex-table"`, `for="ex-arch-0"`, `for="ex-variant-0"`, `for="ex-classes"`,
		`for="ex-size"`, `for="ex-batch"`, `for="ex-compare"`, `id="ex-run-button"`, `data-row="layer3.5"`,
		`[1, 1024, 14, 14]`, `resnet50 v1.5: batch of 1 at 224×224, 1000 classes.`, `Runs on the CPU engine`)
	for _, name := range model.TorchvisionNames() {
		o := regexp.MustCompile(`<option[^>]*value="` + name + `"[^>]*>`).FindString(html)
		if o == "" || strings.Contains(o, "selected") != (name == "resnet50") {
			t.Errorf("option %s: %q", name, o)
		}
	}
	if strings.Contains(html, "style=") {
		t.Error("inline styles: the CSP blocks them")
	}
	diagram := func(name string, v model.Variant) string {
		p := planArch(exChoice{Name: name, Variant: v}, exShape{Classes: 10, Batch: 1, Size: 224})
		return render(t, &BlockDiagram{Prefix: "d", Title: p.Choice.Title(), Net: p.Net})
	}
	h := diagram("resnet50", model.V15)
	wantAll(t, h, `<svg`, `role="img"`, `<title id="d-title">resnet50 v1.5: the Bottleneck layer2.0</title>`, `Bottleneck`, `1×1 conv, 256 → 128; 3×3 conv, 128 → 128 (stride 2); 1×1 conv, 128 → 512`,
		`downsample`, `1×1 conv, 256 → 512`, `>1×1 conv, 128 → 512 (expands ×4)<`, `v1.5 (torchvision) puts the stride on the 3×3`)
	wantAll(t, diagram("resnet50", model.V1), `1×1 conv, 256 → 128 (stride 2); 3×3 conv, 128 → 128;`, `v1 (the paper) puts the stride on the first 1×1`)
	wantAll(t, diagram("resnext50_32x4d", model.V15), `3×3 conv, 256 → 256, 32 groups (stride 2)`)
	wantAll(t, diagram("resnet18", model.V1), `BasicBlock`, `3×3 conv, 64 → 128 (stride 2); 3×3 conv, 128 → 128`, `Basic blocks put the stride on the first 3×3`)
}

// Closed, the section is one button: the classifier's page computes
// nothing of the explorer until it is opened.
func TestRenderExplorerSectionClosed(t *testing.T) {
	html := render(t, &ExplorerSection{Backend: BackendGPU})
	wantAll(t, html, `id="explorer-toggle"`, `aria-expanded="false"`, `aria-controls="explorer"`)
	if strings.Contains(html, "ex-table") || strings.Contains(html, "<svg") {
		t.Error("the closed section draws the explorer")
	}
	html = render(t, NewPage())
	wantAll(t, html, `id="explorer-toggle"`)
	if strings.Contains(html, `id="ex-table"`) {
		t.Error("the page draws the explorer before it is opened")
	}
}

// Bad input is said, not run; big architectures ask first, huge ones
// are refused.
func TestExplorerLimits(t *testing.T) {
	for _, s := range []exShape{{Classes: 1000, Batch: 1, Size: 8}, {Classes: 0, Batch: 1, Size: 224}, {Classes: 10, Batch: 65, Size: 224}} {
		if p := planArch(exChoice{Name: "resnet18", Variant: model.V15}, s); p.Err == "" || p.tooBig() == "" {
			t.Errorf("%+v planned", s)
		}
	}
	if p := planArch(exChoice{Name: "resnet99", Variant: model.V15}, exShape{Classes: 10, Batch: 1, Size: 224}); !strings.Contains(p.Err, "unknown architecture") {
		t.Errorf("unknown arch: %q", p.Err)
	}
	s := exShape{Classes: 1000, Batch: 1, Size: 224}
	for name, heavy := range map[string]bool{"resnet18": false, "resnet152": false, "resnext101_32x8d": true, "wide_resnet101_2": true} {
		p := planArch(exChoice{Name: name, Variant: model.V15}, s)
		if (p.heavy() != "") != heavy || p.tooBig() != "" {
			t.Errorf("%s: heavy %q, too big %q", name, p.heavy(), p.tooBig())
		}
	}
	if p := planArch(exChoice{Name: "wide_resnet101_2", Variant: model.V15}, exShape{Classes: 50000, Batch: 1, Size: 224}); !strings.Contains(p.tooBig(), "int8 weights") {
		t.Errorf("wide_resnet101_2 with 50000 classes: %q", p.tooBig())
	}
	if p := planArch(exChoice{Name: "resnet152", Variant: model.V15}, exShape{Classes: 1000, Batch: 64, Size: 512}); !strings.Contains(p.tooBig(), "MACs") {
		t.Errorf("resnet152 ×64 at 512: %q", p.tooBig())
	}
	// The footer says what the weights would take (no runs: no times).
	html := render(t, &ExplorerTable{Plans: []exPlan{planArch(exChoice{Name: "wide_resnet101_2", Variant: model.V15}, s)}})
	wantAll(t, html, `127.`, ` MB as int8`, `126.89 M`)
}

// A run with random weights times every row on the CPU engine; asked for
// the GPU where there is none, it says so and runs on the CPU; a stopped
// runner runs nothing.
func TestExplorerRunRandom(t *testing.T) {
	p := planArch(exChoice{Name: "resnet18", Variant: model.V15}, exShape{Classes: 10, Batch: 2, Size: 32})
	r := newExRunner()
	var said []string
	tm, err := r.run(context.Background(), BackendGPU, p, func(s string) { said = append(said, s) })
	if err != nil {
		t.Fatal(err)
	}
	if tm.Engine != "cpu" || !strings.Contains(tm.Note, "GPU engine could not run resnet18") || tm.RunMs <= 0 || tm.Key != p.key() {
		t.Errorf("run: %+v", tm)
	}
	for _, row := range p.Rows {
		if _, ok := tm.Ms[row.Name]; !ok {
			t.Errorf("no time for %s", row.Name)
		}
	}
	if tm.Ms["layer3"] <= 0 || tm.Ms["layer3.0"] <= 0 {
		t.Errorf("layer3 took %v ms, its first block %v", tm.Ms["layer3"], tm.Ms["layer3.0"])
	}
	if !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, "generating random weights, layer 21 of 21") }) {
		t.Errorf("progress %q", said)
	}
	html := render(t, &ExplorerTable{Plans: []exPlan{p}, Lines: mergeRows([]exPlan{p}), Times: []*exTimes{&tm}})
	wantAll(t, html, "on cpu", formatMs(tm.Ms["layer3"]), formatMs(tm.RunMs))
	r.stop()
	if _, err := r.run(context.Background(), BackendCPU, p, func(string) {}); err == nil {
		t.Error("a stopped runner ran")
	}
	big := planArch(exChoice{Name: "wide_resnet101_2", Variant: model.V15}, exShape{Classes: 50000, Batch: 1, Size: 224})
	if _, err := newExRunner().run(context.Background(), BackendCPU, big, func(string) {}); err == nil || !strings.Contains(err.Error(), "int8 weights") {
		t.Errorf("a huge run: %v", err)
	}
}
