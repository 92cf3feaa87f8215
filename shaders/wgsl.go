package shaders

import (
	"bytes"
	"embed"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

//go:embed *.wgsl
var wgslFiles embed.FS

// commonWGSL holds the snippets ({{define}}s) that several kernels share;
// it is parsed with every kernel file.
const commonWGSL = "common.wgsl"

// templates parses each embedded kernel file (with commonWGSL) once.
var templates = sync.OnceValues(func() (map[string]*template.Template, error) {
	entries, err := wgslFiles.ReadDir(".")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, e := range entries {
		name := e.Name()
		if name == commonWGSL {
			continue
		}
		t, err := template.New(name).Option("missingkey=error").ParseFS(wgslFiles, commonWGSL, name)
		if err != nil {
			return nil, fmt.Errorf("wgsl %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
})

// render executes an embedded WGSL template (Go's text/template) with data,
// a struct whose fields are the kernel's constants and variant switches.
// Constants go into the text because naga's SPIR-V output does not
// support `override`. A name the template uses must be a field of data
// (text/template fails on unknown fields), and every field of data must be
// used by the template, so a typo or a stale field fails loudly instead of
// compiling a different kernel.
func render(file string, data any) (string, error) {
	ts, err := templates()
	if err != nil {
		return "", err
	}
	t, ok := ts[file]
	if !ok || file == commonWGSL {
		return "", fmt.Errorf("wgsl %s: no such kernel template", file)
	}
	if unused := unusedFields(t, data); len(unused) > 0 {
		return "", fmt.Errorf("wgsl %s: unused values %s", file, strings.Join(unused, ", "))
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("wgsl %s: %w", file, err)
	}
	return b.String(), nil
}

// unusedFields lists data's exported fields (and those of the structs in
// its slices, as `range` gives them) that no template of t names.
func unusedFields(t *template.Template, data any) []string {
	used := map[string]bool{}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			fieldNames(tt.Tree.Root, used)
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
