package convert

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Limits on what the TF.js, npm tarball and labels readers take in. Each
// input is checked against them (and against what the manifest says it
// needs) before anything of its size is allocated.
const (
	// maxModelJSON caps a model.json (ResNet-50's is 0.1 MB).
	maxModelJSON = 64 << 20
	// maxLabelsBytes caps a labels file (ImageNet's 1000 names are 30 kB).
	maxLabelsBytes = 4 << 20
	// maxLabels caps the names in a labels file whose class count is not
	// known (ImageNet-21k has 21841 classes).
	maxLabels = 1 << 16
	// maxWeightBytes caps the weight bytes a TF.js manifest may declare,
	// all groups together (the largest torchvision ResNet,
	// wide_resnet101_2, is 0.5 GB of float32).
	maxWeightBytes = 1 << 30
)

// Files a checkpoint names (TF.js shards, labels.json beside model.json)
// are opened through an os.Root at the checkpoint's folder: `..` and
// symbolic links that lead out of it are refused; links that stay inside
// it are followed. Files the user names (model.json, the tarball, -labels)
// are opened as given, symbolic links followed. Either way only regular
// files are read: FIFOs, devices, sockets and directories are refused
// without blocking on them (nonblockFlag, on Unix).

// openRegular opens name (relative to root, or as given when root is nil)
// for reading and returns it with its size; anything but a regular file is
// an error. Errors do not repeat the name: callers prefix it.
func openRegular(root *os.Root, name string) (*os.File, int64, error) {
	var f *os.File
	var err error
	if root != nil {
		f, err = root.OpenFile(filepath.FromSlash(name), os.O_RDONLY|nonblockFlag, 0)
	} else {
		f, err = os.OpenFile(name, os.O_RDONLY|nonblockFlag, 0)
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("not a regular file (%s)", describeMode(st.Mode()))
	}
	return f, st.Size(), nil
}

// describeMode names a non-regular file's type for an error message.
func describeMode(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "mode " + m.String()
}

// readCapped reads a whole regular file of at most max bytes (see
// openRegular).
func readCapped(root *os.Root, name string, max int64) ([]byte, error) {
	f, size, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > max {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", size, max)
	}
	// The size is the one Stat gave; read one byte more to catch a file
	// that grew since.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than the %d bytes allowed", max)
	}
	return b, nil
}

// readExact reads a regular file that must hold exactly n bytes (see
// openRegular).
func readExact(root *os.Root, name string, n int64) ([]byte, error) {
	f, size, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size != n {
		return nil, fmt.Errorf("has %d bytes, expected %d", size, n)
	}
	b := make([]byte, n)
	if got, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("has %d bytes, expected %d (shrank while read)", got, n)
		}
		return nil, err
	}
	var one [1]byte
	if m, _ := f.Read(one[:]); m > 0 {
		return nil, fmt.Errorf("has more than the %d bytes expected (grew while read)", n)
	}
	return b, nil
}
