// A stand-in for github.com/sugarme/gotch: go.mod's replace points here so
// that a fresh clone's go commands work for every package that does not run
// a model. `make gotch` patches the real gotch into build/gotch and writes
// go.work, which points the replace there (libtorch/README.md).
module github.com/sugarme/gotch

go 1.21
