package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ytrain/ytrain/internal/testenv"
)

// TestMain runs the test binary as rank when a script execs it.
func TestMain(m *testing.M) { testenv.Main(m, map[string]func(){"rank": main}) }

// TestScripts runs testdata/*.txtar, rank's vectors (see testenv.Scripts).
func TestScripts(t *testing.T) { testscript.Run(t, testenv.Scripts(t, "rank")) }
