package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// toolPkg is where each program a script may exec is built from.
var toolPkg = map[string]string{
	"tokenize": "./cmd/tokenize", "pack": "./cmd/pack", "score": "./cmd/score", "rank": "./cmd/rank",
	"train": "./cmd/train", "generate": "./cmd/generate", "evaluate": "./cmd/evaluate",
	"convert": "./cmd/convert", "tinymodel": "./tools/tinymodel",
}

var (
	buildMu  sync.Mutex
	binDir   string
	built    = map[string]bool{}
	execLine = regexp.MustCompile(`(?m)^\s*(?:\[[^\]]*\]\s*)*!?\s*exec\s+([a-z]+)`)
)

// Tools builds the named programs (cmd/NAME, tools/tinymodel) once per test
// binary into a temporary folder and returns it; later calls add what is
// missing. The folder is removed by Cleanup.
func Tools(t testing.TB, names ...string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if binDir == "" {
		dir, err := os.MkdirTemp("", "ytrain-tools")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
	}
	var pkgs []string
	for _, n := range names {
		pkg, ok := toolPkg[n]
		if !ok {
			t.Fatalf("testenv.Tools: no program %q", n)
		}
		if !built[n] {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		return binDir
	}
	cmd := exec.Command("go", append([]string{"build", "-o", binDir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = ModuleRoot(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("building %v: %v\n%s", pkgs, err, out.String())
	}
	for _, n := range names {
		built[n] = true
	}
	return binDir
}

// Cleanup removes what Tools built; a TestMain calls it after the tests.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Scripts are the testscript parameters of a tool's vectors, its
// testdata/*.txtar: shell-like sessions, good_* for inputs the tool accepts
// and fail_* for inputs it must reject with a clear message, a non-zero
// exit and no output file. The tool itself runs in-process (its TestMain
// registers it with testscript.Main); every other program a script execs is
// built by Tools and put first on PATH. $TOKENIZERS is ../shared/tokenizers;
// scripts that need it start with [!shared] skip, so without ../shared only
// those are skipped (under CI=true the run fails instead).
func Scripts(t *testing.T, self string) testscript.Params {
	tokenizers, ok := SharedPathIfPresent(t, "tokenizers")
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.txtar in %s (%v)", self, err)
	}
	var need []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range execLine.FindAllSubmatch(b, -1) {
			if n := string(m[1]); n != self && toolPkg[n] != "" && !slices.Contains(need, n) {
				need = append(need, n)
			}
		}
	}
	bin := Tools(t, need...)
	return testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("TOKENIZERS", tokenizers)
			env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "shared" {
				return ok, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	}
}

// Main is a tool's TestMain: the test binary runs as the tool (or another
// of cmds, such as a fixture maker) in-process when a script execs it, else
// runs the tests and removes what Tools built.
func Main(m *testing.M, cmds map[string]func()) {
	testscript.Main(cleanupM{m}, cmds)
}

type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	defer Cleanup()
	return c.m.Run()
}
