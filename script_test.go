package ytrain_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ytrain/ytrain/internal/testenv"
)

// TestScripts runs testdata/script/*.txtar: shell-like sessions with the real
// tool binaries, good_* for inputs the tools accept and fail_* for inputs
// they must reject with a clear message, a non-zero exit and no output file.
func TestScripts(t *testing.T) {
	shared := testenv.SharedDir(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "./tokenize", "./pack", "./rank", "./evaluate", "./score", "./generate", "./train", "./tools/tinymodel")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("building the tools: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("TOKENIZERS", filepath.Join(shared, "tokenizers"))
			return nil
		},
	})
}
