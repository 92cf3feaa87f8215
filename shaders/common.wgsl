{{- /*
Snippets shared by the kernel templates: wgsl.go parses this file with
each of them, so a kernel calls them with {{template "name" value}}.
Nothing outside a define is emitted.
*/ -}}

{{- /* elem: the element type of an activation buffer, vec4<f32> when the
value is true (channels read four at a time), f32 otherwise. */ -}}
{{define "elem"}}{{if .}}vec4<f32>{{else}}f32{{end}}{{end}}

{{- /* gather4: four consecutive floats of a scalar buffer x from the index
named by the value, as one vec4. */ -}}
{{define "gather4"}}vec4<f32>(x[{{.}}], x[{{.}} + 1u], x[{{.}} + 2u], x[{{.}} + 3u]){{end}}

{{- /* weights: the weight binding of conv and fc, for a value with F32.
int8 (wq): each u32 holds four signed bytes of consecutive input
channels, lowest first; a vec4<u32> is four output channels' words.
f32 (wf): each vec4<f32> is what one such u32 holds, as floats. */ -}}
{{define "weights"}}
{{- if .F32 -}}
@group(0) @binding(1) var<storage, read> wf: array<vec4<f32>>;
{{- else -}}
@group(0) @binding(1) var<storage, read> wq: array<vec4<u32>>;
{{- end}}
{{- end}}

{{- /* q4: the int8 unpacking function. */ -}}
{{define "q4"}}
// q4 unpacks four signed bytes (lowest first) into floats.
fn q4(w: u32) -> vec4<f32> {
    let s = bitcast<i32>(w);
    return vec4<f32>(vec4<i32>(s << 24u, s << 16u, s << 8u, s) >> vec4<u32>(24u));
}
{{end}}
