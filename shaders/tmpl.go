package shaders

import (
	"fmt"
	"reflect"
	"strings"
	"text/template/parse"
)

// The WGSL files are Go templates (text/template syntax, parsed by
// text/template/parse), executed here rather than by text/template: its
// executor looks methods up by name at run time (reflect's MethodByName),
// which makes the linker keep every exported method of every type in the
// program — 7 MB more wasm for the app (10.3 → 17.5 MB). This executor
// reads struct fields only and knows the few functions the kernels use
// (printf, not, index); it supports what they need: fields, variables
// ($x := …, $x = …), if/else, range over slices (with index), template
// calls with an argument.

// tmplFuncs are the functions a kernel template may call (the parser only
// needs their names).
var tmplFuncs = map[string]any{"printf": true, "not": true, "index": true}

// parseTemplates parses files (name → text) into one set of trees, the
// {{define}}d snippets among them.
func parseTemplates(files map[string]string) (map[string]*parse.Tree, error) {
	trees := map[string]*parse.Tree{}
	for name, text := range files {
		t := parse.New(name)
		if _, err := t.Parse(text, "{{", "}}", trees, tmplFuncs); err != nil {
			return nil, err
		}
	}
	return trees, nil
}

// tmplVar is a template variable in scope.
type tmplVar struct {
	name string
	v    reflect.Value
}

// tmplExec executes one template.
type tmplExec struct {
	trees map[string]*parse.Tree
	out   strings.Builder
	vars  []tmplVar
	depth int
}

// execTemplate runs tree name of trees with data as dot and $.
func execTemplate(trees map[string]*parse.Tree, name string, data any) (string, error) {
	e := &tmplExec{trees: trees}
	if err := e.call(name, reflect.ValueOf(data)); err != nil {
		return "", err
	}
	return e.out.String(), nil
}

func (e *tmplExec) call(name string, dot reflect.Value) error {
	t := e.trees[name]
	if t == nil || t.Root == nil {
		return fmt.Errorf("no template %q", name)
	}
	if e.depth > 100 {
		return fmt.Errorf("template %q: calls nested too deep", name)
	}
	saved := e.vars
	e.vars = []tmplVar{{"$", dot}}
	e.depth++
	err := e.walk(dot, t.Root)
	e.depth--
	e.vars = saved
	if err != nil {
		return fmt.Errorf("template %s: %w", name, err)
	}
	return nil
}

func (e *tmplExec) walk(dot reflect.Value, n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := e.walk(dot, c); err != nil {
				return err
			}
		}
	case *parse.TextNode:
		e.out.Write(n.Text)
	case *parse.CommentNode:
	case *parse.ActionNode:
		v, err := e.pipe(dot, n.Pipe)
		if err != nil {
			return err
		}
		if len(n.Pipe.Decl) == 0 {
			if !v.IsValid() {
				return fmt.Errorf("%s: no value", n)
			}
			fmt.Fprint(&e.out, v.Interface())
		}
	case *parse.IfNode:
		mark := len(e.vars)
		v, err := e.pipe(dot, n.Pipe)
		if err != nil {
			return err
		}
		list := n.ElseList
		if truth(v) {
			list = n.List
		}
		err = e.walk(dot, list)
		e.vars = e.vars[:mark]
		return err
	case *parse.RangeNode:
		return e.rangeOver(dot, n)
	case *parse.TemplateNode:
		arg := reflect.Value{}
		if n.Pipe != nil {
			var err error
			if arg, err = e.pipe(dot, n.Pipe); err != nil {
				return err
			}
		}
		return e.call(n.Name, arg)
	default:
		return fmt.Errorf("%s: not supported in kernel templates", n)
	}
	return nil
}

func (e *tmplExec) rangeOver(dot reflect.Value, n *parse.RangeNode) error {
	v, err := e.value(dot, n.Pipe.Cmds)
	if err != nil {
		return err
	}
	v = indirect(v)
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return fmt.Errorf("%s: range over %s, want a slice", n, v.Kind())
	}
	if v.Len() == 0 {
		return e.walk(dot, n.ElseList)
	}
	mark := len(e.vars)
	for i := 0; i < v.Len(); i++ {
		elem := v.Index(i)
		e.vars = e.vars[:mark]
		switch len(n.Pipe.Decl) {
		case 1:
			e.vars = append(e.vars, tmplVar{n.Pipe.Decl[0].Ident[0], elem})
		case 2:
			e.vars = append(e.vars, tmplVar{n.Pipe.Decl[0].Ident[0], reflect.ValueOf(i)}, tmplVar{n.Pipe.Decl[1].Ident[0], elem})
		}
		if err := e.walk(elem, n.List); err != nil {
			return err
		}
	}
	e.vars = e.vars[:mark]
	return nil
}

