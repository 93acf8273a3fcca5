package cli

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ytrain/ytrain/formats"
)

// The test binary plays a tool when YTRAIN_CLI_TEST names one.
func TestMain(m *testing.M) {
	switch os.Getenv("YTRAIN_CLI_TEST") {
	case "writer": // writes half an output, then waits to be stopped
		os.Exit(Run("writer", os.Stderr, func() error {
			return formats.WriteFile(os.Getenv("OUT"), os.Stdout, func(w io.Writer) error {
				w.Write([]byte("half"))
				os.Stdout.WriteString("ready\n")
				select {}
			})
		}))
	case "panic":
		os.Exit(Run("panic", os.Stderr, func() error { panic("index out of range") }))
	}
	os.Exit(m.Run())
}

func tool(t *testing.T, name string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "YTRAIN_CLI_TEST="+name), env...)
	return cmd
}

// SIGINT and SIGTERM end a tool with 128 + the signal, its temporary output
// removed: nothing partial is left under any name.
func TestSignalsRemoveTemporaryOutput(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		dir := t.TempDir()
		cmd := tool(t, "writer", "OUT="+filepath.Join(dir, "out.jsonl"))
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
			t.Fatalf("tool said %q", line)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("while writing: %v", ents)
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
			t.Fatalf("%v: %v, want exit status %d", sig, err, 128+int(sig))
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("%v left %v", sig, ents)
		}
		if !strings.Contains(stderr.String(), "writer: stopped by") {
			t.Fatalf("stderr: %s", stderr.String())
		}
	}
}

// A panic reaches the user as one line and exit status 2, not a stack trace.
func TestPanicIsOneLine(t *testing.T) {
	cmd := tool(t, "panic")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || strings.Contains(string(out), "goroutine") ||
		strings.TrimSpace(string(out)) != "panic: internal error: index out of range (YTRAIN_TRACE=1 shows where)" {
		t.Fatalf("%v: %q", err, out)
	}
}
