package ordered

import (
	"errors"
	"iter"
	"math/rand"
	"testing"
	"time"
)

// counter yields 1..n, then fail if it is not nil.
func counter(n int, fail error) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(i, nil) {
				return
			}
		}
		if fail != nil {
			yield(0, fail)
		}
	}
}

func TestOrderKept(t *testing.T) {
	var got []int
	err := Map(4, counter(500, nil), func(i int) (int, error) {
		time.Sleep(time.Duration(rand.Intn(200)) * time.Microsecond)
		return i * 2, nil
	}, func(o int, err error) error {
		got = append(got, o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 {
		t.Fatalf("got %d results", len(got))
	}
	for i, v := range got {
		if v != 2*(i+1) {
			t.Fatalf("result %d = %d, want %d", i, v, 2*(i+1))
		}
	}
}

func TestErrorsStop(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := Map(3, counter(1000, nil), func(i int) (int, error) {
		if i == 10 {
			return 0, boom
		}
		return i, nil
	}, func(o int, err error) error {
		n++
		return err
	})
	if err != boom || n != 10 {
		t.Fatalf("err %v after %d results; want boom after 10", err, n)
	}
	readFail := errors.New("read")
	n = 0
	err = Map(2, counter(4, readFail), func(i int) (int, error) { return i, nil }, func(int, error) error { n++; return nil })
	if err != readFail || n != 4 {
		t.Fatalf("got %v after %d results, want the read error after 4", err, n)
	}
}
