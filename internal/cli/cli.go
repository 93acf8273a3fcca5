// Package cli is what every tool's main.go shares: running and exiting,
// the flag set and its help, the list of inputs, and the flags of the tools
// that run a model. A tool's main.go is flags, open, one call, exit code.
package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/pflag"
)

// Main runs a tool and exits: 0 on success and for --help, 1 with
// "NAME: error" on stderr otherwise. A panic that reaches it (a libtorch
// failure no step caught, or a bug) is reported in one line, after the
// deferred clean-up of the tool has run, with exit status 2; YTRAIN_TRACE=1
// lets it crash with its stack trace instead.
func Main(name string, run func(args []string) error) {
	// libtorch's grad mode and gotch's last error are per OS thread: the
	// tools that drive torch do it from this goroutine
	runtime.LockOSThread()
	code := 0
	if err := protect(run, os.Args[1:]); err != nil && !errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		code = 1
		var ie internalError
		if errors.As(err, &ie) {
			code = 2
		}
	}
	os.Exit(code)
}

// internalError is a panic that reached Main.
type internalError struct{ v any }

func (e internalError) Error() string {
	if err, ok := e.v.(error); ok {
		return err.Error()
	}
	return fmt.Sprintf("internal error: %v (YTRAIN_TRACE=1 shows where)", e.v)
}

func protect(run func([]string) error, args []string) (err error) {
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
	return run(args)
}

// Flags returns a tool's flag set; --help prints usage, then the flags.
func Flags(name, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
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

// Flags adds --device, --dtype and --threads to fs.
func (t *Torch) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&t.Device, "device", "cpu", "cpu, cuda or cuda:N")
	fs.StringVar(&t.DType, "dtype", "auto", "compute dtype: auto (f32 on CPU, the checkpoint's on GPU), f32, bf16 or f16")
	fs.IntVar(&t.Threads, "threads", 0, "libtorch CPU threads (0: libtorch's default)")
}
