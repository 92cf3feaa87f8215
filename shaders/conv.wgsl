// Convolution as implicit GEMM over channels-last (NHWC) float32
// activations with int8 weights (float weights for an f32 weight file),
// BatchNorm folded.
//
// GEMM view: M = B*HO*WO output pixels, N = COUT, K = KH*KW*CG per group.
// Each invocation owns TM consecutive output pixels and TN consecutive
// output channels of one group (a TMxTN register tile). The invocations of
// a workgroup share the same channels (their weight loads are uniform, one
// load broadcast to every lane on CPU drivers) and each loads its own
// pixels' activations, four channels at a time; or, with LanesN, they
// share the pixels and each takes its own channel tile, so that a small
// layer wastes fewer pixels; with Shuffle, each loads only its share of
// those pixels and gets the others from its neighbours' registers.
//
// Weights: [G][KH][KW][CG4][NGP] words, each word four int8 values of
// consecutive input channels (zero beyond CG and NG); with F32, each word
// is a vec4<f32> of the same four values. Epilogue: per group NGP scales
// (1 for f32 weights, not read) then, after all groups, per group NGP
// biases. Both are bound at this conv's offset in buffers shared by the
// whole network, so convs of the same shape share one pipeline.
//
// The conv's shape comes from a uniform (Params), so one pipeline serves
// every conv with the same kernel kind (vec4 or scalar input and output,
// padding or not, int8 or f32 weights) and tile, the residual add and the
// ReLU being flags: ResNet-50 needs a handful instead of one per layer,
// which matters where compiling is slow (SwiftShader takes seconds per
// pipeline for large tiles).
//
// This file is a Go text/template, rendered by genConv (conv.go) with a
// convSrc: the tile's sizes are constants in the text (naga has no
// `override`), and the per-pixel (p, i) and per-channel (j) statements
// are unrolled by ranging over the tile, since unrolled scalars keep the
// tile in registers on every backend. Snippets shared with fc.wgsl and
// pool.wgsl (weights, q4, gather4, elem) are in common.wgsl.
{{- /* Only a Shuffle kernel may contain the word "subgroup", even in a
WGSL comment: gogpu/wgpu (native) searches the source for it and then
requires the subgroups feature. */}}
{{if .Shuffle}}
enable subgroups;
{{end}}
struct Params {
    m: u32,      // output pixels, B*HO*WO
    hwo: u32,    // HO*WO
    wo: u32,
    h: u32,
    w: u32,
    s: i32,      // stride
    pad: i32,
    kh: u32,
    kw: u32,
    xc: u32,     // input pixel stride in x's elements (CIN, or CIN/4 for vec4)
    xg: u32,     // group stride in x's elements
    cg4: u32,    // ceil(CG/4): packed words per tap
    ng: u32,     // output channels per group
    ngp4: u32,   // padded output channels per group / 4
    ntiles: u32, // channel tiles per group
    cout: u32,
    k4: u32,     // KH*KW*CG4
    boff4: u32,  // first bias vec4 (after the scales)
    flags: u32,  // 1: ReLU, 2: add the residual
    tiles: u32,  // channel tiles over all groups, G*NTILES
}

const TN: u32 = {{.TN}}u;
const TM: u32 = {{.TM}}u;

