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