// pipe evaluates a pipeline, declaring or assigning its variables.
func (e *tmplExec) pipe(dot reflect.Value, p *parse.PipeNode) (reflect.Value, error) {
	v, err := e.value(dot, p.Cmds)
	if err != nil {
		return v, err
	}
	for _, d := range p.Decl {
		name := d.Ident[0]
		if p.IsAssign {
			if err := e.assign(name, v); err != nil {
				return v, err
			}
			continue
		}
		e.vars = append(e.vars, tmplVar{name, v})
	}
	return v, nil
}

func (e *tmplExec) assign(name string, v reflect.Value) error {
	for i := len(e.vars) - 1; i >= 0; i-- {
		if e.vars[i].name == name {
			e.vars[i].v = v
			return nil
		}
	}
	return fmt.Errorf("undefined variable %s", name)
}

func (e *tmplExec) variable(name string) (reflect.Value, error) {
	for i := len(e.vars) - 1; i >= 0; i-- {
		if e.vars[i].name == name {
			return e.vars[i].v, nil
		}
	}
	return reflect.Value{}, fmt.Errorf("undefined variable %s", name)
}

// value evaluates a pipeline of one command (kernel templates chain none).
func (e *tmplExec) value(dot reflect.Value, cmds []*parse.CommandNode) (reflect.Value, error) {
	if len(cmds) != 1 {
		return reflect.Value{}, fmt.Errorf("pipelines of %d commands are not supported in kernel templates", len(cmds))
	}
	args := cmds[0].Args
	if id, ok := args[0].(*parse.IdentifierNode); ok {
		vals := make([]reflect.Value, len(args)-1)
		for i, a := range args[1:] {
			v, err := e.arg(dot, a)
			if err != nil {
				return v, err
			}
			vals[i] = v
		}
		return callFunc(id.Ident, vals)
	}
	if len(args) != 1 {
		return reflect.Value{}, fmt.Errorf("%s: arguments to a non-function", cmds[0])
	}
	return e.arg(dot, args[0])
}

func (e *tmplExec) arg(dot reflect.Value, n parse.Node) (reflect.Value, error) {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.FieldNode:
		return fields(dot, n.Ident)
	case *parse.VariableNode:
		v, err := e.variable(n.Ident[0])
		if err != nil {
			return v, err
		}
		return fields(v, n.Ident[1:])
	case *parse.ChainNode:
		v, err := e.arg(dot, n.Node)
		if err != nil {
			return v, err
		}
		return fields(v, n.Field)
	case *parse.PipeNode:
		return e.value(dot, n.Cmds)
	case *parse.StringNode:
		return reflect.ValueOf(n.Text), nil
	case *parse.NumberNode:
		if n.IsInt {
			return reflect.ValueOf(int(n.Int64)), nil
		}
		return reflect.ValueOf(n.Float64), nil
	case *parse.BoolNode:
		return reflect.ValueOf(n.True), nil
	}
	return reflect.Value{}, fmt.Errorf("%s: not supported in kernel templates", n)
}

// fields follows a chain of struct field names from v.
func fields(v reflect.Value, names []string) (reflect.Value, error) {
	for _, name := range names {
		s := indirect(v)
		if s.Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("field %s of a %s", name, s.Kind())
		}
		f := s.FieldByName(name)
		if !f.IsValid() || !f.CanInterface() {
			return reflect.Value{}, fmt.Errorf("no field %s in %s", name, s.Type())
		}
		v = f
	}
	return v, nil
}

func callFunc(name string, args []reflect.Value) (reflect.Value, error) {
	switch name {
	case "printf":
		if len(args) < 1 || indirect(args[0]).Kind() != reflect.String {
			return reflect.Value{}, fmt.Errorf("printf wants a format")
		}
		rest := make([]any, len(args)-1)
		for i, a := range args[1:] {
			rest[i] = a.Interface()
		}
		return reflect.ValueOf(fmt.Sprintf(indirect(args[0]).String(), rest...)), nil
	case "not":
		if len(args) != 1 {
			return reflect.Value{}, fmt.Errorf("not wants one argument")
		}
		return reflect.ValueOf(!truth(args[0])), nil
	case "index":
		if len(args) < 2 {
			return reflect.Value{}, fmt.Errorf("index wants a slice and indices")
		}
		v := args[0]
		for _, i := range args[1:] {
			v = indirect(v)
			if (v.Kind() != reflect.Slice && v.Kind() != reflect.Array) || !i.CanInt() || i.Int() < 0 || int(i.Int()) >= v.Len() {
				return reflect.Value{}, fmt.Errorf("index %v out of range", i)
			}
			v = v.Index(int(i.Int()))
		}
		return v, nil
	}
	return reflect.Value{}, fmt.Errorf("unknown function %s", name)
}

func indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() {
		v = v.Elem()
	}
	return v
}

// truth is text/template's: false, 0, "", nil and empty collections are false.
func truth(v reflect.Value) bool {
	v = indirect(v)
	if !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return v.Float() != 0
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return v.Len() > 0
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil()
	}
	return true
}
