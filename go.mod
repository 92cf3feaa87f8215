module github.com/residual-webgpu/residual

go 1.26
