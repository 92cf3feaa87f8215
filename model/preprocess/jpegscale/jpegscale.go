// Package jpegscale decodes baseline and progressive JPEG files at 1/2,
// 1/4 or 1/8 of their size in the DCT domain, the way libjpeg's scaled
// decoding (PIL's draft mode) does: each 8×8 block's low frequencies go
// through a smaller inverse DCT, so a photo of 50 megapixels or more never
// exists at full resolution, and a progressive file keeps only the
// coefficients the smaller picture needs. The preprocess package uses it
// for photos too large to decode whole; smaller ones go through Go's
// image/jpeg, whose full-size output matches PIL's more closely.
//
// Like libjpeg-turbo, a subsampled chroma component is decoded through a
// larger inverse DCT when that brings it to the luma's resolution (4:2:0
// at 1/2 gives 4:4:4), so it needs no upsampling.
//
// It reads 8-bit Huffman-coded JPEGs with one (grey) or three (YCbCr or
// RGB) components; arithmetic coding, 12-bit, lossless, hierarchical and
// four-component (CMYK) files are refused with ErrUnsupported. It never
// panics on any input, and allocates only what Info.Bytes says, from the
// frame header, before reading any entropy-coded data.
package jpegscale

import (
	"errors"
	"fmt"
	"image"
)

// Errors Decode and ReadInfo wrap (test with errors.Is).
var (
	// ErrUnsupported is a valid JPEG of a kind this package does not read.
	ErrUnsupported = errors.New("unsupported JPEG")
	// ErrCorrupt is malformed or truncated data.
	ErrCorrupt = errors.New("corrupt JPEG")
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// Info is what a JPEG's frame header says, enough to tell how much memory
// a decode takes before starting one.
type Info struct {
	Width, Height int
	// Components is 1 (grey), 3 (YCbCr or RGB) or 4 (CMYK/YCCK).
	Components int
	// Progressive is true for a progressive (SOF2) file, whose
	// coefficients must all be kept until its last scan.
	Progressive bool
	// H and V are each component's sampling factors (1–4).
	H, V [4]int
	// RGB is true when three components are R, G and B rather than
	// YCbCr: an Adobe marker with transform 0, or component ids 'R', 'G',
	// 'B' without a JFIF marker (as Go's image/jpeg decides).
	RGB bool
}

// Scales are the reductions Decode offers: 1 (full size), 2, 4 and 8.
var Scales = []int{1, 2, 4, 8}

// Size is the picture's size decoded at 1/scale: each side divided,
// rounding up (libjpeg's output_width).
func (in Info) Size(scale int) (w, h int) {
	return ceilDiv(in.Width, scale), ceilDiv(in.Height, scale)
}

// Bytes is how much memory Decode allocates for this picture at 1/scale:
// the output planes, plus for a progressive file the kept coefficients
// and a bitmap of which coefficients are nonzero, plus the RGBA picture of
// an RGB file. It is 0 when the header describes no picture this package
// can decode.
func (in Info) Bytes(scale int) int64 {
	f, err := newFrame(in, scale, false)
	if err != nil {
		return 0
	}
	return f.bytes()
}

// ReadInfo parses data's markers up to its first scan.
func ReadInfo(data []byte) (Info, error) {
	d := &decoder{data: data}
	if err := d.readHeaders(false); err != nil {
		return Info{}, err
	}
	return d.info, nil
}

// Decode decodes a JPEG at 1/scale (1, 2, 4 or 8). The result is an
// *image.Gray, an *image.YCbCr (whose chroma may still be subsampled, for
// the caller to upsample as libjpeg does) or, for an RGB JPEG, an
// *image.RGBA.
func Decode(data []byte, scale int) (image.Image, error) {
	switch scale {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("jpegscale: scale %d is not 1, 2, 4 or 8", scale)
	}
	d := &decoder{data: data, scale: scale}
	if err := d.readHeaders(true); err != nil {
		return nil, err
	}
	if err := d.readScans(); err != nil {
		return nil, err
	}
	return d.frame.image()
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
