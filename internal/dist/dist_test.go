package dist

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/dist/disttest"
	"github.com/ytrain/ytrain/internal/torch"
)

// The multi-process tests run this test binary again as the workers: with
// YTRAIN_DIST_WORKER set, TestMain runs that scenario as one rank (the
// torchrun variables in its environment) instead of the tests.
func TestMain(m *testing.M) {
	if sc := disttest.Worker(); sc != "" {
		runtime.LockOSThread()
		os.Exit(worker(sc))
	}
	os.Exit(m.Run())
}

func worker(scenario string) int {
	timeout, _ := time.ParseDuration(os.Getenv("YTRAIN_DIST_TIMEOUT"))
	cfg, err := FromEnv(os.Getenv, "gloo", timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	g, err := Init(cfg, gotch.CPU)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	switch scenario {
	case "collectives":
		if err = collectives(g); err == nil {
			err = misuse(g)
		}
		if err == nil {
			fmt.Println("ok")
			return 0
		}
	case "mismatch":
		err = mismatch(g)
	case "victim":
		return victim(g)
	default:
		err = fmt.Errorf("unknown scenario %q", scenario)
	}
	if err == nil {
		err = g.Barrier()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	g.Close()
	fmt.Println("ok")
	return 0
}

func floats(vals []float32, shape ...int64) *ts.Tensor {
	return ts.MustOfSlice(vals).MustView(shape, true)
}

func want[T comparable](what string, got, exp []T) error {
	if !slices.Equal(got, exp) {
		return fmt.Errorf("%s = %v, want %v", what, got, exp)
	}
	return nil
}

// collectives checks every collective's values exactly (they are sums of
// small integers, exact in float32).
func collectives(g *Group) error {
	r, w := float32(g.Rank()), float32(g.Size())
	tri := w * (w - 1) / 2 // Σ_q q

	// all-reduce: a list of tensors of two dtypes, one of them a
	// transposed view (not contiguous), one a parameter that requires grad
	a := floats([]float32{r, r + 1, r + 2, r + 3, r + 4, r + 5}, 2, 3)
	bt := floats([]float32{10 * r, 1, 2, 3}, 2, 2).MustT(true)
	p := floats([]float32{r, -r}, 2).MustSetRequiresGrad(true, true)
	n := ts.MustOfSlice([]int64{int64(g.Rank()), 7})
	if err := g.AllReduceSum(a, bt, p, n); err != nil {
		return err
	}
	av, _ := torch.Float32s(a)
	if err := want("all-reduce a", av, []float32{tri, tri + w, tri + 2*w, tri + 3*w, tri + 4*w, tri + 5*w}); err != nil {
		return err
	}
	btv, _ := torch.Float32s(bt) // transposed: [[10r, 2], [1, 3]]
	if err := want("all-reduce transposed", btv, []float32{10 * tri, 2 * w, w, 3 * w}); err != nil {
		return err
	}
	pv, _ := torch.Float32s(p)
	if err := want("all-reduce parameter", pv, []float32{tri, -tri}); err != nil {
		return err
	}
	nv, _ := torch.ReadInt64s(n)
	if err := want("all-reduce int64", nv, []int64{int64(tri), 7 * int64(w)}); err != nil {
		return err
	}

	// broadcast from the last rank
	root := g.Size() - 1
	b1 := floats([]float32{r, r * r, 5}, 3)
	b2 := ts.MustOfSlice([]int64{int64(g.Rank()) * 3}).MustSetRequiresGrad(false, true)
	if err := g.Broadcast(root, b1, b2); err != nil {
		return err
	}
	b1v, _ := torch.Float32s(b1)
	rt := float32(root)
	if err := want("broadcast", b1v, []float32{rt, rt * rt, 5}); err != nil {
		return err
	}
	b2v, _ := torch.ReadInt64s(b2)
	if err := want("broadcast int64", b2v, []int64{int64(root) * 3}); err != nil {
		return err
	}

	// all-gather: rank q contributes 100q + j
	in := floats([]float32{100 * r, 100*r + 1, 100*r + 2, 100*r + 3}, 2, 2)
	out := ts.MustZeros([]int64{int64(g.Size()) * 4}, gotch.Float, gotch.CPU)
	if err := g.AllGather(out, in); err != nil {
		return err
	}
	var exp []float32
	for q := range g.Size() {
		for j := range 4 {
			exp = append(exp, float32(100*q+j))
		}
	}
	ov, _ := torch.Float32s(out)
	if err := want("all-gather", ov, exp); err != nil {
		return err
	}

	// reduce-scatter: rank q's input element k is 1000q + k; rank r gets
	// elements [3r, 3r+3) summed over q
	var rsIn []float32
	for k := range 3 * g.Size() {
		rsIn = append(rsIn, 1000*r+float32(k))
	}
	rin := floats(rsIn, int64(len(rsIn)))
	rout := ts.MustZeros([]int64{3}, gotch.Float, gotch.CPU)
	if err := g.ReduceScatterSum(rout, rin); err != nil {
		return err
	}
	rv, _ := torch.Float32s(rout)
	var rexp []float32
	for j := range 3 {
		rexp = append(rexp, 1000*tri+w*(3*r+float32(j)))
	}
	if err := want("reduce-scatter", rv, rexp); err != nil {
		return err
	}
	rinv, _ := torch.Float32s(rin)
	if err := want("reduce-scatter input (untouched)", rinv, rsIn); err != nil {
		return err
	}
	// twice: the second call takes the path the first one settled on
	if err := g.ReduceScatterSum(rout, rin); err != nil {
		return err
	}
	rv, _ = torch.Float32s(rout)
	if err := want("reduce-scatter again", rv, rexp); err != nil {
		return err
	}

	return nil
}

// misuse: a wrong size is refused with a message, not a crash, and it ends
// the group on every rank (the others may be inside the collective already:
// closing it is what keeps them from waiting for the timeout).
func misuse(g *Group) error {
	in := ts.MustZeros([]int64{4}, gotch.Float, gotch.CPU)
	bad := ts.MustZeros([]int64{5}, gotch.Float, gotch.CPU)
	err := g.AllGather(bad, in)
	exp := fmt.Sprintf("dist: rank %d of %d: all-gather: all-gather output has 5 elements, want %d × 4; every rank answered a roll call", g.Rank(), g.Size(), g.Size())
	if err == nil || !strings.Contains(err.Error(), exp) {
		return fmt.Errorf("all-gather into a wrong size: err = %v, want %q", err, exp)
	}
	if err := g.Barrier(); err == nil || !strings.Contains(err.Error(), "barrier: the process group failed earlier: all-gather") {
		return fmt.Errorf("barrier after a failure: err = %v", err)
	}
	return g.Close()
}

// mismatch: the last rank has another learning rate; every rank must refuse
// the run and name that rank and field.
func mismatch(g *Group) error {
	fields := []Field{{"model", "m.safetensors:abc"}, {"lr", "1e-4"}, {"data", "d.arrow:123"}}
	if err := g.CheckSame(fields); err != nil {
		return fmt.Errorf("identical fields refused: %w", err)
	}
	if g.Rank() == g.Size()-1 {
		fields[1].Value = "1e-3"
	}
	err := g.CheckSame(fields)
	exp := fmt.Sprintf("configuration: rank %d's lr (", g.Size()-1)
	if err == nil || !strings.Contains(err.Error(), exp) {
		return fmt.Errorf("CheckSame with another lr on the last rank: err = %v, want one naming %q only", err, exp)
	}
	fmt.Println("refused:", err)
	// a rank that checks an extra setting (another build) is refused too
	fields[1].Value = "1e-4"
	if g.Rank() == 1 {
		fields = append(fields, Field{"zero", "1"})
	}
	err = g.CheckSame(fields)
	if err == nil || !strings.Contains(err.Error(), "rank 1 checks 4 settings, rank 0 3") {
		return fmt.Errorf("CheckSame with an extra field on rank 1: err = %v", err)
	}
	return nil
}

// victim: every rank joins; the rank YTRAIN_DIST_VICTIM then waits to be
// killed or stopped by the test, while the others all-reduce until that
// fails. Exit 3 with the error is the expected outcome for them.
func victim(g *Group) int {
	v, _ := strconv.Atoi(os.Getenv("YTRAIN_DIST_VICTIM"))
	if err := g.Barrier(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: barrier:", err)
		return 1
	}
	fmt.Println("ready")
	if g.Rank() == v {
		time.Sleep(time.Hour)
		return 1
	}
	x := ts.MustOnes([]int64{1 << 10}, gotch.Float, gotch.CPU)
	for {
		if err := g.AllReduceSum(x); err != nil {
			fmt.Fprintln(os.Stderr, "ERR:", err)
			return 3
		}
	}
}

func TestCollectives(t *testing.T) {
	for _, w := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d_ranks", w), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			for r, p := range disttest.Launch(t, ctx, w, "collectives", "YTRAIN_DIST_TIMEOUT=60s") {
				if err := p.Cmd.Wait(); err != nil || strings.TrimSpace(p.Stdout.String()) != "ok" {
					t.Errorf("rank %d: %v\nstdout: %s\nstderr: %s", r, err, p.Stdout.String(), p.Stderr.String())
				}
			}
		})
	}
}

