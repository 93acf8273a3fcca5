// Command dist measures what data parallelism costs on this machine: the
// sum all-reduce (internal/dist over gloo on 127.0.0.1) of flat float32
// buffers per MB, and of the demo model's gradients per optimizer step
// (LoRA r16 on all seven projections, and full fine-tuning, which also
// shows the reduce-scatter + all-gather pair that --zero 1 will use), with
// 2 processes next to 1 (where every collective returns at once). Run by
// bench/dist.sh, which adds a 1-process training step for scale.
//
//	dist --model DIR [--reps N]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/dist"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/torch"
)

// result is one measurement: median seconds per call of a payload.
type result struct {
	Name  string  `json:"name"`
	Bytes int64   `json:"bytes"`
	Sec   float64 `json:"sec"`
}

func main() {
	runtime.LockOSThread()
	modelDir := flag.String("model", "", "the demo-shaped model folder (bench/dist.sh writes it)")
	reps := flag.Int("reps", 20, "timed calls per payload (after 3 untimed)")
	flag.Parse()
	if *modelDir == "" {
		fmt.Fprintln(os.Stderr, "usage: dist --model DIR [--reps N]")
		os.Exit(2)
	}
	torch.SetThreads(1)
	if os.Getenv("WORLD_SIZE") != "" { // a rank started below
		if err := rank(*modelDir, *reps); err != nil {
			fmt.Fprintln(os.Stderr, "dist bench:", err)
			os.Exit(1)
		}
		return
	}
	one, err := measure(nil, *modelDir, *reps) // a nil Group is a world of one
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist bench:", err)
		os.Exit(1)
	}
	two, err := spawn(2, *modelDir, *reps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist bench:", err)
		os.Exit(1)
	}
	fmt.Printf("all-reduce (sum) over gloo on 127.0.0.1, median of %d calls, %d CPU(s)\n", *reps, runtime.NumCPU())
	fmt.Printf("  %-34s %10s %12s %12s %10s\n", "payload", "MB", "1 process", "2 processes", "ms/MB")
	for i, r := range two {
		mb := float64(r.Bytes) / (1 << 20)
		fmt.Printf("  %-34s %10.2f %9.3f ms %9.3f ms %10.3f\n", r.Name, mb, one[i].Sec*1e3, r.Sec*1e3, r.Sec*1e3/mb)
	}
}

// spawn runs w ranks of this program on 127.0.0.1 and returns rank 0's
// results.
func spawn(w int, modelDir string, reps int) ([]result, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	var out *bufio.Scanner
	for r := range w {
		c := exec.Command(exe, "--model", modelDir, "--reps", strconv.Itoa(reps))
		c.Env = append(os.Environ(), "RANK="+strconv.Itoa(r), "LOCAL_RANK="+strconv.Itoa(r),
			"WORLD_SIZE="+strconv.Itoa(w), "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port), "OMP_NUM_THREADS=1")
		c.Stderr = os.Stderr
		if r == 0 {
			p, err := c.StdoutPipe()
			if err != nil {
				return nil, err
			}
			out = bufio.NewScanner(p)
		}
		if err := c.Start(); err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	var res []result
	for out.Scan() {
		var r result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("rank 0 printed %q: %w", out.Text(), err)
		}
		res = append(res, r)
	}
	for r, c := range cmds {
		if err := c.Wait(); err != nil {
			return nil, fmt.Errorf("rank %d: %w", r, err)
		}
	}
	return res, nil
}

func rank(modelDir string, reps int) error {
	cfg, err := dist.FromEnv(os.Getenv, "gloo", time.Minute)
	if err != nil {
		return err
	}
	g, err := dist.Init(cfg, gotch.CPU)
	if err != nil {
		return err
	}
	res, err := measure(g, modelDir, reps)
	if err != nil {
		return err
	}
	if err := g.Barrier(); err != nil {
		return err
	}
	g.Close()
	if g.Rank() == 0 {
		enc := json.NewEncoder(os.Stdout)
		for _, r := range res {
			enc.Encode(r)
		}
	}
	return nil
}

// measure times every payload on g; all ranks run the same calls.
func measure(g *dist.Group, modelDir string, reps int) ([]result, error) {
	var res []result
	timeIt := func(name string, bytes int64, call func() error) error {
		var secs []float64
		for i := range reps + 3 {
			start := time.Now()
			if err := call(); err != nil {
				return err
			}
			if i >= 3 {
				secs = append(secs, time.Since(start).Seconds())
			}
		}
		sort.Float64s(secs)
		res = append(res, result{name, bytes, secs[len(secs)/2]})
		return nil
	}
	for _, mb := range []int64{1, 4, 16, 64} {
		buf, err := ts.Ones([]int64{mb << 18}, gotch.Float, gotch.CPU) // 2^18 float32 = 1 MB
		if err != nil {
			return nil, err
		}
		if err := timeIt(fmt.Sprintf("flat float32 buffer, %d MB", mb), mb<<20, func() error { return g.AllReduceSum(buf) }); err != nil {
			return nil, err
		}
		buf.MustDrop()
	}

	m, err := model.Open(modelDir, "cpu", "f32")
	if err != nil {
		return nil, err
	}
	defer m.Close()
	full := grads(m.Params)
	lora, err := m.AttachLoRA(model.LoRAConfig{Rank: 16, Alpha: 32, Targets: model.Modules})
	if err != nil {
		return nil, err
	}
	adapters := grads(lora)
	if err := timeIt(fmt.Sprintf("LoRA r16 gradients (%d tensors)", len(adapters)), size(adapters), func() error { return g.AllReduceSum(adapters...) }); err != nil {
		return nil, err
	}
	if err := timeIt(fmt.Sprintf("full gradients (%d tensors)", len(full)), size(full), func() error { return g.AllReduceSum(full...) }); err != nil {
		return nil, err
	}
	// --zero 1: gradients reduce-scattered into this rank's shard, the
	// updated shard all-gathered back, over one flat buffer
	n := size(full) / 4
	n = (n + int64(g.Size()) - 1) / int64(g.Size()) * int64(g.Size())
	flat, err := ts.Ones([]int64{n}, gotch.Float, gotch.CPU)
	if err != nil {
		return nil, err
	}
	part, err := ts.Zeros([]int64{n / int64(g.Size())}, gotch.Float, gotch.CPU)
	if err != nil {
		return nil, err
	}
	if err := timeIt("full: reduce-scatter + all-gather", n*4, func() error {
		if err := g.ReduceScatterSum(part, flat); err != nil {
			return err
		}
		return g.AllGather(flat, part)
	}); err != nil {
		return nil, err
	}
	return res, nil
}

// grads makes a float32 gradient-sized tensor for each named parameter, in
// name order (every rank must pass the same list).
func grads(params map[string]*ts.Tensor) []*ts.Tensor {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []*ts.Tensor
	for _, n := range names {
		out = append(out, ts.MustOnes(params[n].MustSize(), gotch.Float, gotch.CPU))
	}
	return out
}

func size(ts []*ts.Tensor) int64 {
	var b int64
	for _, t := range ts {
		b += int64(t.Numel()) * 4
	}
	return b
}