@group(0) @binding(0) var<storage, read> x: array<{{template "elem" .VecIn}}>;
{{template "weights" .}}
@group(0) @binding(2) var<storage, read> ep: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<{{template "elem" .VecOut}}>;
@group(0) @binding(4) var<storage, read> res: array<{{template "elem" .VecOut}}>; // the input itself when there is none
@group(0) @binding(8) var<uniform> pr: Params;
{{if not .F32}}{{template "q4"}}{{end}}
@compute @workgroup_size({{.WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32
        {{- if .Shuffle}}, @builtin(subgroup_invocation_id) sid: u32{{end}}) {
    let M = pr.m;
    let HWO = pr.hwo;
    let WO = pr.wo;
    let H = pr.h;
    let W = pr.w;
    let S = pr.s;
    let PAD = pr.pad;
    let KH = pr.kh;
    let KW = pr.kw;
    let XC = pr.xc;
    let XG = pr.xg;
    let CG4 = pr.cg4;
    let NG = pr.ng;
    let NGP4 = pr.ngp4;
    let NTILES = pr.ntiles;
    let COUT = pr.cout;
    let K4 = pr.k4;
    let BOFF4 = pr.boff4;
    let RELU = (pr.flags & 1u) != 0u;
    let HASRES = (pr.flags & 2u) != 0u;
{{- if .LanesN}}
    // Lanes past the last channel tile redo it and store nothing.
    let live = wid.y * {{.WG}}u + lid < pr.tiles;
    let tile = min(wid.y * {{.WG}}u + lid, pr.tiles - 1u);
    let g = tile / NTILES;
    let n0 = (tile % NTILES) * TN;
    let m0 = wid.x * TM;
{{- else}}
    let g = wid.y / NTILES;
    let n0 = (wid.y % NTILES) * TN;
    let m0 = (wid.x * {{.WG}}u + lid) * TM;
    let live = true;
{{- end}}

    // The pixels this invocation loads: all TM, or with Shuffle its
    // share (pixels past M are copies of the last one).
{{- range $i := .Loaded}}
    let p{{$i}} = min(m0 + {{if $.Shuffle}}{{$.Loads}}u * sid + {{end}}{{$i}}u, M - 1u);
    let r{{$i}} = p{{$i}} % HWO;
    let iy{{$i}} = i32(r{{$i}} / WO) * S - PAD;
    let ix{{$i}} = i32(r{{$i}} % WO) * S - PAD;
    let xb{{$i}} = (p{{$i}} / HWO) * H;
{{- end}}

    // The register tile: a<pixel>_<channel>.
{{- range $p := .Pixels}}{{range $.Vecs}}{{range .Cols}}
    var a{{$p.I}}_{{.J}} = 0.0;
{{- end}}{{end}}{{end}}

    var wk = g * K4 * NGP4 + n0 / 4u;
    for (var ky = 0u; ky < KH; ky++) {
        for (var kx = 0u; kx < KW; kx++) {
            // Each loaded pixel's input offset at this tap
{{- if .Dense}} (no padding: always inside the image).
{{- range $i := .Loaded}}
            let o{{$i}} = ((xb{{$i}} + u32(iy{{$i}})) * W + u32(ix{{$i}})) * XC + g * XG;
{{- end}}
{{- else}}, and whether it is inside the image.
{{- range $i := .Loaded}}
            let yy{{$i}} = iy{{$i}} + i32(ky);
            let xx{{$i}} = ix{{$i}} + i32(kx);
            let v{{$i}} = u32(yy{{$i}}) < H && u32(xx{{$i}}) < W;
            let o{{$i}} = select(0u, ((xb{{$i}} + u32(yy{{$i}})) * W + u32(xx{{$i}})) * XC + g * XG, v{{$i}});
{{- end}}
{{- end}}
            for (var c = 0u; c < CG4; c++) {
                // Input channels 4c..4c+3 of the tile's TN output channels: w<channel>.
{{- if .F32}}
                let wb = 4u * wk;
{{- range .Vecs}}{{range .Cols}}
                let w{{.J}} = wf[wb + {{.J}}u];
{{- end}}{{end}}
{{- else}}
{{- range .Vecs}}
                let wv{{.V}} = wq[wk + {{.V}}u];
{{- $v := .V}}
{{- range .Cols}}
                let w{{.J}} = q4(wv{{$v}}.{{.C}});
{{- end}}
{{- end}}
{{- end}}
                // The same channels of the loaded pixels{{if .Shuffle}}: y<pixel>{{else}}: x<pixel>{{end}}.
{{- range $i := .Loaded}}
{{- $x := "x"}}{{if $.Shuffle}}{{$x = "y"}}{{end}}
{{- if $.VecIn}}
{{- if $.Dense}}
                let {{$x}}{{$i}} = x[o{{$i}} + c];
{{- else}}
                let {{$x}}{{$i}} = select(vec4<f32>(0.0), x[o{{$i}} + c], v{{$i}});
{{- end}}
{{- else}}
                let e{{$i}} = o{{$i}} + 4u * c;
{{- if $.Dense}}
                let {{$x}}{{$i}} = {{template "gather4" printf "e%d" $i}};
{{- else}}
                let {{$x}}{{$i}} = select(vec4<f32>(0.0), {{template "gather4" printf "e%d" $i}}, v{{$i}});
{{- end}}
{{- end}}
{{- end}}
{{- range $p := .Pixels}}
{{- if $.Shuffle}}
                let x{{$p.I}} = subgroupShuffle(y{{$p.From}}, {{$p.Lane}}u);
{{- end}}
{{- range $.Vecs}}{{range .Cols}}
                a{{$p.I}}_{{.J}} += dot(x{{$p.I}}, w{{.J}});
{{- end}}{{end}}
{{- end}}
                wk += NGP4;
            }
        }
    }

    // Epilogue: scale (int8 weights), bias, residual, ReLU, store.
{{- if not .F32}}
    let sk = g * NGP4 + n0 / 4u;
{{- end}}
    let bk = BOFF4 + g * NGP4 + n0 / 4u;
{{- range .Vecs}}
{{- if not $.F32}}
    let sc{{.V}} = ep[sk + {{.V}}u];
{{- end}}
    let bi{{.V}} = ep[bk + {{.V}}u];
{{- end}}
{{- range $p := .Pixels}}
    if (live && m0 + {{$p.I}}u < M) {
        let yo{{$p.I}} = (m0 + {{$p.I}}u) * COUT + g * NG + n0;
{{- range $.Vecs}}
        var z{{$p.I}}_{{.V}} = vec4<f32>({{range $k, $c := .Cols}}{{if $k}}, {{end}}a{{$p.I}}_{{$c.J}}{{end}}){{if not $.F32}} * sc{{.V}}{{end}} + bi{{.V}};
{{- if $.VecOut}}
        if (n0 + {{.J}}u < NG) {
            if (HASRES) {
                z{{$p.I}}_{{.V}} += res[yo{{$p.I}} / 4u + {{.V}}u];
            }
            if (RELU) {
                z{{$p.I}}_{{.V}} = max(z{{$p.I}}_{{.V}}, vec4<f32>(0.0));
            }
            y[yo{{$p.I}} / 4u + {{.V}}u] = z{{$p.I}}_{{.V}};
        }
{{- else}}
{{- $v := .V}}
{{- range .Cols}}
        if (n0 + {{.J}}u < NG) {
            var v = z{{$p.I}}_{{$v}}.{{.C}};
            if (HASRES) {
                v += res[yo{{$p.I}} + {{.J}}u];
            }
            if (RELU) {
                v = max(v, 0.0);
            }
            y[yo{{$p.I}} + {{.J}}u] = v;
        }
{{- end}}
{{- end}}
{{- end}}
    }
{{- end}}
}
