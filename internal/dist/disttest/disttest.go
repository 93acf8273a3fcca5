// Package disttest runs a test binary again as the ranks of a process
// group on 127.0.0.1, as torchrun would: the package's TestMain sees
// YTRAIN_DIST_WORKER and runs that scenario as one rank instead of the tests.
package disttest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Proc is one rank.
type Proc struct {
	Cmd            *exec.Cmd
	Stdout, Stderr bytes.Buffer
}

// Worker is the scenario this process was started for ("" in the test
// process itself).
func Worker() string { return os.Getenv("YTRAIN_DIST_WORKER") }

// FreePort is a TCP port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Launch starts w ranks of scenario with torchrun's variables, one thread
// each, and env added; ctx bounds them.
func Launch(t testing.TB, ctx context.Context, w int, scenario string, env ...string) []*Proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	var ps []*Proc
	for r := range w {
		p := &Proc{Cmd: exec.CommandContext(ctx, exe, "-test.run=^$")}
		p.Cmd.Env = append(os.Environ(),
			"YTRAIN_DIST_WORKER="+scenario,
			"RANK="+strconv.Itoa(r), "LOCAL_RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(w),
			"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port),
			"OMP_NUM_THREADS=1")
		p.Cmd.Env = append(p.Cmd.Env, env...)
		p.Cmd.Stdout, p.Cmd.Stderr = &p.Stdout, &p.Stderr
		if err := p.Cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// Wait waits for every rank and reports, for each that failed, its error
// and output.
func Wait(t testing.TB, ps []*Proc) bool {
	t.Helper()
	ok := true
	for r, p := range ps {
		if err := p.Cmd.Wait(); err != nil {
			t.Errorf("rank %d: %v\nstdout: %s\nstderr: %s", r, err, p.Stdout.String(), p.Stderr.String())
			ok = false
		}
	}
	return ok
}
