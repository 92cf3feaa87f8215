// Convolution as implicit GEMM over channels-last (NHWC) float32
// activations with int8 weights, BatchNorm folded.
//
// GEMM view: M = B*HO*WO output pixels, N = COUT, K = KH*KW*CG per group.
// Each invocation owns TM consecutive output pixels and TN consecutive
// output channels of one group (a TMxTN register tile). The invocations of
// a workgroup share the same channels (their weight loads are uniform, one
// load broadcast to every lane on CPU drivers) and each loads its own
// pixels' activations, four channels at a time; or, with LanesN (LANES),
// they share the pixels and each takes its own channel tile, so that a
// small layer wastes fewer pixels.
//
// Weights: [G][KH][KW][CG4][NGP] words, each word four int8 values of
// consecutive input channels (zero beyond CG and NG). Epilogue: per group
// NGP scales then, after all groups, per group NGP biases. Both are bound
// at this conv's offset in buffers shared by the whole network, so convs
// of the same shape share one pipeline.
//
// The conv's shape comes from a uniform (Params), so one pipeline serves
// every conv with the same kernel kind (vec4 or scalar input and output,
// padding or not) and tile, the residual add and the ReLU being flags: ResNet-50 needs a handful
// instead of one per layer, which matters where compiling is slow
// (SwiftShader takes seconds per pipeline for large tiles). Go (conv.go)
// substitutes the double-braced values and writes the unrolled per-pixel
// and per-channel statements (PIXELS, TAP, ...): naga has no `override`,
// and unrolled scalars keep the tile in registers on every backend.

{{ENABLE}}
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

const TN: u32 = {{TN}};
const TM: u32 = {{TM}};

@group(0) @binding(0) var<storage, read> x: array<{{XT}}>;
@group(0) @binding(1) var<storage, read> wq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> ep: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<{{YT}}>;
@group(0) @binding(4) var<storage, read> res: array<{{YT}}>; // the input itself when there is none
@group(0) @binding(8) var<uniform> pr: Params;

// q4 unpacks four signed bytes (lowest first) into floats.
fn q4(w: u32) -> vec4<f32> {
    let s = bitcast<i32>(w);
    return vec4<f32>(vec4<i32>(s << 24u, s << 16u, s << 8u, s) >> vec4<u32>(24u));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SID}}) {
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
{{LANES}}
{{PIXELS}}
{{ACC}}
    var wk = g * K4 * NGP4 + n0 / 4u;
    for (var ky = 0u; ky < KH; ky++) {
        for (var kx = 0u; kx < KW; kx++) {
{{TAP}}
            for (var c = 0u; c < CG4; c++) {
{{MAC}}
                wk += NGP4;
            }
        }
    }
    let sk = g * NGP4 + n0 / 4u;
    let bk = BOFF4 + g * NGP4 + n0 / 4u;
{{EPILOGUE}}
}
