// Package ordered runs a function over a stream on several goroutines and
// hands the results back in input order, so parallel tools keep the order of
// their input (a ranked curriculum must survive tokenization).
package ordered

import (
	"iter"
	"sync"
)

// Map calls fn on every item of items, on workers goroutines, and calls
// emit with each result in the order of the items. At most 4×workers items
// are in flight, so memory is bounded whatever the stream length. The first
// error from items or emit stops the run and is returned; fn's errors are
// passed to emit alongside its result for the caller to judge.
func Map[I, O any](workers int, items iter.Seq2[I, error], fn func(I) (O, error), emit func(O, error) error) error {
	if workers < 1 {
		workers = 1
	}
	type job struct {
		seq int
		in  I
	}
	type result struct {
		seq int
		out O
		err error
	}
	jobs := make(chan job)
	results := make(chan result, workers)
	slots := make(chan struct{}, 4*workers) // bounds items read but not yet emitted
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				out, err := fn(j.in)
				results <- result{j.seq, out, err}
			}
		}()
	}
	var readErr error
	go func() {
		defer close(jobs)
		seq := 0
		for in, err := range items {
			if err != nil {
				readErr = err
				return
			}
			select { // a slot first: items read but not emitted stay bounded
			case slots <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case jobs <- job{seq, in}:
			case <-stop:
				return
			}
			seq++
		}
	}()
	go func() { wg.Wait(); close(results) }()

	pending := map[int]result{}
	want := 0
	var emitErr error
	for r := range results {
		if emitErr != nil {
			continue // drain so the workers can exit
		}
		pending[r.seq] = r
		for {
			p, ok := pending[want]
			if !ok {
				break
			}
			delete(pending, want)
			want++
			<-slots
			if emitErr = emit(p.out, p.err); emitErr != nil {
				close(stop)
				break
			}
		}
	}
	if emitErr != nil {
		return emitErr
	}
	return readErr
}
