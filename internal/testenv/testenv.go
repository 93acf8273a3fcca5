// Package testenv locates the shared test fixtures (real tokenizer files and HF-generated
// goldens) that live beside the repository, outside the module.
package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SharedDir returns the shared fixtures folder: $YTRAIN_SHARED, else ../shared beside
// the module root. When it is missing the test is skipped, except under CI=true, where
// it fails: CI must not pass by skipping.
func SharedDir(t testing.TB) string {
	t.Helper()
	return SharedPath(t)
}

// SharedPath returns a file or folder under SharedDir, skipping or failing the test as
// SharedDir does when it is missing.
func SharedPath(t testing.TB, elem ...string) string {
	t.Helper()
	path, ok := SharedPathIfPresent(t, elem...)
	if !ok {
		t.Skipf("shared fixture missing (set YTRAIN_SHARED): %s", path)
	}
	return path
}

// SharedPathIfPresent returns a file or folder under SharedDir and whether it
// exists, for a test that can run part of its cases without it. Under
// CI=true a missing fixture fails the test: CI must not pass by skipping.
func SharedPathIfPresent(t testing.TB, elem ...string) (string, bool) {
	t.Helper()
	dir := os.Getenv("YTRAIN_SHARED")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared")
	}
	path := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared fixture missing: %v", err)
		}
		return path, false
	}
	return path, true
}

// moduleRoot walks up from the working directory (a test's package folder) to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// ReadJSONL decodes a fixture of one JSON value per line.
func ReadJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	out, err := DecodeJSONL[T](path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// DecodeJSONL decodes a file of one JSON value per line.
func DecodeJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, len(out)+1, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// Python returns the interpreter of build/venv (make venv), or $YTRAIN_PYTHON:
// the Python with torch, transformers, peft, tensorboard and pyarrow that
// judges ytrain in the interop tests. When it is missing the test is
// skipped, except under CI=true, where it fails.
func Python(t testing.TB) string {
	t.Helper()
	py := os.Getenv("YTRAIN_PYTHON")
	if py == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		py = filepath.Join(root, "build", "venv", "bin", "python")
	}
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Python venv (make venv): %v", err)
		}
		t.Skipf("no Python venv (make venv, or set YTRAIN_PYTHON): %v", err)
	}
	return py
}

// ModuleRoot returns the repository root (the folder of go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// BuildTools builds the main packages pkgs (paths relative to the module
// root, such as ./cmd/train) into a temporary folder, removed when the test
// ends, and returns the folder: for tests that run the tools as a user does.
func BuildTools(t testing.TB, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %v: %v\n%s", pkgs, err, out)
	}
	return dir
}
