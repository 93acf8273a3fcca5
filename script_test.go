package ytrain_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ytrain/ytrain/evaluate"
	"github.com/ytrain/ytrain/generate"
	"github.com/ytrain/ytrain/internal/testenv"
	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/pack"
	"github.com/ytrain/ytrain/rank"
	"github.com/ytrain/ytrain/score"
	"github.com/ytrain/ytrain/tokenize"
	"github.com/ytrain/ytrain/train"
)

// TestMain lets the test binary run as each tool: the scripts call them
// in-process, as the real commands.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tokenize": tokenize.Main, "pack": pack.Main, "score": score.Main, "rank": rank.Main,
		"train": train.Main, "generate": generate.Main, "evaluate": evaluate.Main, "tinymodel": tinymodel.Main,
	})
}

// TestScripts runs testdata/script/*.txtar: shell-like sessions with the
// tools, good_* for inputs the tools accept and fail_* for inputs they must
// reject with a clear message, a non-zero exit and no output file. Scripts
// that need the shared tokenizers start with [!shared] skip; without
// ../shared only those are skipped (under CI=true, the run fails instead).
func TestScripts(t *testing.T) {
	tokenizers, ok := testenv.SharedPathIfPresent(t, "tokenizers")
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("TOKENIZERS", tokenizers)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "shared" {
				return ok, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
