// Fully connected layer: y[b][o] = scale[o] * sum_k x[b][k] q[o][k] +
// bias[o] with int8 weights q, or sum_k x[b][k] w[o][k] + bias[o] with
// float weights (F32), over float32 features x [B][K].
//
// Each invocation owns four consecutive outputs (one vec4 of packed weight
// words) for TB batch rows; the rows' features are the same for every
// invocation (uniform loads), the weights are read by consecutive lanes
// from consecutive words.
// Weights: [K4][NP] words, four int8 values of consecutive k each (zero
// beyond K and N), or with F32 a vec4<f32> of the same values. Epilogue:
// NP scales (1 for F32, not read) then NP biases.
//
// A Go text/template, rendered by genFC (fc.go) with an fcSrc; the
// weights binding, q4 and gather4 come from common.wgsl.

const K4: u32 = {{.K4}}u;       // ceil(K/4)
const XK: u32 = {{.XK}}u;       // a feature row's length in x's elements
const N: u32 = {{.N}}u;         // outputs
const NP4: u32 = {{.NP4}}u;     // padded outputs / 4
const B: u32 = {{.B}}u;
const TB: u32 = {{.TB}}u;       // batch rows per invocation
const BOFF4: u32 = {{.BOFF4}}u; // first bias vec4 (after the scales)

@group(0) @binding(0) var<storage, read> x: array<{{template "elem" .Vec}}>;
{{template "weights" .}}
@group(0) @binding(2) var<storage, read> ep: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
{{if not .F32}}{{template "q4"}}{{end}}
@compute @workgroup_size({{.WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o4 = gid.x;
    if (o4 >= NP4) {
        return;
    }
    let b0 = gid.y * TB;
{{- range $r := .Rows}}
    let xr{{$r}} = min(b0 + {{$r}}u, B - 1u) * XK;
{{- end}}
{{- range $r := .Rows}}
    var a{{$r}} = vec4<f32>(0.0);
{{- end}}
    for (var k = 0u; k < K4; k++) {
        // Features 4k..4k+3 of the invocation's four outputs: w<output>.
{{- if .F32}}
        let wb = 4u * (k * NP4 + o4);
{{- range .Cols}}
        let w{{.J}} = wf[wb + {{.J}}u];
{{- end}}
{{- else}}
        let wv = wq[k * NP4 + o4];
{{- range .Cols}}
        let w{{.J}} = q4(wv.{{.C}});
{{- end}}
{{- end}}
{{- range $r := .Rows}}
{{- if $.Vec}}
        let x{{$r}} = x[xr{{$r}} + k];
{{- else}}
        let e{{$r}} = xr{{$r}} + 4u * k;
        let x{{$r}} = {{template "gather4" printf "e%d" $r}};
{{- end}}
        a{{$r}} += vec4<f32>(dot(x{{$r}}, w0), dot(x{{$r}}, w1), dot(x{{$r}}, w2), dot(x{{$r}}, w3));
{{- end}}
    }
{{- if not .F32}}
    let sc = ep[o4];
{{- end}}
    let bi = ep[BOFF4 + o4];
{{- range $r := .Rows}}
    if (b0 + {{$r}}u < B) {
        let z{{$r}} = a{{$r}}{{if not $.F32}} * sc{{end}} + bi;
{{- range $.Cols}}
        if (o4 * 4u + {{.J}}u < N) {
            y[(b0 + {{$r}}u) * N + o4 * 4u + {{.J}}u] = z{{$r}}.{{.C}};
        }
{{- end}}
    }
{{- end}}
}
