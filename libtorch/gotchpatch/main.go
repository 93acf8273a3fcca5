// Command gotchpatch makes build/gotch: gotch v0.9.1 copied out of the Go
// module cache, pruned to the packages ytrain uses, and patched so that Go
// links only the libgotch_tch shim (libtorch/shim/build_shim.sh) instead of
// compiling gotch's C++ through cgo. See libtorch/README.md §3 and §4.
//
//	go run . -dst /abs/path/to/build/gotch [-src gotch-module-dir]
//
// The Go binaries find the shim in the sibling of -dst named shim
// (build/shim). Each run replaces -dst completely. A patch site that is not
// found exactly as expected is fatal: another gotch version has to be looked
// at by hand, not left half patched.
//
// This is a module of its own, stdlib only, because it has to run before the
// main module's replaced gotch exists.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	modPath    = "github.com/sugarme/gotch"
	modVersion = "v0.9.1"
)

// rootPkgs are the gotch packages ytrain imports; what they import inside
// gotch is added.
var rootPkgs = []string{".", "libtch", "ts", "nn"}

func main() {
	log.SetFlags(0)
	log.SetPrefix("gotchpatch: ")
	src := flag.String("src", "", "gotch "+modVersion+" module dir (default: `go mod download` it)")
	dst := flag.String("dst", "", "output dir, absolute (…/build/gotch)")
	flag.Parse()
	if !filepath.IsAbs(*dst) {
		log.Fatal("-dst must be an absolute path")
	}
	if *src == "" {
		var err error
		if *src, err = download(); err != nil {
			log.Fatal(err)
		}
	}
	if err := run(*src, *dst); err != nil {
		log.Fatal(err)
	}
}

// download fetches gotch into the module cache (a no-op when it is there)
// and returns its directory.
func download() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", modPath+"@"+modVersion).Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &m); jerr != nil || m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v %s", modPath, modVersion, err, m.Error)
	}
	return m.Dir, nil
}

// run builds the patched tree next to dst and then swaps it in, so an
// interrupted run never leaves a half-patched dst.
func run(src, dst string) error {
	if err := checkModule(src); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".gotchpatch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Printf("gotchpatch: %s@%s from %s\n", modPath, modVersion, src)
	if err := build(src, tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	fmt.Printf("gotchpatch: wrote %s\n", dst)
	return nil
}

func checkModule(src string) error {
	b, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return err
	}
	if first, _, _ := strings.Cut(string(b), "\n"); strings.TrimSpace(first) != "module "+modPath {
		return fmt.Errorf("%s is not %s (go.mod starts %q)", src, modPath, first)
	}
	return nil
}

func build(src, out string) error {
	pkgs, err := packages(src)
	if err != nil {
		return err
	}
	fmt.Printf("gotchpatch: packages %s\n", strings.Join(pkgs, " "))
	for _, p := range pkgs {
		if err := copyPkg(filepath.Join(src, p), filepath.Join(out, p)); err != nil {
			return err
		}
	}
	if err := copyFile(filepath.Join(src, "LICENSE"), filepath.Join(out, "LICENSE")); err != nil {
		return err
	}
	if err := writeGoMod(src, out); err != nil {
		return err
	}
	if err := moveCsrc(filepath.Join(out, "libtch")); err != nil {
		return err
	}
	if err := writeLib(filepath.Join(out, "libtch")); err != nil {
		return err
	}
	if err := fixTs(filepath.Join(out, "ts")); err != nil {
		return err
	}
	if err := fatalToPanic(out, pkgs); err != nil {
		return err
	}
	if err := cleanTorchErr(filepath.Join(out, "ts", "error.go")); err != nil {
		return err
	}
	if err := fixCInts(filepath.Join(out, "libtch", "tensor.go")); err != nil {
		return err
	}
	return dropGCBallast(filepath.Join(out, "ts", "tensor.go"))
}

// gcBallast is the line of newTensor that gives every tensor handle a 100 KB
// Go allocation, so that the GC runs often enough for finalizers to free C
// memory. ytrain drops tensors explicitly (torch.Scope); the ballast only
// made the GC run thousands of times per training step: training went from
// 587 to 711 target tokens/s when the GC ran less (GOGC=400) on bench/train.sh.
const gcBallast = "\tx.d = new(bigStruct)\n"

func dropGCBallast(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if n := strings.Count(string(b), gcBallast); n != 1 {
		return fmt.Errorf("%s: %d lines %q, want 1 (different gotch?)", file, n, strings.TrimSpace(gcBallast))
	}
	fmt.Println("gotchpatch: ts/tensor.go: no 100 KB GC ballast per tensor")
	return os.WriteFile(file, []byte(strings.Replace(string(b), gcBallast, "", 1)), 0o644)
}

// packages returns rootPkgs and the gotch packages they import, as dirs
// relative to the module root. Only gotch and the standard library may be
// imported: that is what lets writeGoMod drop gotch's requirements.
func packages(src string) ([]string, error) {
	seen := map[string]bool{}
	todo := slices.Clone(rootPkgs)
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		files, err := goFiles(filepath.Join(src, p))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				return nil, err
			}
			for _, imp := range af.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				switch {
				case ip == modPath:
					todo = append(todo, ".")
				case strings.HasPrefix(ip, modPath+"/"):
					todo = append(todo, strings.TrimPrefix(ip, modPath+"/"))
				case strings.Contains(strings.Split(ip, "/")[0], "."):
					return nil, fmt.Errorf("%s imports %s: only gotch and std are expected", f, ip)
				}
			}
		}
	}
	pkgs := make([]string, 0, len(seen))
	for p := range seen {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	return pkgs, nil
}

