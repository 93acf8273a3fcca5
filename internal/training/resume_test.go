package training

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A run killed with SIGKILL and resumed from its last checkpoint logs the
// same losses, step for step, as a run that was never interrupted: model,
// optimizer moments, data cursor and dropout masks all continue exactly.
func TestResumeAfterKill(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 12)
	bin := filepath.Join(t.TempDir(), "train")
	build := exec.Command("go", "build", "-o", bin, "github.com/ytrain/ytrain/cmd/train")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building train: %v\n%s", err, out)
	}
	args := func(out string, extra ...string) []string {
		return append([]string{"--model", modelDir, "--output", out, "--token-batch", "4", "--lr", "1e-2",
			"--lora-rank", "4", "--lora-dropout", "0.1", "--epochs", "2", "--save-every", "5", "--lr-schedule", "cosine", "--warmup", "3", data}, extra...)
	}
	whole := filepath.Join(t.TempDir(), "whole")
	if out, err := exec.Command(bin, args(whole)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	cut := filepath.Join(t.TempDir(), "cut")
	cmd := exec.Command(bin, args(cut)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(cut, "checkpoint-10")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ckpt); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint-10 in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if out, err := exec.Command(bin, args(cut, "--resume", ckpt)...).CombinedOutput(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}

	a, b := metrics(t, whole), metrics(t, cut)
	if len(a) != len(b) || len(a) < 20 {
		t.Fatalf("%d steps uninterrupted, %d killed and resumed", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: uninterrupted %+v, resumed %+v", a[i].Step, a[i], b[i])
		}
	}
	t.Logf("%d steps identical after SIGKILL at or after step 10 and --resume", len(a))
	// the steps the killed run logged past its checkpoint are not logged twice
	if steps := rawSteps(t, cut); len(steps) != len(a) {
		t.Fatalf("metrics.jsonl of the resumed run logs %d lines for %d steps: %v", len(steps), len(a), steps)
	}

	// SIGINT: the step under way finishes, a checkpoint is written, exit 130
	stopped := filepath.Join(t.TempDir(), "stopped")
	cmd = exec.Command(bin, args(stopped, "--log-every", "1")...)
	out, err := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "step 3/") {
			cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("SIGINT: %v, want exit status 130\n%s", err, log.String())
	}
	ckpts, _ := filepath.Glob(filepath.Join(stopped, "checkpoint-*"))
	if len(ckpts) != 1 || !strings.Contains(log.String(), "saved: --resume "+ckpts[0]+" continues") {
		t.Fatalf("SIGINT: checkpoints %v\n%s", ckpts, log.String())
	}
	if tmp, _ := filepath.Glob(filepath.Join(stopped, "*.tmp")); len(tmp) > 0 {
		t.Fatalf("SIGINT left %v", tmp)
	}
	if out, err := exec.Command(bin, args(stopped, "--resume", ckpts[0])...).CombinedOutput(); err != nil {
		t.Fatalf("resuming after SIGINT: %v\n%s", err, out)
	}
	if c := metrics(t, stopped); len(c) != len(a) || c[len(c)-1] != a[len(a)-1] {
		t.Fatalf("after SIGINT and --resume: %d steps, last %+v; uninterrupted %+v", len(c), c[len(c)-1], a[len(a)-1])
	}
}

// rawSteps lists the step of every metrics.jsonl line.
func rawSteps(t *testing.T, out string) []int {
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m metric
		json.Unmarshal([]byte(l), &m)
		steps = append(steps, m.Step)
	}
	return steps
}
