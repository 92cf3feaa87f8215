// Package preprocess turns image files into network inputs the way
// torchvision does on PIL images: decode, convert("RGB"), Resize (PIL's
// antialiased bilinear), CenterCrop, ToTensor, Normalize. It runs natively
// and in the browser (GOOS=js GOARCH=wasm, one thread): pure Go, no
// goroutines.
package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"

	"github.com/residual-webgpu/residual/model/preprocess/jpegscale"
	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// MaxPixels is the largest picture Decode returns and Prepare takes (50
// megapixels). Larger PNG, GIF, BMP and WebP files are refused from their
// header, before any pixel memory is taken; larger JPEGs, up to
// MaxJPEGPixels, are decoded at a reduced scale.
const MaxPixels = 50_000_000

// MaxFileBytes is the largest image file the page and cmd/classify read
// (64 MB): a 200-megapixel phone JPEG fits, and an accidental video is
// stopped before it is read.
const MaxFileBytes = 64 << 20

// Errors Decode wraps (test with errors.Is); the message names the file.
var (
	// ErrEmpty is a zero-byte file.
	ErrEmpty = errors.New("empty file")
	// ErrNotImage is data with no known image signature.
	ErrNotImage = errors.New("not an image")
	// ErrUnsupported is a recognised image format this package cannot decode.
	ErrUnsupported = errors.New("unsupported image format")
	// ErrTooLarge is an image over MaxPixels.
	ErrTooLarge = errors.New("image too large")
	// ErrCorrupt is a known format whose data is corrupt or truncated.
	ErrCorrupt = errors.New("corrupt image")
)

// Format is a decodable file format, detected from the data's signature.
type Format string

// The formats Decode reads.
const (
	JPEG Format = "JPEG"
	PNG  Format = "PNG"
	GIF  Format = "GIF"
	BMP  Format = "BMP"
	WebP Format = "WebP"
)

// decodeError is an error about one file: "name: msg", matching kind
// (one of the Err values) and cause (a decoder's own error) with errors.Is.
type decodeError struct {
	name, msg string
	kind      error
	cause     error
}

func (e *decodeError) Error() string { return e.name + ": " + e.msg }
func (e *decodeError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func fail(name string, kind error, cause error, format string, args ...any) error {
	return &decodeError{name: name, msg: fmt.Sprintf(format, args...), kind: kind, cause: cause}
}

// Sniff says which format data is in from its first bytes (not from a file
// name), or "" when it is none of them.
func Sniff(data []byte) Format {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF
	case len(data) >= 14 && data[0] == 'B' && data[1] == 'M':
		return BMP
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP
	}
	return ""
}

// unsupportedFormat names formats people often try that Decode cannot read,
// so the error can say what the file is instead of "not an image".
func unsupportedFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "TIFF"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		switch string(data[8:12]) {
		case "avif", "avis":
			return "AVIF"
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "HEIC/HEIF"
		}
	case bytes.HasPrefix(data, []byte("\xFF\x0A")), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0CJXL \r\n\x87\n")):
		return "JPEG XL"
	case bytes.HasPrefix(data, []byte("\x00\x00\x01\x00")):
		return "ICO"
	case bytes.HasPrefix(data, []byte("8BPS")):
		return "Photoshop"
	case bytes.HasPrefix(data, []byte("%PDF")):
		return "PDF"
	}
	head := data[:min(len(data), 512)]
	if bytes.Contains(head, []byte("<svg")) {
		return "SVG"
	}
	return ""
}

