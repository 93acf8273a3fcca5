package training

import (
	"os"
	"os/exec"
	"path/filepath"
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
}
