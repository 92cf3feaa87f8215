// Convolution as implicit GEMM over channels-last (NHWC) float32
// activations with int8 weights, BatchNorm folded.
//
// GEMM view: M = B*HO*WO output pixels, N = COUT, K = KH*KW*CG per group.
// Each invocation owns TM consecutive output pixels and TN consecutive
// output channels of one group (a TMxTN register tile). All invocations of
// a workgroup share the same channels, so their weight loads are uniform
// (one load broadcast to every lane on CPU drivers), while each loads its
// own pixels' activations, four channels at a time.
//
// Weights: [G][KH][KW][CG4][NGP] words, each word four int8 values of
// consecutive input channels (zero beyond CG and NG). Epilogue: per group
// NGP scales then, after all groups, per group NGP biases. Both are bound
// at this conv's offset in buffers shared by the whole network, so convs
// of the same shape share one pipeline.
//
// Go (conv.go) substitutes the double-braced constants and writes the
// unrolled per-pixel and per-channel statements (PIXELS, TAP, ...): naga has
// no `override`, and unrolled scalars keep the tile in registers on every
// backend.

const M: u32 = {{M}};         // output pixels, B*HO*WO
const HWO: u32 = {{HWO}};     // HO*WO
const WO: u32 = {{WO}};
const H: u32 = {{H}};
const W: u32 = {{W}};
const S: i32 = {{S}};         // stride
const PAD: i32 = {{PAD}};
const KH: u32 = {{KH}};
const KW: u32 = {{KW}};
const XC: u32 = {{XC}};       // input pixel stride in x's elements (CIN, or CIN/4 for vec4)
const XG: u32 = {{XG}};       // group stride in x's elements
const CG4: u32 = {{CG4}};     // ceil(CG/4): packed words per tap
const NG: u32 = {{NG}};       // output channels per group
const NGP4: u32 = {{NGP4}};   // padded output channels per group / 4
const NTILES: u32 = {{NTILES}}; // channel tiles per group
const COUT: u32 = {{COUT}};
const K4: u32 = {{K4}};       // KH*KW*CG4
const BOFF4: u32 = {{BOFF4}}; // first bias vec4 (after the scales)
const TN: u32 = {{TN}};
const TM: u32 = {{TM}};

@group(0) @binding(0) var<storage, read> x: array<{{XT}}>;
@group(0) @binding(1) var<storage, read> wq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> ep: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<{{YT}}>;
{{RESDECL}}

// q4 unpacks four signed bytes (lowest first) into floats.
fn q4(w: u32) -> vec4<f32> {
    let s = bitcast<i32>(w);
    return vec4<f32>(vec4<i32>(s << 24u, s << 16u, s << 8u, s) >> vec4<u32>(24u));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wid.y / NTILES;
    let n0 = (wid.y % NTILES) * TN;
    let m0 = (wid.x * {{WG}}u + lid) * TM;
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
