// Fully connected layer with int8 weights: y[b][o] = scale[o] * sum_k
// x[b][k] q[o][k] + bias[o], over float32 features x [B][K].
//
// Each invocation owns four consecutive outputs (one vec4 of packed weight
// words) for TB batch rows; the rows' features are the same for every
// invocation (uniform loads), the weights are read by consecutive lanes
// from consecutive words.
// Weights: [K4][NP] words, four int8 values of consecutive k each (zero
// beyond K and N). Epilogue: NP scales then NP biases.

const K4: u32 = {{K4}};       // ceil(K/4)
const XK: u32 = {{XK}};       // a feature row's length in x's elements
const N: u32 = {{N}};         // outputs
const NP4: u32 = {{NP4}};     // padded outputs / 4
const B: u32 = {{B}};
const TB: u32 = {{TB}};       // batch rows per invocation
const BOFF4: u32 = {{BOFF4}}; // first bias vec4 (after the scales)

@group(0) @binding(0) var<storage, read> x: array<{{XT}}>;
@group(0) @binding(1) var<storage, read> wq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> ep: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn q4(w: u32) -> vec4<f32> {
    let s = bitcast<i32>(w);
    return vec4<f32>(vec4<i32>(s << 24u, s << 16u, s << 8u, s) >> vec4<u32>(24u));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o4 = gid.x;
    if (o4 >= NP4) {
        return;
    }
    let b0 = gid.y * TB;
{{ROWS}}
{{ACC}}
    for (var k = 0u; k < K4; k++) {
        let wv = wq[k * NP4 + o4];
        let w0 = q4(wv.x);
        let w1 = q4(wv.y);
        let w2 = q4(wv.z);
        let w3 = q4(wv.w);
{{MAC}}
    }
    let sc = ep[o4];
    let bi = ep[BOFF4 + o4];
{{EPILOGUE}}
}
