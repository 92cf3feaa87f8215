package shaders

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.wgsl
var wgslFiles embed.FS

var placeholder = regexp.MustCompile(`\{\{[A-Za-z0-9_]+\}\}`)

// render fills the {{NAME}} placeholders of an embedded WGSL file. Constants
// go into the text because naga's SPIR-V output does not support `override`.
// Every placeholder must be given and every given name must be used, so a
// typo fails loudly instead of compiling a different kernel.
func render(file string, vars map[string]string) (string, error) {
	b, err := wgslFiles.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("wgsl %s: %w", file, err)
	}
	src := string(b)
	used := map[string]bool{}
	var missing []string
	out := placeholder.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-2]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		used[name] = true
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("wgsl %s: no value for %s", file, strings.Join(missing, ", "))
	}
	var unused []string
	for k := range vars {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return "", fmt.Errorf("wgsl %s: unused values %s", file, strings.Join(unused, ", "))
	}
	return out, nil
}

// u is a WGSL u32 literal.
func u(v int) string { return fmt.Sprintf("%du", v) }
