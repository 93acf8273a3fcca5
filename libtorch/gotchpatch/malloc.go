package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// gotch's Go wrappers allocate the C array that an op writes its result
// tensor pointers into with C.malloc(0) and never free it: a leak on every
// op call, and a heap overflow for ops with 4+ outputs (glibc's malloc(0)
// chunk has 24 usable bytes). See libtorch/README.md §3.

// outBytes is what each out-pointer array gets instead: 8 pointers.
const outBytes = 64

// wantMalloc0Sites is what fixMalloc0 finds in gotch v0.9.1's ts/, by file
// and variable. tensor.go's outputPtr (RunBackward) is freed already; it
// and jit.go's ptr1 (IValue tensor lists) hold a variable number of outputs,
// so 64 bytes only lifts their overflow from 4 to 9 outputs.
var wantMalloc0Sites = map[string]int{
	"tensor-generated.go ptr":         2221,
	"tensor-generated.go ctensorPtr0": 226,
	"patch.go ptr":                    1,
	"patch.go ctensorPtr1":            3,
	"tensor.go ptr":                   1,
	"tensor.go outputPtr":             1,
	"jit.go ptr1":                     1,
}

var (
	malloc0     = regexp.MustCompile(`^(\s*)(\w+) := \(\*lib\.Ctensor\)\(unsafe\.Pointer\(C\.malloc\(0\)\)\)\s*$`)
	ctensorPtrN = regexp.MustCompile(`\bctensorPtr([0-9]+)\b`)
)

// fixMalloc0 rewrites every `X := (*lib.Ctensor)(unsafe.Pointer(C.malloc(0)))`
// line of a Go file to allocate outBytes and free X when the function returns
// (the results are copied out with newTensor(*X) before that). It returns the
// new source and how many sites it found per variable.
func fixMalloc0(src []byte) ([]byte, map[string]int) {
	lines := strings.SplitAfter(string(src), "\n")
	sites := map[string]int{}
	var b strings.Builder
	for i, l := range lines {
		m := malloc0.FindStringSubmatch(strings.TrimSuffix(l, "\n"))
		if m == nil {
			b.WriteString(l)
			continue
		}
		indent, v := m[1], m[2]
		sites[v]++
		fmt.Fprintf(&b, "%s%s := (*lib.Ctensor)(unsafe.Pointer(C.malloc(%d)))\n", indent, v, outBytes)
		free := "defer C.free(unsafe.Pointer(" + v + "))"
		if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == free {
			continue
		}
		b.WriteString(indent + free + "\n")
	}
	return []byte(b.String()), sites
}

// fixTs applies fixMalloc0 to ts/*.go and checks the sites against
// wantMalloc0Sites.
func fixTs(dir string) error {
	files, err := goFiles(dir)
	if err != nil {
		return err
	}
	got := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		nb, sites := fixMalloc0(b)
		if len(sites) == 0 {
			continue
		}
		for v, n := range sites {
			got[filepath.Base(f)+" "+v] += n
		}
		if err := os.WriteFile(f, nb, 0o644); err != nil {
			return err
		}
		if filepath.Base(f) == "tensor-generated.go" {
			if n := maxOutputs(b); n*8 > outBytes {
				return fmt.Errorf("%s: an op writes %d out-pointers, more than C.malloc(%d) holds", f, n, outBytes)
			}
		}
	}
	if !maps.Equal(got, wantMalloc0Sites) {
		return fmt.Errorf("ts/: C.malloc(0) out-pointer sites differ from gotch %s:\n got  %v\n want %v", modVersion, got, wantMalloc0Sites)
	}
	total := 0
	for _, n := range got {
		total += n
	}
	fmt.Printf("gotchpatch: ts/: %d C.malloc(0) out-pointer sites now C.malloc(%d) + defer C.free: %v\n", total, outBytes, got)
	return nil
}

// maxOutputs returns the most out-pointers one generated op writes: its
// results are read back as ctensorPtr0..ctensorPtrN.
func maxOutputs(src []byte) int {
	most := 1
	for _, m := range ctensorPtrN.FindAllSubmatch(src, -1) {
		if n, _ := strconv.Atoi(string(m[1])); n+1 > most {
			most = n + 1
		}
	}
	return most
}