// goFiles lists the non-test Go files of one package dir.
func goFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, filepath.Join(dir, n))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", dir)
	}
	return files, nil
}

// copyPkg copies a package's non-test Go files and C/C++ sources (tests,
// test data and READMEs stay behind).
func copyPkg(from, to string) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		keep := strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") ||
			strings.HasSuffix(n, ".h") || strings.HasSuffix(n, ".cpp")
		if e.Type().IsRegular() && keep {
			if err := copyFile(filepath.Join(from, n), filepath.Join(to, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies one file writable (the module cache's are read-only) and
// keeps its mtime, so make sees the shim's C++ sources unchanged after a
// re-run.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	st, err := os.Stat(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		return err
	}
	return os.Chtimes(to, st.ModTime(), st.ModTime())
}

// writeGoMod keeps gotch's module and go lines only: its requirements
// (freetype, x/image) serve example/, which is not copied, and the main
// module's go.sum does not list them.
func writeGoMod(src, out string) error {
	b, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return err
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "module ") || strings.HasPrefix(l, "go ") {
			keep = append(keep, l)
		}
	}
	if len(keep) != 2 {
		return fmt.Errorf("%s/go.mod: want one module and one go line, got %q", src, keep)
	}
	return os.WriteFile(filepath.Join(out, "go.mod"), []byte(strings.Join(keep, "\n\n")+"\n"), 0o644)
}

// csrcFiles are the C++ sources that go into libgotch_tch.so. cgo compiles
// every .cpp in a package dir and ignores subdirs without Go files, so they
// move to libtch/csrc. torch_api.h and torch_api_generated.h stay: the Go
// preambles include them (in C mode).
var csrcFiles = []string{"torch_api.cpp", "torch_api_generated.cpp.h", "stb_image.h", "stb_image_resize.h", "stb_image_write.h"}

func moveCsrc(libtch string) error {
	csrc := filepath.Join(libtch, "csrc")
	if err := os.Mkdir(csrc, 0o755); err != nil {
		return err
	}
	for _, f := range csrcFiles {
		if err := os.Rename(filepath.Join(libtch, f), filepath.Join(csrc, f)); err != nil {
			return err
		}
	}
	for _, f := range []string{"torch_api.h", "torch_api_generated.h"} {
		if _, err := os.Stat(filepath.Join(libtch, f)); err != nil {
			return err
		}
	}
	left, err := fs.Glob(os.DirFS(libtch), "*.c*")
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("libtch: cgo would still compile %v", left)
	}
	fmt.Printf("gotchpatch: moved %s to libtch/csrc\n", strings.Join(csrcFiles, " "))
	return nil
}

// libGo replaces libtch/lib.go, which linked libtorch directly. The blank
// line between prose and #cgo lines matters: a comment touching
// `import "C"` is C preamble.
const libGo = `//go:build !gotch_dist

package libtch

// Written by ytrain's libtorch/gotchpatch. gotch's C++ half (csrc/) is not
// compiled by cgo: libtorch/shim/build_shim.sh builds it into libgotch_tch.so
// against whichever libtorch is installed, and Go links only that shim, which
// carries the libtorch dependencies itself. Swap the shim to swap libtorch.
// RUNPATH: the build tree's build/shim, then $ORIGIN and $ORIGIN/../lib.
// lib_dist.go (-tags gotch_dist) leaves the build tree out.

// #cgo CFLAGS: -I${SRCDIR}
// #cgo LDFLAGS: -L${SRCDIR}/../../shim -lgotch_tch
// #cgo LDFLAGS: -Wl,--enable-new-dtags -Wl,-rpath,${SRCDIR}/../../shim -Wl,-rpath,$ORIGIN -Wl,-rpath,$ORIGIN/../lib
import "C"
`

const libDistGo = `//go:build gotch_dist

package libtch

// Written by ytrain's libtorch/gotchpatch. Release build: libgotch_tch.so is
// found next to the binary, in ../lib, or through LD_LIBRARY_PATH, never in
// the build tree.

// #cgo CFLAGS: -I${SRCDIR}
// #cgo LDFLAGS: -L${SRCDIR}/../../shim -lgotch_tch
// #cgo LDFLAGS: -Wl,--enable-new-dtags -Wl,-rpath,$ORIGIN -Wl,-rpath,$ORIGIN/../lib
import "C"
`

// writeLib replaces lib.go, after checking that it holds nothing but cgo
// flags, so no code is lost with it.
func writeLib(libtch string) error {
	f := filepath.Join(libtch, "lib.go")
	af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments)
	if err != nil {
		return err
	}
	if len(af.Decls) != 1 || len(af.Imports) != 1 || af.Imports[0].Path.Value != `"C"` {
		return errors.New("libtch/lib.go holds more than cgo flags; check it by hand")
	}
	if err := os.WriteFile(f, []byte(libGo), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(libtch, "lib_dist.go"), []byte(libDistGo), 0o644); err != nil {
		return err
	}
	fmt.Println("gotchpatch: libtch/lib.go, lib_dist.go link only -lgotch_tch")
	return nil
}
