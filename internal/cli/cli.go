// Package cli is what every tool's main.go shares: running and exiting,
// the flag set and its help, the list of inputs, and the flags of the tools
// that run a model. A tool's main.go is flags, open, one call, exit code.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/ytrain/ytrain/internal/tempfiles"
)

// Run runs a tool and returns its exit code: 0 on success and for --help,
// 1 with "NAME: error" on stderr otherwise. A panic that reaches it (a
// libtorch failure no step caught, or a bug) is reported in one line, after
// the deferred clean-up of the tool has run, with exit status 2;
// YTRAIN_TRACE=1 lets it crash with its stack trace instead. Every tool's
// main is os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)), its run
// one call of Run around the tool's body.
func Run(name string, stderr io.Writer, body func() error) int {
	// libtorch's grad mode and gotch's last error are per OS thread: the
	// tools that drive torch do it from this goroutine
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	watchOnce.Do(func() {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		go watchSignals(name, stderr)
	})
	err := protect(body)
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var ie internalError
	var ec interface{ ExitCode() int }
	switch {
	case errors.As(err, &ie):
		return 2
	case errors.As(err, &ec):
		return ec.ExitCode()
	}
	return 1
}

var (
	watchOnce sync.Once
	sigs      = make(chan os.Signal, 2)
	graceful  = make(chan os.Signal, 1)
	stopping  atomic.Bool // a tool asked for Interrupts: it stops cleanly itself
)

// Interrupts is for a tool that can stop cleanly (train finishes its step
// and saves a checkpoint): the first SIGINT or SIGTERM is delivered here
// instead of ending the process; a second one still does.
func Interrupts() <-chan os.Signal {
	stopping.Store(true)
	return graceful
}

// watchSignals ends the tool on SIGINT or SIGTERM with 128 + the signal's
// number, after removing its temporary outputs, so that nothing partial is
// left behind.
func watchSignals(name string, stderr io.Writer) {
	sig := <-sigs
	if stopping.Load() {
		fmt.Fprintf(stderr, "%s: %v: stopping after this step (again to stop now)\n", name, sig)
		graceful <- sig
		sig = <-sigs
	}
	tempfiles.RemoveAll()
	fmt.Fprintf(stderr, "%s: stopped by %v; no partial output left\n", name, sig)
	os.Exit(ExitCode(sig))
}

// ExitCode is the shell's status for a process ended by sig: 128 + its number.
func ExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// internalError is a panic that reached Main.
type internalError struct{ v any }

func (e internalError) Error() string {
	if err, ok := e.v.(error); ok {
		return err.Error()
	}
	return fmt.Sprintf("internal error: %v (YTRAIN_TRACE=1 shows where)", e.v)
}

func protect(body func() error) (err error) {
	if os.Getenv("YTRAIN_TRACE") == "" {
		defer func() {
			if p := recover(); p != nil {
				if tf, ok := p.(interface{ TorchFailure() }); ok {
					err = tf.(error) // libtorch refused: the tool's own fault to name better, not a bug
					return
				}
				err = internalError{p}
			}
		}()
	}
	return body()
}

// Flags returns a tool's flag set; --help prints usage (the tool's
// usage.txt), then the flags, on stderr.
func Flags(name, usage string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// Inputs are the files named after the flags, or stdin ("-") when none is.
func Inputs(fs *pflag.FlagSet) []string {
	if fs.NArg() == 0 {
		return []string{"-"}
	}
	return fs.Args()
}

// Torch holds the flags of the tools that run a model. (This package does
// not link libtorch: tokenize, pack, rank and evaluate never do.)
type Torch struct {
	Device  string
	DType   string
	Threads int
}

// Register binds t to --device, --dtype and --threads.
func (t *Torch) Register(fs *pflag.FlagSet) {
	fs.StringVar(&t.Device, "device", "cpu", "cpu, cuda or cuda:N")
	fs.StringVar(&t.DType, "dtype", "auto", "compute dtype: auto (f32 on CPU, the checkpoint's on GPU), f32, bf16 or f16")
	fs.IntVar(&t.Threads, "threads", 0, "libtorch CPU threads (0: libtorch's default)")
}

// Alias keeps old working as another name of the flag called name, for
// scripts written before the rename: the same value, hidden from --help,
// and "Flag --old has been deprecated, use --name" on stderr when used.
// Each tool's main.go names its own, after the flag groups are registered.
func Alias(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	fs.Var(f.Value, old, f.Usage)
	fs.MarkDeprecated(old, "use --"+name)
}
