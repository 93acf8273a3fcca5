module github.com/ytrain/ytrain/tools/gotchpatch

go 1.26.0
