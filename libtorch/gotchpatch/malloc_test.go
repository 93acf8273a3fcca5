package main

import (
	"maps"
	"testing"
)

func TestFixMalloc0(t *testing.T) {
	src := "func f() {\n" +
		"  ptr := (*lib.Ctensor)(unsafe.Pointer(C.malloc(0)))\n" +
		"  lib.AtgX(ptr)\n" +
		"\tfor {\n" +
		"\t\tout := (*lib.Ctensor)(unsafe.Pointer(C.malloc(0)))\n" +
		"\t\tdefer C.free(unsafe.Pointer(out))\n" +
		"\t}\n" +
		"\tv := (*lib.Civalue)(unsafe.Pointer(C.malloc(0)))\n" +
		"}\n"
	want := "func f() {\n" +
		"  ptr := (*lib.Ctensor)(unsafe.Pointer(C.malloc(64)))\n" +
		"  defer C.free(unsafe.Pointer(ptr))\n" +
		"  lib.AtgX(ptr)\n" +
		"\tfor {\n" +
		"\t\tout := (*lib.Ctensor)(unsafe.Pointer(C.malloc(64)))\n" +
		"\t\tdefer C.free(unsafe.Pointer(out))\n" +
		"\t}\n" +
		"\tv := (*lib.Civalue)(unsafe.Pointer(C.malloc(0)))\n" +
		"}\n"
	got, sites := fixMalloc0([]byte(src))
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !maps.Equal(sites, map[string]int{"ptr": 1, "out": 1}) {
		t.Errorf("sites = %v", sites)
	}
	if again, sites := fixMalloc0(got); string(again) != want || len(sites) != 0 {
		t.Errorf("second pass changed the source or found %v", sites)
	}
}

func TestMaxOutputs(t *testing.T) {
	if n := maxOutputs([]byte("ctensorPtr0 ctensorPtr6 ctensorPtr12x ctensorPtr2")); n != 7 {
		t.Errorf("maxOutputs = %d, want 7", n)
	}
}

func TestReplaceFatal(t *testing.T) {
	src := "package ts\n\nimport (\n\t\"fmt\"\n\t\"log\"\n)\n\nfunc f() {\n\tif err != nil { log.Fatal(err) }\n\tlog.Fatalf(\"x %d\", 1)\n}\n"
	want := "package ts\n\nimport (\n\t\"fmt\"\n)\n\nfunc f() {\n\tif err != nil { fatal(err) }\n\tfatalf(\"x %d\", 1)\n}\n"
	got, n := replaceFatal(src)
	if got != want || n != 2 {
		t.Errorf("got %d sites\n%s\nwant\n%s", n, got, want)
	}
	// a file that still logs keeps its import
	keep := "import \"log\"\nfunc f() { log.Printf(\"x\"); log.Fatal(err) }\n"
	if got, _ := replaceFatal(keep); got != "import \"log\"\nfunc f() { log.Printf(\"x\"); fatal(err) }\n" {
		t.Errorf("got %s", got)
	}
}
