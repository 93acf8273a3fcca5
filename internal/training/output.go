package training

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// lockOutput takes the output folder for this run: two runs writing one
// folder would interleave their metrics and mix their checkpoints. The lock
// is the kernel's (flock), so a killed run leaves none behind.
func lockOutput(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 64)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another train (%s): one run per output folder", dir, strings.TrimSpace(string(b[:n])))
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// outputs are what train writes into its folder; --overwrite removes them
// (and nothing else) so that a new run starts clean.
var outputs = []string{"checkpoint-*", "final", "final.tmp", "merged", "metrics.jsonl"}

// checkpointPath is the folder of the checkpoint at step in dir.
func checkpointPath(dir string, step int) string {
	return filepath.Join(dir, fmt.Sprintf("checkpoint-%d", step))
}

// checkpoints returns the steps of dir's checkpoint-N folders, oldest
// first. A folder is renamed to checkpoint-N only once written whole, so
// every one listed is complete.
func checkpoints(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var steps []int
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "checkpoint-")
		if step, err := strconv.Atoi(n); ok && err == nil && e.IsDir() && strconv.Itoa(step) == n {
			steps = append(steps, step)
		}
	}
	slices.Sort(steps)
	return steps, nil
}

// latestCheckpoint is --resume latest: the newest checkpoint in dir.
func latestCheckpoint(dir string) (string, error) {
	steps, err := checkpoints(dir)
	if err != nil {
		return "", err
	}
	if len(steps) == 0 {
		return "", fmt.Errorf("--resume latest: %s has no checkpoint-N folder", dir)
	}
	return checkpointPath(dir, steps[len(steps)-1]), nil
}

// pruneCheckpoints is --save-total-limit: it removes all but dir's newest
// keep checkpoints (keep 0 keeps them all).
func pruneCheckpoints(dir string, keep int) error {
	steps, err := checkpoints(dir)
	if err != nil || keep == 0 || len(steps) <= keep {
		return err
	}
	for _, step := range steps[:len(steps)-keep] {
		if err := os.RemoveAll(checkpointPath(dir, step)); err != nil {
			return err
		}
	}
	return nil
}

func clearOutput(dir string) error {
	for _, pat := range outputs {
		matches, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// truncateMetrics keeps the metrics.jsonl lines of steps up to step: a run
// killed after its checkpoint logged steps that the resumed run takes, and
// logs, again.
func truncateMetrics(dir string, step int) error {
	path := filepath.Join(dir, "metrics.jsonl")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	tmp, err := os.CreateTemp(dir, ".metrics.jsonl.tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Step > step {
			continue // a line cut by the kill, or a step to be taken again
		}
		w.Write(sc.Bytes())
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
