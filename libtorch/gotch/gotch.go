// Package gotch stands in for the patched gotch until `make gotch` has
// written build/gotch and go.work (libtorch/README.md): compiling a package
// that runs a model stops here, once, with the target to run.
package gotch

var _ = run_make_gotch_first
