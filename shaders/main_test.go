package shaders

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestMain(m *testing.M) {
	// The Vulkan loader warns without it; tests must not depend on the caller's env.
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir := filepath.Join(os.TempDir(), "residual-xdg")
		if err := os.MkdirAll(dir, 0o700); err == nil {
			os.Setenv("XDG_RUNTIME_DIR", dir)
		}
	}
	// RESIDUAL_TILE=WG.TM.TN runs every conv with that tile, to measure.
	if v := os.Getenv("RESIDUAL_TILE"); v != "" {
		if _, err := fmt.Sscanf(v, "%d.%d.%d", &tileOverride.WG, &tileOverride.TM, &tileOverride.TN); err != nil {
			fmt.Fprintf(os.Stderr, "RESIDUAL_TILE %q: %v\n", v, err)
			os.Exit(2)
		}
	}
	code := m.Run()
	if testDev != nil {
		testDev.Close()
	}
	os.Exit(code)
}

var (
	testOnce sync.Once
	testDev  *Device
	testErr  error
)

// device opens the shared test device (Vulkan natively, WebGPU when the
// test binary runs in a browser). A missing adapter fails the test: the
// GPU engine is part of what `go test` must prove.
func device(t testing.TB) *Device {
	t.Helper()
	testOnce.Do(func() { testDev, testErr = Open(context.Background()) })
	if testErr != nil {
		t.Fatalf("open GPU device (Vulkan required; install mesa-vulkan-drivers): %v", testErr)
	}
	return testDev
}

func TestOpenReportsDevice(t *testing.T) {
	d := device(t)
	t.Logf("device: %s; limits: storage binding %d, buffer %d, workgroup storage %d, invocations %d",
		d.Name(), d.Limits().MaxStorageBufferBindingSize, d.Limits().MaxBufferSize,
		d.Limits().MaxComputeWorkgroupStorageSize, d.Limits().MaxComputeInvocationsPerWorkgroup)
	if err := checkBackend(d.Info()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Name(), wantNamePrefix) {
		t.Fatalf("device name %q, want prefix %q", d.Name(), wantNamePrefix)
	}
	if err := checkLimits(d.Limits()); err != nil {
		t.Fatalf("device limits: %v", err)
	}
}
