// Package dist is ytrain's data parallelism: a process group over libtorch's
// own c10d (TCPStore rendezvous, ProcessGroupGloo on the CPU, ProcessGroupNCCL
// on CUDA; libtorch/shim/dist_api.cpp), joined from the variables torchrun,
// Slurm wrappers and Kubernetes' PyTorchJob set, and the collectives training
// needs on *ts.Tensor.
//
// A world of one process (WORLD_SIZE unset or 1) is a Group too: it holds no
// store and no threads, and every collective returns at once. A nil *Group
// behaves the same way.
//
// Rules: every rank calls the same collectives in the same order, from the
// goroutine that drives torch (locked to its OS thread, internal/torch). A
// failure is never a hang: a dead peer closes its sockets, a hung one runs
// into the timeout, and either way the error names this rank and, from a
// roll call in the store, the ranks that stopped answering. After a failure
// the group is unusable; the process should exit.
package dist

// #cgo CFLAGS: -I${SRCDIR}/../../libtorch/shim
// #include <stdlib.h>
// #include "dist_api.h"
import "C"

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// Config says which process group to join; FromEnv reads it from torchrun's
// variables.
type Config struct {
	Rank      int    // RANK: this process, 0 ≤ Rank < Size
	Size      int    // WORLD_SIZE: processes in the group; 1 means no group
	LocalRank int    // LOCAL_RANK: this process on its machine (shard.Device: cuda:LOCAL_RANK)
	Addr      string // MASTER_ADDR: host of rank 0, which serves the TCPStore
	Port      int    // MASTER_PORT: the TCPStore's port
	// GlooIface is GLOO_SOCKET_IFNAME, the network interface gloo uses (as
	// in PyTorch); empty: loopback when Addr is, else this host's address.
	GlooIface string
	Backend   string        // auto, gloo or nccl (auto: nccl on CUDA, gloo on the CPU)
	Timeout   time.Duration // bounds the rendezvous and every collective
}

// DefaultTimeout is how long a collective waits for a silent peer. A
// training step's work between two collectives must fit well inside it.
const DefaultTimeout = 10 * time.Minute