// Decode reads an image file of any supported format (JPEG, PNG, GIF's
// first frame, BMP, WebP), detected from its content, not its name; name
// is only used in errors. The EXIF orientation of JPEG, PNG (eXIf) and WebP
// files is applied, so the result is upright as a viewer shows it (unlike
// plain PIL.Image.open: torchvision users get this only with
// ImageOps.exif_transpose). An oriented result is an opaque *image.RGBA
// (alpha dropped, as Prepare would); other results are the decoder's own
// image, except lossy WebP, which is converted to *image.RGBA the way
// libwebp does (Go's YCbCr types would read its limited-range colours as
// full-range). A JPEG stays the decoder's *image.YCbCr (or Gray, CMYK):
// Prepare converts it like libjpeg, with "fancy" chroma upsampling, while
// its At method is Go's simpler conversion, fine for display.
//
// Large JPEGs are decoded at 1/2, 1/4 or 1/8 of their size in the DCT
// domain (as PIL's draft mode does) when decoding them whole would take
// more than DecodeBudget: a 50-megapixel progressive photo is read at 1/4
// in about 40 MB, not 375. The reduced picture is still far larger than
// any network input, so only the resize's starting point changes.
//
// Errors name the file and say what is wrong; images over MaxPixels
// (JPEGs: MaxJPEGPixels) are refused from the header, before pixels are
// decoded. Decode never panics.
func Decode(name string, data []byte) (img image.Image, err error) {
	if len(data) == 0 {
		return nil, fail(name, ErrEmpty, nil, "empty file")
	}
	f := Sniff(data)
	if f == "" {
		if u := unsupportedFormat(data); u != "" {
			return nil, fail(name, ErrUnsupported, nil, "%s images are not supported (use JPEG, PNG, GIF, BMP or WebP)", u)
		}
		return nil, fail(name, ErrNotImage, nil, "not an image (no JPEG/PNG/GIF/BMP/WebP signature)")
	}
	var cfg image.Config
	if err := guard(func() (err error) { cfg, err = decodeConfig(f, data); return err }); err != nil {
		return nil, fail(name, ErrCorrupt, err, "corrupt %s header: %v", f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fail(name, ErrCorrupt, nil, "corrupt %s header: %d×%d has no pixels", f, cfg.Width, cfg.Height)
	}
	px, limit := int64(cfg.Width)*int64(cfg.Height), int64(MaxPixels)
	if f == JPEG {
		limit = MaxJPEGPixels
	}
	if px > limit {
		return nil, fail(name, ErrTooLarge, nil, "%d×%d is %.1f megapixels, over the %d megapixel limit",
			cfg.Width, cfg.Height, float64(px)/1e6, limit/1_000_000)
	}
	// The EXIF orientation, read once: a JPEG's plan counts the upright
	// copy a rotation makes.
	o := 1
	if err := guard(func() error { o = orientation(f, data); return nil }); err != nil {
		return nil, fail(name, ErrCorrupt, err, "corrupt %s: %v", f, err)
	}
	plan := jpegPlan{scale: 1}
	if f == JPEG {
		var tooLarge string
		err := guard(func() (err error) { plan, tooLarge, err = planJPEG(data, o); return err })
		switch {
		case tooLarge != "":
			return nil, fail(name, ErrTooLarge, nil, "%s", tooLarge)
		case err != nil && px > MaxPixels: // a header only image/jpeg reads
			return nil, fail(name, ErrTooLarge, nil, "%d×%d is %.1f megapixels, over the %d megapixel limit",
				cfg.Width, cfg.Height, float64(px)/1e6, MaxPixels/1_000_000)
		case err != nil:
			plan = jpegPlan{scale: 1}
		}
	}
	if err := tooShort(f, data, cfg); err != nil {
		return nil, fail(name, ErrCorrupt, err, "truncated %s: %v", f, err)
	}
	if plan.scale > 1 {
		err = guard(func() (err error) { img, err = jpegscale.Decode(data, plan.scale); return err })
		cfg.Width, cfg.Height = plan.info.Size(plan.scale)
	} else {
		err = guard(func() (err error) { img, err = decodePixels(f, data); return err })
		if err != nil && f == JPEG && plan.info.Width > 0 && plan.info.Bytes(1) <= DecodeBudget {
			// image/jpeg refuses some valid files (progressive with
			// restart markers); jpegscale reads them at full size.
			if m, err2 := jpegscale.Decode(data, 1); err2 == nil {
				img, err = m, nil
			}
		}
	}
	if err != nil {
		return nil, fail(name, ErrCorrupt, err, "corrupt or truncated %s: %v", f, err)
	}
	if p, ok := img.(*image.Paletted); ok && f == GIF && p.Rect != image.Rect(0, 0, cfg.Width, cfg.Height) {
		img = onScreen(p, cfg.Width, cfg.Height)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fail(name, ErrCorrupt, nil, "corrupt %s: header says %d×%d, pixels are %d×%d", f, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	err = guard(func() error {
		if f == WebP {
			img = webpToRGBA(img)
		}
		if o > 1 {
			img = orient(img, o)
		}
		return nil
	})
	if err != nil {
		return nil, fail(name, ErrCorrupt, err, "corrupt %s: %v", f, err)
	}
	return img, nil
}

// tooShort catches PNG and BMP files far too small for the size their
// header claims, before the decoder allocates the whole image: deflate
// expands at most 1032:1, and BMP pixels are stored uncompressed. (JPEG
// and WebP have no such bound: a progressive JPEG can skip whole runs of
// blocks in a few bits.)
func tooShort(f Format, data []byte, cfg image.Config) error {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch f {
	case PNG:
		if len(data) < 26 {
			return nil
		}
		channels := map[byte]int64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[data[25]]
		bits := px * channels * int64(data[24]) // pixel data alone, no filter bytes
		if int64(len(data))*1100*8 < bits {
			return fmt.Errorf("%d bytes cannot hold %d×%d pixels", len(data), cfg.Width, cfg.Height)
		}
	case BMP:
		if len(data) < 34 {
			return nil
		}
		offset := int64(binary.LittleEndian.Uint32(data[10:]))
		bpp := int64(binary.LittleEndian.Uint16(data[28:]))
		if c := binary.LittleEndian.Uint32(data[30:]); c != 0 && c != 3 { // not BI_RGB or BI_BITFIELDS
			return nil
		}
		row := (int64(cfg.Width)*bpp + 31) / 32 * 4
		if need := offset + row*int64(cfg.Height); int64(len(data)) < need {
			return fmt.Errorf("%d bytes cannot hold %d×%d pixels (%d bytes)", len(data), cfg.Width, cfg.Height, need)
		}
	}
	return nil
}

// guard runs f, turning a panic inside a third-party decoder into an error.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return f()
}

// onScreen places a GIF's first frame, which may cover only part of the
// logical screen, on a screen-sized image; the rest is palette index 0.
func onScreen(p *image.Paletted, w, h int) *image.Paletted {
	s := image.NewPaletted(image.Rect(0, 0, w, h), p.Palette)
	r := p.Rect.Intersect(s.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(s.Pix[s.PixOffset(r.Min.X, y):s.PixOffset(r.Max.X, y)], p.Pix[p.PixOffset(r.Min.X, y):p.PixOffset(r.Max.X, y)])
	}
	return s
}

func decodeConfig(f Format, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		return jpeg.DecodeConfig(r)
	case PNG:
		return png.DecodeConfig(r)
	case GIF:
		return gif.DecodeConfig(r)
	case BMP:
		return bmp.DecodeConfig(r)
	default:
		return webp.DecodeConfig(r)
	}
}

func decodePixels(f Format, data []byte) (image.Image, error) {
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		return jpeg.Decode(r)
	case PNG:
		return png.Decode(r)
	case GIF:
		return gif.Decode(r) // the first frame
	case BMP:
		return bmp.Decode(r)
	default:
		return webp.Decode(r)
	}
}
