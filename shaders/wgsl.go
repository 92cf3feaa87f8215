package shaders

import (
	"embed"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"text/template/parse"
)

//go:embed *.wgsl
var wgslFiles embed.FS

// commonWGSL holds the snippets ({{define}}s) that several kernels share;
// it is parsed with every kernel file.
const commonWGSL = "common.wgsl"

// templates parses each embedded kernel file (with commonWGSL) once.
var templates = sync.OnceValues(func() (map[string]map[string]*parse.Tree, error) {
	entries, err := wgslFiles.ReadDir(".")
	if err != nil {
		return nil, err
	}
	common, err := wgslFiles.ReadFile(commonWGSL)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]*parse.Tree{}
	for _, e := range entries {
		name := e.Name()
		if name == commonWGSL {
			continue
		}
		text, err := wgslFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		trees, err := parseTemplates(map[string]string{commonWGSL: string(common), name: string(text)})
		if err != nil {
			return nil, fmt.Errorf("wgsl %s: %w", name, err)
		}
		out[name] = trees
	}
	return out, nil
})

// render executes an embedded WGSL template (text/template syntax, run by
// tmpl.go) with data, a struct whose fields are the kernel's constants and
// variant switches. Constants go into the text because naga's SPIR-V
// output does not support `override`. A name the template uses must be a
// field of data, and every field of data must be used by the template, so
// a typo or a stale field fails loudly instead of compiling a different
// kernel.
func render(file string, data any) (string, error) {
	ts, err := templates()
	if err != nil {
		return "", err
	}
	trees, ok := ts[file]
	if !ok || file == commonWGSL {
		return "", fmt.Errorf("wgsl %s: no such kernel template", file)
	}
	if unused := unusedFields(trees, data); len(unused) > 0 {
		return "", fmt.Errorf("wgsl %s: unused values %s", file, strings.Join(unused, ", "))
	}
	src, err := execTemplate(trees, file, data)
	if err != nil {
		return "", fmt.Errorf("wgsl %s: %w", file, err)
	}
	return src, nil
}

// unusedFields lists data's exported fields (and those of the structs in
// its slices, as `range` gives them) that no tree names.
func unusedFields(trees map[string]*parse.Tree, data any) []string {
	used := map[string]bool{}
	for _, t := range trees {
		if t.Root != nil {
			fieldNames(t.Root, used)
		}
	}
	var unused []string
	var walk func(typ reflect.Type, prefix string)
	seen := map[reflect.Type]bool{}
	walk = func(typ reflect.Type, prefix string) {
		for typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			if !used[f.Name] {
				unused = append(unused, prefix+f.Name)
			}
			walk(f.Type, prefix+f.Name+".")
		}
	}
	if data != nil {
		walk(reflect.TypeOf(data), "")
	}
	sort.Strings(unused)
	return unused
}

// fieldNames collects the field names a template's parse tree refers to.
func fieldNames(n parse.Node, used map[string]bool) {
	mark := func(ids []string) {
		for _, id := range ids {
			used[id] = true
		}
	}
	branch := func(b *parse.BranchNode) []parse.Node { return []parse.Node{b.Pipe, b.List, b.ElseList} }
	var kids []parse.Node
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			kids = n.Nodes
		}
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				kids = append(kids, c)
			}
		}
	case *parse.ActionNode:
		kids = []parse.Node{n.Pipe}
	case *parse.TemplateNode:
		kids = []parse.Node{n.Pipe}
	case *parse.CommandNode:
		kids = n.Args
	case *parse.FieldNode:
		mark(n.Ident)
	case *parse.VariableNode:
		mark(n.Ident[1:])
	case *parse.ChainNode:
		kids = []parse.Node{n.Node}
		mark(n.Field)
	case *parse.IfNode:
		kids = branch(&n.BranchNode)
	case *parse.RangeNode:
		kids = branch(&n.BranchNode)
	case *parse.WithNode:
		kids = branch(&n.BranchNode)
	}
	for _, k := range kids {
		fieldNames(k, used)
	}
}

// seq is the index list 0, 1, …, n-1, for a template to range over.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
