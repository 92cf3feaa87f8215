package convert

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

//go:embed imagenet_classes.txt
var imagenetClasses string

// ImageNetLabels returns the 1000 ImageNet class names in torchvision's
// order (index i is class i of every torchvision classifier).
func ImageNetLabels() []string {
	return strings.Split(strings.TrimRight(imagenetClasses, "\n"), "\n")
}

// ReadLabels reads class names from a file: a JSON array of strings, a JSON
// object mapping "0", "1", … to names (as Keras' labels.json), or plain text
// with one name per line (blank trailing lines ignored). The file must be a
// regular file (symbolic links followed) of at most 4 MB with at most 65536
// names.
func ReadLabels(path string) ([]string, error) {
	data, err := readCapped(nil, path, maxLabelsBytes)
	if err != nil {
		return nil, fmt.Errorf("read labels %s: %w", path, err)
	}
	l, err := ParseLabels(data)
	if err != nil {
		return nil, fmt.Errorf("read labels %s: %w", path, err)
	}
	return l, nil
}

// ParseLabels is ReadLabels on bytes already in memory (at most 4 MB and
// 65536 names).
func ParseLabels(data []byte) ([]string, error) {
	return parseLabelsFor(data, 0)
}

// parseLabelsFor parses a labels file for a classifier of classes outputs:
// a file with more or fewer names is an error. classes 0 means unknown: at
// most maxLabels names.
func parseLabelsFor(data []byte, classes int) ([]string, error) {
	if len(data) > maxLabelsBytes {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(data), maxLabelsBytes)
	}
	l, err := parseLabels(data)
	if err != nil {
		return nil, err
	}
	switch {
	case classes > 0 && len(l) != classes:
		return nil, fmt.Errorf("%d labels for the classifier's %d classes", len(l), classes)
	case len(l) > maxLabels:
		return nil, fmt.Errorf("%d labels, more than the %d allowed", len(l), maxLabels)
	}
	return l, nil
}

func parseLabels(data []byte) ([]string, error) {
	trimmed := strings.TrimSpace(string(data))
	switch {
	case trimmed == "":
		return nil, fmt.Errorf("no labels")
	case trimmed[0] == '[':
		var l []string
		if err := json.Unmarshal(data, &l); err != nil {
			return nil, fmt.Errorf("JSON array of strings: %w", err)
		}
		return checkLabels(l)
	case trimmed[0] == '{':
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("JSON object of index → name: %w", err)
		}
		l := make([]string, len(m))
		for k, v := range m {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(m) {
				return nil, fmt.Errorf("JSON object key %q is not an index in [0,%d)", k, len(m))
			}
			l[i] = v
		}
		return checkLabels(l)
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), "\n")
	return checkLabels(lines)
}

// checkLabels rejects empty names (a blank line in the middle of a file
// would shift every class after it).
func checkLabels(l []string) ([]string, error) {
	for i, s := range l {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("label %d is empty", i)
		}
	}
	return l, nil
}