// FromEnv reads torchrun's variables through getenv (os.Getenv). With
// WORLD_SIZE unset or 1 it returns a one-process Config; otherwise RANK,
// MASTER_ADDR and MASTER_PORT must be set, and LOCAL_RANK defaults to 0
// (one process per machine or container, as a PyTorchJob's pods).
func FromEnv(getenv func(string) string, backend string, timeout time.Duration) (Config, error) {
	c := Config{Size: 1, Backend: backend, Timeout: timeout, GlooIface: getenv("GLOO_SOCKET_IFNAME")}
	if c.Backend == "" {
		c.Backend = "auto"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch c.Backend {
	case "auto", "gloo", "nccl":
	default:
		return c, fmt.Errorf("dist: backend %q: want auto, gloo or nccl", backend)
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("dist: timeout %v: want a positive duration", timeout)
	}
	ws := getenv("WORLD_SIZE")
	if ws == "" {
		return c, nil
	}
	var err error
	num := func(name string, min, max int) int {
		v := getenv(name)
		n, e := strconv.Atoi(v)
		switch {
		case err != nil:
		case v == "":
			err = fmt.Errorf("dist: WORLD_SIZE=%s is set but %s is not (launch with torchrun, or set RANK, MASTER_ADDR and MASTER_PORT)", ws, name)
		case e != nil || n < min || n > max:
			err = fmt.Errorf("dist: %s=%q: want an integer in [%d, %d]", name, v, min, max)
		}
		return n
	}
	c.Size = num("WORLD_SIZE", 1, 1<<20)
	if err != nil || c.Size == 1 {
		return c, err
	}
	c.Rank = num("RANK", 0, c.Size-1)
	if getenv("LOCAL_RANK") != "" {
		c.LocalRank = num("LOCAL_RANK", 0, c.Size-1)
	}
	c.Port = num("MASTER_PORT", 1, 65535)
	c.Addr = getenv("MASTER_ADDR")
	if err == nil && c.Addr == "" {
		err = fmt.Errorf("dist: WORLD_SIZE=%s is set but MASTER_ADDR is not", ws)
	}
	return c, err
}

// backend resolves "auto" for dev and refuses NCCL without CUDA.
func (c Config) backend(dev gotch.Device) (string, error) {
	switch {
	case c.Backend == "auto" && dev.IsCuda():
		return "nccl", nil
	case c.Backend == "auto" || c.Backend == "":
		return "gloo", nil
	case c.Backend == "nccl" && !dev.IsCuda():
		return "", errors.New("dist: backend nccl needs a CUDA device (use gloo on the CPU)")
	case c.Backend == "nccl" && !strings.Contains(Backends(), "nccl"):
		return "", fmt.Errorf("dist: backend nccl: this libgotch_tch.so has only %s (rebuild the shim against a CUDA libtorch with NCCL)", Backends())
	}
	return c.Backend, nil
}

// Backends lists the c10d backends the loaded shim was built with.
func Backends() string { return C.GoString(C.atd_backends()) }

// Group is this process's membership of the process group.
type Group struct {
	cfg     Config
	dev     gotch.Device
	backend string
	g       *C.atd_group // nil for a world of one
}

// Init joins the group cfg describes, computing on dev (Config.Device). Every
// rank must call it; it returns when all have joined, or with an error after
// cfg.Timeout. A one-process cfg returns at once.
func Init(cfg Config, dev gotch.Device) (*Group, error) {
	if cfg.Size <= 1 {
		return &Group{cfg: Config{Size: 1}, dev: dev}, nil
	}
	b, err := cfg.backend(dev)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	host := ""
	if cfg.GlooIface == "" && isLoopback(cfg.Addr) {
		host = "127.0.0.1" // gloo's default binds this host's name, which may not be loopback
	}
	cb, caddr, ciface, chost := C.CString(b), C.CString(cfg.Addr), C.CString(cfg.GlooIface), C.CString(host)
	defer func() {
		for _, p := range []*C.char{cb, caddr, ciface, chost} {
			C.free(unsafe.Pointer(p))
		}
	}()
	var cerr *C.char
	g := C.atd_new(cb, caddr, C.int(cfg.Port), C.int(cfg.Rank), C.int(cfg.Size),
		C.int64_t(cfg.Timeout.Milliseconds()), ciface, chost, &cerr)
	if g == nil {
		return nil, fmt.Errorf("dist: rank %d of %d: joining the %s group at %s:%d: %s",
			cfg.Rank, cfg.Size, b, cfg.Addr, cfg.Port, takeErr(cerr))
	}
	return &Group{cfg: cfg, dev: dev, backend: b, g: g}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Rank is this process's rank (0 for a world of one or a nil Group).
func (g *Group) Rank() int {
	if g == nil {
		return 0
	}
	return g.cfg.Rank
}

// Size is the number of processes in the group (1 for a nil Group).
func (g *Group) Size() int {
	if g == nil {
		return 1
	}
	return g.cfg.Size
}

// Backend is "gloo" or "nccl", or "" for a world of one.
func (g *Group) Backend() string {
	if g == nil {
		return ""
	}
	return g.backend
}

func (g *Group) single() bool { return g == nil || g.g == nil }

// AllReduceSum replaces each tensor by its sum over the ranks. Tensors that
// share a dtype and device travel in one buffer, so a whole gradient list is
// one collective per dtype.
func (g *Group) AllReduceSum(tensors ...*ts.Tensor) error {
	if g.single() || len(tensors) == 0 {
		return nil
	}
	ptrs, err := handles(tensors)
	if err != nil {
		return g.errorf("all-reduce", err)
	}
	var cerr *C.char
	rc := C.atd_allreduce_sum(g.g, &ptrs[0], C.int(len(ptrs)), bucketBytes, &cerr)
	runtime.KeepAlive(tensors)
	return g.check("all-reduce", rc, cerr)
}

// bucketBytes bounds what one collective packs (and copies) at a time: a
// whole model's gradients in one buffer would double their memory.
const bucketBytes = 32 << 20

// AllReduceGrads sums every parameter's gradient over the ranks, in place,
// in buckets. A parameter that no backward reached on this rank (it had no
// data in the step) counts as a zero gradient.
func (g *Group) AllReduceGrads(params ...*ts.Tensor) error {
	if g.single() || len(params) == 0 {
		return nil
	}
	ptrs, err := handles(params)
	if err != nil {
		return g.errorf("gradient all-reduce", err)
	}
	var cerr *C.char
	rc := C.atd_allreduce_grads(g.g, &ptrs[0], C.int(len(ptrs)), bucketBytes, &cerr)
	runtime.KeepAlive(params)
	return g.check("gradient all-reduce", rc, cerr)
}

// Broadcast copies rank root's tensors over every other rank's.
func (g *Group) Broadcast(root int, tensors ...*ts.Tensor) error {
	if g.single() || len(tensors) == 0 {
		if root != 0 {
			return g.errorf("broadcast", fmt.Errorf("root rank %d of a world of one", root))
		}
		return nil
	}
	ptrs, err := handles(tensors)
	if err != nil {
		return g.errorf("broadcast", err)
	}
	var cerr *C.char
	rc := C.atd_broadcast(g.g, &ptrs[0], C.int(len(ptrs)), C.int(root), bucketBytes, &cerr)
	runtime.KeepAlive(tensors)
	return g.check("broadcast", rc, cerr)
}

// AllGather fills out (contiguous, Size × in's elements, in's dtype) with
// every rank's in, in rank order. In a world of one it copies in to out
// unless they are the same tensor.
func (g *Group) AllGather(out, in *ts.Tensor) error {
	if g.single() {
		return copyIfOther("all-gather", out, in)
	}
	ptrs, err := handles([]*ts.Tensor{out, in})
	if err != nil {
		return g.errorf("all-gather", err)
	}
	var cerr *C.char
	rc := C.atd_allgather(g.g, ptrs[0], ptrs[1], &cerr)
	runtime.KeepAlive(out)
	runtime.KeepAlive(in)
	return g.check("all-gather", rc, cerr)
}

// ReduceScatterSum sets out to the sum over the ranks of this rank's slice
// of in: in has Size × out's elements, and rank r's slice is elements
// [r·n, (r+1)·n) of it, n = out's elements.
func (g *Group) ReduceScatterSum(out, in *ts.Tensor) error {
	if g.single() {
		return copyIfOther("reduce-scatter", out, in)
	}
	ptrs, err := handles([]*ts.Tensor{out, in})
	if err != nil {
		return g.errorf("reduce-scatter", err)
	}
	var cerr *C.char
	rc := C.atd_reduce_scatter_sum(g.g, ptrs[0], ptrs[1], &cerr)
	runtime.KeepAlive(out)
	runtime.KeepAlive(in)
	return g.check("reduce-scatter", rc, cerr)
}

// Barrier returns when every rank has called it.
func (g *Group) Barrier() error {
	if g.single() {
		return nil
	}
	var cerr *C.char
	return g.check("barrier", C.atd_barrier(g.g, &cerr), cerr)
}

// Close leaves the group. Rank 0 serves the store: call Barrier before
// Close so it is the last to go.
func (g *Group) Close() error {
	if g.single() {
		return nil
	}
	C.atd_free(g.g)
	g.g = nil
	return nil
}

// rollCallWait bounds how long a failed rank waits for the others to report
// in; their own collectives fail within moments of this rank's, because a
// failed group closes its connections.
const rollCallWait = 3 * time.Second

// check turns a failed collective into an error that names this rank and
// the ranks that did not answer a roll call in the store.
func (g *Group) check(op string, rc C.int, cerr *C.char) error {
	if rc == 0 {
		return nil
	}
	msg := takeErr(cerr)
	wait := min(rollCallWait, g.cfg.Timeout)
	var rerr *C.char
	missing := C.atd_roll_call(g.g, C.int64_t(wait.Milliseconds()), &rerr)
	var who string
	switch {
	case missing == nil:
		who = fmt.Sprintf("rank 0, which serves the store at %s:%d, is gone (%s)", g.cfg.Addr, g.cfg.Port, takeErr(rerr))
	case C.GoString(missing) == "":
		who = "every rank answered a roll call afterwards"
	default:
		ranks := C.GoString(missing)
		noun := "rank"
		if strings.Contains(ranks, ",") {
			noun = "ranks"
		}
		who = fmt.Sprintf("%s %s did not answer a roll call within %v (dead, hung or unreachable)", noun, ranks, wait)
	}
	if missing != nil {
		C.free(unsafe.Pointer(missing))
	}
	return fmt.Errorf("dist: rank %d of %d: %s; %s", g.cfg.Rank, g.cfg.Size, msg, who)
}

func (g *Group) errorf(op string, err error) error {
	return fmt.Errorf("dist: rank %d of %d: %s: %w", g.Rank(), g.Size(), op, err)
}

func takeErr(cerr *C.char) string {
	if cerr == nil {
		return "unknown error"
	}
	defer C.free(unsafe.Pointer(cerr))
	return C.GoString(cerr)
}

// handles returns the torch::Tensor pointers behind tensors. The slice holds
// C pointers only, so C may read it.
func handles(tensors []*ts.Tensor) ([]unsafe.Pointer, error) {
	ptrs := make([]unsafe.Pointer, len(tensors))
	for i, t := range tensors {
		if t == nil || t.Ctensor() == nil {
			return nil, fmt.Errorf("tensor %d is nil or dropped", i)
		}
		ptrs[i] = t.Ctensor()
	}
	return ptrs, nil
}

func copyIfOther(op string, out, in *ts.Tensor) error {
	ptrs, err := handles([]*ts.Tensor{out, in})
	if err != nil {
		return fmt.Errorf("dist: %s: %w", op, err)
	}
	var cerr *C.char
	rc := C.atd_copy_into(ptrs[0], ptrs[1], &cerr)
	runtime.KeepAlive(out)
	runtime.KeepAlive(in)
	if rc != 0 {
		return fmt.Errorf("dist: %s in a world of one: %s", op, takeErr(cerr))
	}
	return nil
}
