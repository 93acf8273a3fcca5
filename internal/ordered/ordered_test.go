package ordered

import (
	"errors"
	"math/rand"
	"testing"
	"time"
)

func counter(n int) func() (int, bool, error) {
	i := 0
	return func() (int, bool, error) {
		if i == n {
			return 0, false, nil
		}
		i++
		return i, true, nil
	}
}

func TestOrderKept(t *testing.T) {
	var got []int
	err := Map(4, counter(500), func(i int) (int, error) {
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
	err := Map(3, counter(1000), func(i int) (int, error) {
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
	i := 0
	err = Map(2, func() (int, bool, error) {
		i++
		if i == 5 {
			return 0, false, readFail
		}
		return i, true, nil
	}, func(i int) (int, error) { return i, nil }, func(int, error) error { return nil })
	if err != readFail {
		t.Fatalf("got %v, want the read error", err)
	}
}
