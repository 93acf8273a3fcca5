module github.com/ytrain/ytrain/libtorch/gotchpatch

go 1.26.0