func TestCheckSame(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for r, p := range disttest.Launch(t, ctx, 3, "mismatch", "YTRAIN_DIST_TIMEOUT=60s") {
		if err := p.Cmd.Wait(); err != nil {
			t.Errorf("rank %d: %v\nstdout: %s\nstderr: %s", r, err, p.Stdout.String(), p.Stderr.String())
		}
		if r == 0 {
			t.Logf("rank 0: %s", p.Stdout.String())
		}
	}
}

// A rank that dies (SIGKILL) or hangs (SIGSTOP) makes every other rank fail
// with an error naming it, within bounded time: a death at once (its
// sockets close), a hang within the timeout plus the roll call.
func TestDeadRank(t *testing.T) {
	cases := []struct {
		name    string
		w, v    int
		sig     syscall.Signal
		timeout time.Duration
		within  time.Duration
		expect  string
	}{
		{"killed_2_of_3", 3, 2, syscall.SIGKILL, time.Minute, 20 * time.Second, "rank 2 did not answer a roll call"},
		{"killed_rank0_of_2", 2, 0, syscall.SIGKILL, time.Minute, 20 * time.Second, "rank 0, which serves the store"},
		{"hung_1_of_3", 3, 1, syscall.SIGSTOP, 4 * time.Second, 30 * time.Second, "rank 1 did not answer a roll call"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ps := disttest.Launch(t, ctx, c.w, "victim", "YTRAIN_DIST_TIMEOUT="+c.timeout.String(), "YTRAIN_DIST_VICTIM="+strconv.Itoa(c.v))
			victim := ps[c.v].Cmd.Process
			defer victim.Kill()
			// wait until every rank is past the rendezvous
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
				ready := 0
				for _, p := range ps {
					if strings.Contains(p.Stdout.String(), "ready") {
						ready++
					}
				}
				if ready == c.w {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the ranks never got ready")
				}
			}
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			if err := victim.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			for r, p := range ps {
				if r == c.v {
					continue
				}
				err := p.Cmd.Wait()
				took := time.Since(start)
				msg := p.Stderr.String()
				t.Logf("rank %d after %v: %s", r, took.Round(time.Millisecond), strings.TrimSpace(msg))
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
					t.Errorf("rank %d: exit %v, want 3", r, err)
				}
				if !strings.Contains(msg, fmt.Sprintf("dist: rank %d of %d:", r, c.w)) || !strings.Contains(msg, c.expect) {
					t.Errorf("rank %d: error %q does not name itself and %q", r, msg, c.expect)
				}
				if took > c.within {
					t.Errorf("rank %d took %v to fail, want at most %v", r, took, c.within)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	c, err := FromEnv(env(), "", 0)
	if err != nil || c.Size != 1 || c.Backend != "auto" || c.Timeout != DefaultTimeout {
		t.Errorf("no variables: %+v, %v", c, err)
	}
	c, err = FromEnv(env("WORLD_SIZE", "1"), "gloo", time.Second)
	if err != nil || c.Size != 1 {
		t.Errorf("WORLD_SIZE=1: %+v, %v", c, err)
	}
	full := []string{"WORLD_SIZE", "4", "RANK", "3", "LOCAL_RANK", "1", "MASTER_ADDR", "node0", "MASTER_PORT", "29500", "GLOO_SOCKET_IFNAME", "eth1"}
	c, err = FromEnv(env(full...), "nccl", time.Minute)
	exp := Config{Rank: 3, Size: 4, LocalRank: 1, Addr: "node0", Port: 29500, GlooIface: "eth1", Backend: "nccl", Timeout: time.Minute}
	if err != nil || c != exp {
		t.Errorf("torchrun's variables: %+v, %v; want %+v", c, err, exp)
	}
	if c, err := FromEnv(env("WORLD_SIZE", "2", "RANK", "1", "MASTER_ADDR", "h", "MASTER_PORT", "1"), "", 0); err != nil || c.LocalRank != 0 || c.Rank != 1 {
		t.Errorf("no LOCAL_RANK (one process per pod): %+v, %v", c, err)
	}
	for _, bad := range []struct {
		kv      []string
		backend string
		expect  string
	}{
		{[]string{"WORLD_SIZE", "2", "RANK", "0", "LOCAL_RANK", "0", "MASTER_PORT", "1"}, "", "MASTER_ADDR is not"},
		{[]string{"WORLD_SIZE", "2", "LOCAL_RANK", "0", "MASTER_ADDR", "h", "MASTER_PORT", "1"}, "", "RANK is not"},
		{[]string{"WORLD_SIZE", "2", "RANK", "1", "LOCAL_RANK", "x", "MASTER_ADDR", "h", "MASTER_PORT", "1"}, "", `LOCAL_RANK="x"`},
		{[]string{"WORLD_SIZE", "2", "RANK", "2", "LOCAL_RANK", "0", "MASTER_ADDR", "h", "MASTER_PORT", "1"}, "", `RANK="2": want an integer in [0, 1]`},
		{[]string{"WORLD_SIZE", "two"}, "", `WORLD_SIZE="two"`},
		{[]string{"WORLD_SIZE", "2", "RANK", "0", "LOCAL_RANK", "0", "MASTER_ADDR", "h", "MASTER_PORT", "70000"}, "", "MASTER_PORT"},
		{nil, "mpi", `backend "mpi"`},
	} {
		if _, err := FromEnv(env(bad.kv...), bad.backend, 0); err == nil || !strings.Contains(err.Error(), bad.expect) {
			t.Errorf("%v: err = %v, want %q", bad.kv, err, bad.expect)
		}
	}
	if _, err := (Config{Size: 2, Backend: "nccl"}).backend(gotch.CPU); err == nil {
		t.Error("nccl on the CPU accepted")
	}
	if b, _ := (Config{Size: 2, Backend: "auto"}).backend(gotch.CPU); b != "gloo" {
		t.Errorf("auto on the CPU = %q", b)
	}
}

// A world of one holds nothing and does nothing; a nil *Group is the same.
func TestWorldOfOne(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cfg, _ := FromEnv(func(string) string { return "" }, "", 0)
	g, err := Init(cfg, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Group{g, nil} {
		x := floats([]float32{1, 2, 3, 4}, 2, 2)
		if err := g.AllReduceSum(x); err != nil {
			t.Fatal(err)
		}
		if err := g.Broadcast(0, x); err != nil {
			t.Fatal(err)
		}
		if err := g.Broadcast(1, x); err == nil {
			t.Error("broadcast from rank 1 of 1 accepted")
		}
		out := ts.MustZeros([]int64{4}, gotch.Float, gotch.CPU)
		if err := g.AllGather(out, x); err != nil {
			t.Fatal(err)
		}
		ov, _ := torch.Float32s(out)
		xv, _ := torch.Float32s(x)
		if !slices.Equal(ov, []float32{1, 2, 3, 4}) || !slices.Equal(xv, ov) {
			t.Errorf("world of one: all-gather %v, x %v", ov, xv)
		}
		if err := g.ReduceScatterSum(out, x); err != nil {
			t.Fatal(err)
		}
		if err := g.AllGather(ts.MustZeros([]int64{3}, gotch.Float, gotch.CPU), x); err == nil {
			t.Error("all-gather into 3 elements from 4 accepted")
		}
		if err := g.CheckSame([]Field{{"a", "b"}}); err != nil {
			t.Fatal(err)
		}
		if err := g.Barrier(); err != nil {
			t.Fatal(err)
		}
		if g.Rank() != 0 || g.Size() != 1 || g.Backend() != "" {
			t.Errorf("rank %d size %d backend %q", g.Rank(), g.Size(), g.Backend())
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Joining a group whose store never answers fails within the timeout.
func TestRendezvousTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a timeout")
	}
	port := disttest.FreePort(t)
	start := time.Now()
	_, err := Init(Config{Rank: 1, Size: 2, Addr: "127.0.0.1", Port: port, Backend: "gloo", Timeout: 2 * time.Second}, gotch.CPU)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "dist: rank 1 of 2: joining the gloo group at 127.0.0.1:") {
		t.Errorf("err = %v", err)
	}
	if took > 15*time.Second {
		t.Errorf("took %v with a 2s timeout", took)
	}
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
}
