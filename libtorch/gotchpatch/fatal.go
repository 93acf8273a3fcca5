package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// fatalGo is written into gotch's libtch package, which every other gotch
// package imports: the panic value that replaces log.Fatal. The other copied
// packages get their own fatal and fatalf over it (fatalPkgGo).
const fatalGo = `package libtch

// Written by ytrain's libtorch/gotchpatch: gotch's log.Fatal calls (every Must*
// function has one) panic with a TorchError instead of ending the process,
// so that a libtorch failure unwinds through the caller's deferred clean-up
// and can be turned into an error that names the record (see ytrain's
// internal/torch.Catch).

import "fmt"

// TorchError is a failure that gotch would have passed to log.Fatal.
type TorchError struct{ Err error }

func (e TorchError) Error() string { return e.Err.Error() }
func (e TorchError) Unwrap() error { return e.Err }

// TorchFailure marks the error for code that does not link gotch.
func (TorchError) TorchFailure() {}

// NewTorchError makes log.Fatal's arguments a TorchError.
func NewTorchError(v ...any) TorchError {
	if len(v) == 1 {
		if err, ok := v[0].(error); ok {
			return TorchError{err}
		}
	}
	return TorchError{fmt.Errorf("%s", fmt.Sprint(v...))}
}

func fatal(v ...any)                 { panic(NewTorchError(v...)) }
func fatalf(format string, v ...any) { panic(TorchError{fmt.Errorf(format, v...)}) }
`

const fatalPkgGo = `package %s

// Written by ytrain's libtorch/gotchpatch: see libtch/fatal.go.

import (
	"fmt"

	"github.com/sugarme/gotch/libtch"
)

func fatal(v ...any)                 { panic(libtch.NewTorchError(v...)) }
func fatalf(format string, v ...any) { panic(libtch.TorchError{Err: fmt.Errorf(format, v...)}) }
`

var logImport = regexp.MustCompile(`(?m)^[ \t]*"log"[ \t]*\n`)

// fatalToPanic replaces every log.Fatal and log.Fatalf in the copied
// packages by a panic with a gotch.TorchError, and drops the "log" imports
// left unused.
func fatalToPanic(out string, pkgs []string) error {
	sites := 0
	for _, p := range pkgs {
		dir := filepath.Join(out, p)
		files, err := goFiles(dir)
		if err != nil {
			return err
		}
		name := ""
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			src, n := replaceFatal(string(b))
			if n == 0 {
				continue
			}
			sites += n
			if name == "" {
				name = pkgName(src)
			}
			if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
				return err
			}
		}
		if name == "" && p == "libtch" {
			name = "libtch" // the home of TorchError, used or not
		}
		if name == "" {
			continue // no log.Fatal here
		}
		if strings.Contains(string(mustRead(files)), "func fatal(") {
			return fmt.Errorf("%s already defines fatal (different gotch?)", p)
		}
		code := fatalGo
		if name != "libtch" {
			code = fmt.Sprintf(fatalPkgGo, name)
		}
		if err := os.WriteFile(filepath.Join(dir, "fatal.go"), []byte(code), 0o644); err != nil {
			return err
		}
	}
	if sites < 2000 {
		return fmt.Errorf("only %d log.Fatal sites replaced (different gotch?)", sites)
	}
	fmt.Printf("gotchpatch: %d log.Fatal calls panic with libtch.TorchError\n", sites)
	return nil
}

// replaceFatal rewrites one file's log.Fatal(f) calls and drops its "log"
// import when nothing else uses it.
func replaceFatal(src string) (string, int) {
	n := strings.Count(src, "log.Fatal(") + strings.Count(src, "log.Fatalf(")
	if n == 0 {
		return src, 0
	}
	src = strings.ReplaceAll(src, "log.Fatalf(", "fatalf(")
	src = strings.ReplaceAll(src, "log.Fatal(", "fatal(")
	if !strings.Contains(src, "log.") {
		src = logImport.ReplaceAllString(src, "")
	}
	return src, n
}

func pkgName(src string) string {
	for _, l := range strings.Split(src, "\n") {
		if name, ok := strings.CutPrefix(l, "package "); ok {
			return strings.TrimSpace(name)
		}
	}
	return ""
}

func mustRead(files []string) []byte {
	var all []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	return all
}

// torchErrOld is how gotch's ts.TorchErr words libtorch's message: with a
// Go stack trace appended (and libtorch's own C++ backtrace inside). The
// messages people see must name the op and the record, not dump stacks.
const torchErrOld = "\t\ttrace := string(debug.Stack())\n\t\treturn fmt.Errorf(\"Libtorch API Error: %v\\n%v\\n\", errStr, trace)\n"

const torchErrNew = "\t\t// ytrain's libtorch/gotchpatch: the message without Go or C++ backtraces\n" +
	"\t\tif i := strings.Index(errStr, \"Exception raised from\"); i >= 0 {\n" +
	"\t\t\terrStr = errStr[:i]\n" +
	"\t\t}\n" +
	"\t\treturn fmt.Errorf(\"libtorch: %s\", strings.TrimSpace(errStr))\n"

// cleanTorchErr patches ts/error.go.
func cleanTorchErr(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	src := string(b)
	if strings.Count(src, torchErrOld) != 1 {
		return fmt.Errorf("%s: TorchErr is not as expected (different gotch?)", file)
	}
	src = strings.Replace(src, torchErrOld, torchErrNew, 1)
	src = strings.Replace(src, "\t\"runtime/debug\"\n", "\t\"strings\"\n", 1)
	fmt.Println("gotchpatch: ts/error.go: libtorch errors without stack traces")
	return os.WriteFile(file, []byte(src), 0o644)
}

// cIntFixes are libtch/tensor.go's reads of a C int result: as a Go int
// (8 bytes from a 4-byte value, so the upper half is whatever follows on
// the stack) and as a Go bool (1 byte of it). AtGradSetEnabled's garbage
// made ts.NoGrad1 "restore" grad mode to off: every bf16 run, whose
// float32 master weights are made under NoGrad1, then trained nothing.
var cIntFixes = []struct{ old, new string }{
	{"\treturn *(*int)(unsafe.Pointer(&cint))\n", "\treturn int(cint)\n"},
	{"\treturn *(*int)(unsafe.Pointer(&cretVal))\n", "\treturn int(cretVal)\n"},
	{"\treturn *(*bool)(unsafe.Pointer(&retVal))\n", "\treturn retVal != 0\n"},
}

func fixCInts(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	src := string(b)
	want := map[string]int{cIntFixes[0].old: 1, cIntFixes[1].old: 1, cIntFixes[2].old: 6}
	for _, f := range cIntFixes {
		if n := strings.Count(src, f.old); n != want[f.old] {
			return fmt.Errorf("%s: %d × %q, want %d (different gotch?)", file, n, strings.TrimSpace(f.old), want[f.old])
		}
		src = strings.ReplaceAll(src, f.old, f.new)
	}
	fmt.Println("gotchpatch: libtch/tensor.go: C int results converted, not reinterpreted")
	return os.WriteFile(file, []byte(src), 0o644)
}
