// The inspector's heatmaps, reduced on the GPU so that only small maps
// come back: for each image of an activation x (channels-last [B][HW][S],
// each position's C channels then S-C pad values), its region of y
// (PER = 2·HW + C + 1 floats an image) receives
//   [0, HW)          the mean over channels at each position,
//   [HW, 2·HW)       the strongest channel's values at each position,
//   [2·HW, 2·HW+C)   each channel's mean over the positions,
//   2·HW+C           the strongest channel (highest mean, first of equals).
// Three entry points, dispatched in this order in one pass:
//   means:  one invocation per image and channel;
//   pick:   one per image, after means;
//   planes: one per image and position, after pick.
// A Go text/template, rendered by genHeatmap (heatmap.go) with a heatSrc.

const B: u32 = {{.B}}u;
const C: u32 = {{.C}}u;
const S: u32 = {{.S}}u;     // floats per position
const HW: u32 = {{.HW}}u;   // positions per image
const PER: u32 = {{.PER}}u; // floats of y per image
const NXM: u32 = {{.NXM}}u; // workgroups along x of means (large grids wrap into y)
const NXP: u32 = {{.NXP}}u; // and of planes
const WG: u32 = {{.WG}}u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{.WG}})
fn means(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.y * NXM + wid.x) * WG + lid;
    if (i >= B * C) {
        return;
    }
    let ch = i % C;
    let b = i / C;
    var s = 0.0;
    for (var p = 0u; p < HW; p++) {
        s += x[(b * HW + p) * S + ch];
    }
    y[b * PER + 2u * HW + ch] = s / f32(HW);
}

@compute @workgroup_size({{.WG}})
fn pick(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wid.x * WG + lid;
    if (b >= B) {
        return;
    }
    let base = b * PER + 2u * HW;
    var best = 0u;
    for (var ch = 1u; ch < C; ch++) {
        if (y[base + ch] > y[base + best]) {
            best = ch;
        }
    }
    y[base + C] = f32(best);
}

@compute @workgroup_size({{.WG}})
fn planes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.y * NXP + wid.x) * WG + lid;
    if (i >= B * HW) {
        return;
    }
    let p = i % HW;
    let b = i / HW;
    let row = (b * HW + p) * S;
    var s = 0.0;
    for (var ch = 0u; ch < C; ch++) {
        s += x[row + ch];
    }
    y[b * PER + p] = s / f32(C);
    let top = u32(y[b * PER + 2u * HW + C]);
    y[b * PER + HW + p] = x[row + top];
}
