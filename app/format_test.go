package app

import "testing"

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{formatBytes(25_614_000), "25.6 MB"},
		{formatBytes(940_000), "940 KB"},
		{formatBytes(12), "12 B"},
		{formatCount(25_557_032), "25.56 M"},
		{formatCount(4_089_184_256), "4.09 G"},
		{formatCount(9_408), "9,408"},
		{formatCount(0), "–"},
		{groupThousands(-1234567), "-1,234,567"},
		{formatShape([]int{1, 64, 112, 112}), "[1, 64, 112, 112]"},
		{formatShape([]int{1, 1000}), "[1, 1000]"},
		{formatMs(0.5), "0.50 ms"},
		{formatMs(12.34), "12.3 ms"},
		{formatMs(1234.5), "1234 ms"},
		{formatMs(0), "–"},
		{formatPercent(0.7512), "75.1%"},
		{formatPercent(0.0004), "<0.1%"},
		{formatPercent(0), "0.0%"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestChooseModel(t *testing.T) {
	for q, want := range map[string]string{
		"":                           defaultModel,
		"resnet18-f32.safetensors":   "resnet18-f32.safetensors",
		"../secret.safetensors":      defaultModel,
		"a/b.safetensors":            defaultModel,
		"x.bin":                      defaultModel,
		".hidden.safetensors":        defaultModel,
		"https://evil/x.safetensors": defaultModel,
	} {
		if got := chooseModel(q); got != want {
			t.Errorf("chooseModel(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestLatencyBook(t *testing.T) {
	b := latencyBook{}
	if l := b.add("cpu", 224, 1, 900); l.FirstMs != 900 || l.Runs != 1 || l.WarmMs != 0 {
		t.Errorf("first: %+v", l)
	}
	if l := b.add("cpu", 224, 1, 300); l.FirstMs != 900 || l.WarmMs != 300 || l.Runs != 2 {
		t.Errorf("warm: %+v", l)
	}
	// Another size or batch is a cold start again (new plan, new buffers).
	if l := b.add("cpu", 320, 1, 1200); l.FirstMs != 1200 || l.Runs != 1 {
		t.Errorf("new size: %+v", l)
	}
	if l := b.add("cpu", 224, 2, 1500); l.FirstMs != 1500 || l.Runs != 1 {
		t.Errorf("new batch: %+v", l)
	}
}
