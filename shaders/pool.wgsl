// Pooling over channels-last (NHWC) float32 activations. One module, two
// entry points sharing the input geometry:
//   maxpool: the stem's 3x3 window, stride 2, padding 1 (padding never wins,
//            as in PyTorch), output [B][HO][WO][C];
//   avgpool: global average over H and W, output [B][C].
// Each invocation handles one channel unit (a vec4 of channels when C is a
// multiple of 4, else one channel) of one output position.
// A Go text/template, rendered by genPool (pool.go) with a poolSrc.

const B: u32 = {{.B}}u;
const H: u32 = {{.H}}u;
const W: u32 = {{.W}}u;
const CU: u32 = {{.CU}}u;       // channel units per pixel
const HO: u32 = {{.HO}}u;
const WO: u32 = {{.WO}}u;
const NX: u32 = {{.NX}}u;       // workgroups along x (large grids wrap into y)
const WG: u32 = {{.WG}};

@group(0) @binding(0) var<storage, read> x: array<{{template "elem" .Vec}}>;
@group(0) @binding(1) var<storage, read_write> y: array<{{template "elem" .Vec}}>;

fn index(wid: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * NX + wid.x) * WG + lid;
}

@compute @workgroup_size({{.WG}})
fn maxpool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, lid);
    if (i >= B * HO * WO * CU) {
        return;
    }
    let cu = i % CU;
    let p = i / CU;
    let ox = p % WO;
    let oy = (p / WO) % HO;
    let b = p / (WO * HO);
    var m = {{template "elem" .Vec}}(-3.402823e38);
    for (var ky = 0u; ky < 3u; ky++) {
        let iy = oy * 2u + ky - 1u; // wraps to a huge value above the top edge
        if (iy < H) {
            for (var kx = 0u; kx < 3u; kx++) {
                let ix = ox * 2u + kx - 1u;
                if (ix < W) {
                    m = max(m, x[((b * H + iy) * W + ix) * CU + cu]);
                }
            }
        }
    }
    y[i] = m;
}

@compute @workgroup_size({{.WG}})
fn avgpool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = index(wid, lid);
    if (i >= B * CU) {
        return;
    }
    let cu = i % CU;
    let b = i / CU;
    var s = {{template "elem" .Vec}}(0.0);
    for (var p = 0u; p < H * W; p++) {
        s += x[(b * H * W + p) * CU + cu];
    }
    y[i] = s * (1.0 / f32(H * W));
}
