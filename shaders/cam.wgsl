// Class activation maps: the fc of fc.wgsl applied to each position of
// the features the global average pool reads, instead of to their mean.
// For map m (an image and a class, from the pairs in maps) and position p,
//   y[m][p] = scale[o] * sum_k x[img][p][k] q[o][k] + bias[o]
// with int8 weights q, or sum_k x[img][p][k] w[o][k] + bias[o] with float
// weights (F32), so that a map's mean is its class's logit.
//
// x: the features, channels-last [B][HW][XK elements]; the fc's weights
// and epilogue bound as the fc binds them ([K4][NP] words, four int8
// values of consecutive k each, or with F32 a vec4<f32>; NP scales then NP
// biases); maps: (image, class) pairs; y: [maps][HW].
// Workgroups: x covers the positions, y (wrapping into z) the maps; one
// invocation per output value, its weight reads uniform across the group.
//
// A Go text/template, rendered by genCAM (cam.go) with a camSrc; the
// weights binding, q4 and gather4 come from common.wgsl.

const K4: u32 = {{.K4}}u;   // ceil(C/4)
const XK: u32 = {{.XK}}u;   // a position's length in x's elements
const NP: u32 = {{.NP}}u;   // the fc's padded outputs
const HW: u32 = {{.HW}}u;   // positions per map
const MY: u32 = {{.MY}}u;   // maps per z step of the grid
const WG: u32 = {{.WG}}u;

@group(0) @binding(0) var<storage, read> x: array<{{template "elem" .Vec}}>;
{{template "weights" .}}
@group(0) @binding(2) var<storage, read> ep: array<f32>;
@group(0) @binding(3) var<storage, read> maps: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
{{if not .F32}}{{template "q4"}}{{end}}
@compute @workgroup_size({{.WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let p = wid.x * WG + lid;
    let m = wid.z * MY + wid.y;
    if (p >= HW || m >= arrayLength(&maps) / 2u) {
        return;
    }
    let img = maps[2u * m];
    let o = maps[2u * m + 1u];
    let xr = (img * HW + p) * XK;
    var a = 0.0;
    for (var k = 0u; k < K4; k++) {
{{- if .F32}}
        let w = wf[k * NP + o];
{{- else}}
        let w = q4(wq[k * (NP / 4u) + o / 4u][o % 4u]);
{{- end}}
{{- if .Vec}}
        a += dot(x[xr + k], w);
{{- else}}
        let e = xr + 4u * k;
        a += dot({{template "gather4" "e"}}, w);
{{- end}}
    }
{{- if .F32}}
    y[m * HW + p] = a + ep[NP + o];
{{- else}}
    y[m * HW + p] = a * ep[o] + ep[NP + o];
{{- end}}
}
