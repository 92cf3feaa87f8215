// Input preprocessing on the GPU: the RGBA bytes of B crops of H×W pixels
// (one pixel per u32 word, R in the lowest byte) become the network input,
// channels-last float32 with 3 channels and a zero (the stem reads vec4s).
//
// The value of network channel c is lut[c*256 + byte], where byte is the
// pixel's R, G or B as the channel order says (SHIFTc is 0, 8 or 16). The
// table is computed on the CPU with the exact float32 steps of
// model/preprocess (ToTensor's /255, then mean and std), so the input is
// bit-identical to the CPU's; alpha is ignored, as PIL's convert("RGB").
// A Go text/template, rendered by genNormalize (normalize.go) with a normSrc.

const N: u32 = {{.N}}u;   // pixels, B*H*W
const NX: u32 = {{.NX}}u; // workgroups along x (large grids wrap into y)

@group(0) @binding(0) var<storage, read> px: array<u32>;
@group(0) @binding(1) var<storage, read> lut: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size({{.WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.y * NX + wid.x) * {{.WG}}u + lid;
    if (i >= N) {
        return;
    }
    let p = px[i];
    y[i] = vec4<f32>(lut[(p >> {{index .Shift 0}}u) & 255u], lut[256u + ((p >> {{index .Shift 1}}u) & 255u)],
                     lut[512u + ((p >> {{index .Shift 2}}u) & 255u)], 0.0);
}
