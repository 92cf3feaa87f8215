//go:build !js

package shaders

import (
	"strings"
	"testing"

	"github.com/gogpu/gputypes"
)

// wantNamePrefix is how a native device names itself.
const wantNamePrefix = "vulkan: "

func TestCheckBackendRejectsNonVulkan(t *testing.T) {
	for _, b := range []gputypes.Backend{gputypes.BackendEmpty, gputypes.BackendGL, gputypes.BackendMetal} {
		err := checkBackend(gputypes.AdapterInfo{Name: "x", Backend: b})
		if err == nil || !strings.Contains(err.Error(), "need Vulkan") {
			t.Fatalf("backend %s: got %v, want a Vulkan error", b, err)
		}
	}
	if err := checkBackend(gputypes.AdapterInfo{Name: "llvmpipe", Backend: gputypes.BackendVulkan}); err != nil {
		t.Fatalf("vulkan rejected: %v", err)
	}
}
