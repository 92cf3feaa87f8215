package app

import (
	"fmt"
	"strconv"
	"strings"
)

// formatBytes writes a byte count for people: "25.6 MB", "940 KB", "12 B".
func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// formatCount writes a large count compactly: "25.56 M", "4.09 G", "9,408".
func formatCount(n int64) string {
	switch {
	case n == 0:
		return "–"
	case n >= 1e9:
		return fmt.Sprintf("%.2f G", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1f K", float64(n)/1e3)
	}
	return groupThousands(n)
}

// groupThousands writes n with comma separators: 9408 → "9,408".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatShape writes a tensor shape as the inspector shows it: "[1, 64, 112, 112]".
func formatShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// formatMs writes a duration in milliseconds with sensible precision.
func formatMs(ms float64) string {
	switch {
	case ms <= 0:
		return "–"
	case ms < 1:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// formatPercent writes a probability as a percentage: 0.7512 → "75.1%".
func formatPercent(p float32) string {
	v := float64(p) * 100
	if v > 0 && v < 0.1 {
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", v)
}
