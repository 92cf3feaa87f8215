//go:build !js

package wasmsimd

import (
	"context"
	"slices"
	"testing"
)

// TestWorkersHaveOwnStacks: every instance's __stack_pointer starts the
// same (the linker's), so each worker must have been given its own stack
// of stackBytes, apart from the others' and from instance 0's (below
// __heap_base): the kernels keep small arrays there.
func TestWorkersHaveOwnStacks(t *testing.T) {
	k, err := Load(context.Background(), buildKernels(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	m := k.m.(*wazeroModule)
	if len(m.inst) != 3 {
		t.Fatalf("%d instances, want 3", len(m.inst))
	}
	var tops []uint64
	for _, inst := range m.inst {
		tops = append(tops, inst.ExportedGlobal("__stack_pointer").Get())
	}
	t.Logf("stack tops %v, heap base %d", tops, m.heapBase())
	if tops[0] > uint64(m.heapBase()) {
		t.Errorf("instance 0's stack top %d is past __heap_base %d", tops[0], m.heapBase())
	}
	slices.Sort(tops)
	for i := 1; i < len(tops); i++ {
		if tops[i]-tops[i-1] < stackBytes {
			t.Errorf("stacks with tops %d and %d overlap", tops[i-1], tops[i])
		}
	}
}
