package app

import "io"

// modelFile is a downloaded weight file, read at offsets: the decoder
// reads its header, scales and biases, and the engines each int8 weight
// when they pack it (weights.DecodeAt). In the browser its bytes stay in
// the fetch worker that downloaded them, outside the Go heap (keptFile);
// elsewhere, and where the page read the file itself, a bytes.Reader.
type modelFile interface {
	io.ReaderAt
	Size() int64
}

// settler is a modelFile that holds memory while the page loads and may
// let it go once the engines are built (keptFile).
type settler interface{ settle() }

// settleFile tells the model's file that an engine is built (locked or
// not: the file has its own lock).
func settleFile(f modelFile) {
	if s, ok := f.(settler); ok {
		s.settle()
	}
}
