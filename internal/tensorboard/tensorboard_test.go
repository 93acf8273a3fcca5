package tensorboard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// crc32cBitwise is a table-free CRC32C (reflected polynomial 0x82F63B78),
// independent of hash/crc32, to check the framing against.
func crc32cBitwise(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x82f63b78
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

func mask(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func TestCRC32CReference(t *testing.T) {
	// Published vectors: the CRC catalogue's check value and RFC 3720
	// (iSCSI) appendix B.4.
	incr := make([]byte, 32)
	for i := range incr {
		incr[i] = byte(i)
	}
	for _, c := range []struct {
		in   []byte
		want uint32
	}{
		{[]byte("123456789"), 0xe3069283},
		{make([]byte, 32), 0x8a9136aa},
		{bytes.Repeat([]byte{0xff}, 32), 0x62a8ab43},
		{incr, 0x46dd794e},
	} {
		if got := crc32cBitwise(c.in); got != c.want {
			t.Fatalf("crc32c(% x) = %#x, want %#x", c.in, got, c.want)
		}
	}
	for _, s := range []string{"", "a", "123456789", strings.Repeat("tensorboard", 50)} {
		if got, want := maskedCRC([]byte(s)), mask(crc32cBitwise([]byte(s))); got != want {
			t.Errorf("maskedCRC(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestRecordKnownAnswer(t *testing.T) {
	// Empty record: length 0, masked crc32c(8 zeros) = mask(0x8c28b28a) =
	// 0x07980329, then masked crc32c("") = mask(0) = 0xa282ead8.
	want := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0x29, 0x03, 0x98, 0x07, 0xd8, 0xea, 0x82, 0xa2}
	if got := crc32cBitwise(want[:8]); got != 0x8c28b28a {
		t.Fatalf("crc32c(8 zeros) = %#x", got)
	}
	if got := appendRecord(nil, nil); !bytes.Equal(got, want) {
		t.Fatalf("empty record\n got % x\nwant % x", got, want)
	}

	data := []byte("123456789")
	length := []byte{9, 0, 0, 0, 0, 0, 0, 0}
	want = append(append([]byte{}, length...), le32(mask(crc32cBitwise(length)))...)
	want = append(append(want, data...), le32(mask(0xe3069283))...)
	if got := appendRecord(nil, data); !bytes.Equal(got, want) {
		t.Fatalf("record\n got % x\nwant % x", got, want)
	}
}

func TestEventKnownAnswer(t *testing.T) {
	// Event{wall_time: 1.5, file_version: "brain.Event:2"}; step 0 omitted.
	want := append([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x1a, 13}, "brain.Event:2"...)
	if got := encodeEvent(1.5, 0, eventFileVersion, []byte(FileVersion)); !bytes.Equal(got, want) {
		t.Fatalf("version event\n got % x\nwant % x", got, want)
	}

	// Event{wall_time: 1.5, step: 7, summary {value {tag: "loss" simple_value: 0.25}}}.
	value := append(append([]byte{0x0a, 4}, "loss"...), 0x15, 0, 0, 0x80, 0x3e)
	summary := append([]byte{0x0a, byte(len(value))}, value...)
	want = append([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x10, 7, 0x2a, byte(len(summary))}, summary...)
	got := encodeEvent(1.5, 7, eventSummary, encodeSummary("loss", appendFloat(nil, valueSimpleValue, 0.25)))
	if !bytes.Equal(got, want) {
		t.Fatalf("scalar event\n got % x\nwant % x", got, want)
	}

	// Event{wall_time: 1.5, step: 3, session_log {status: START}} (field 7).
	want = []byte{0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x10, 3, 0x3a, 2, 0x08, 1}
	if got := encodeEvent(1.5, 3, eventSessionLog, appendVarint(nil, sessionLogStatus, sessionStart)); !bytes.Equal(got, want) {
		t.Fatalf("session start event\n got % x\nwant % x", got, want)
	}
}

func TestSessionStartRoundTrip(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SessionStart(3); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, err := ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !evs[1].SessionStart || evs[1].Step != 3 || evs[0].SessionStart {
		t.Fatalf("events %+v, want the version event, then a session start at step 3", evs)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "train")
	before := time.Now()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	name := filepath.Base(w.Path())
	if !regexp.MustCompile(`^events\.out\.tfevents\.\d{10}\.`+regexp.QuoteMeta(host)+`$`).MatchString(name) || filepath.Dir(w.Path()) != dir {
		t.Fatalf("path %s", w.Path())
	}
	values := []float64{-3.5, -1e-13, 0, 0, 1e-12, 0.1, 0.1, 2, 1e6}
	steps := []struct {
		step int64
		tag  string
		v    float64
	}{{0, "loss", 2.5}, {1, "loss", 0}, {1, "lr", 3e-4}, {-2, "neg", -1e30}, {1 << 40, "big", math.Pi}}
	for _, s := range steps {
		if err := w.Scalar(s.tag, s.step, s.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Histogram("weights", 9, values); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	events, err := ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2+len(steps) {
		t.Fatalf("%d events", len(events))
	}
	if events[0].FileVersion != "brain.Event:2" || events[0].Step != 0 || events[0].Scalars != nil {
		t.Fatalf("version event %+v", events[0])
	}
	for i, e := range events {
		if e.WallTime < wallTime(before)-1e-6 || e.WallTime > wallTime(after)+1e-6 {
			t.Errorf("event %d wall time %f not in [%f, %f]", i, e.WallTime, wallTime(before), wallTime(after))
		}
	}
	for i, s := range steps {
		e := events[1+i]
		// simple_value is a float32.
		want := map[string]float64{s.tag: float64(float32(s.v))}
		if e.Step != s.step || !reflect.DeepEqual(e.Scalars, want) || e.Histograms != nil {
			t.Errorf("event %d = %+v, want step %d scalars %v", 1+i, e, s.step, want)
		}
	}

	e := events[len(events)-1]
	h, ok := e.Histograms["weights"]
	if e.Step != 9 || !ok || len(e.Histograms) != 1 || e.Scalars != nil {
		t.Fatalf("histogram event %+v", e)
	}
	var sum, sumSq float64
	for _, v := range values {
		sum += v
		sumSq += v * v
	}
	if h.Min != -3.5 || h.Max != 1e6 || h.Num != float64(len(values)) || h.Sum != sum || h.SumSquares != sumSq {
		t.Errorf("histogram stats %+v", h)
	}
	// Recount: each value belongs to the first stored limit above it.
	if len(h.BucketLimit) != len(h.Bucket) || h.BucketLimit[len(h.BucketLimit)-1] != math.MaxFloat64 {
		t.Fatalf("buckets %v %v", h.BucketLimit, h.Bucket)
	}
	counts := make([]float64, len(h.Bucket))
	for _, v := range values {
		for i, l := range h.BucketLimit {
			if l > v {
				counts[i]++
				break
			}
		}
	}
	if !reflect.DeepEqual(counts, h.Bucket) {
		t.Errorf("bucket counts %v, recounted %v (limits %v)", h.Bucket, counts, h.BucketLimit)
	}
	for i := 1; i < len(h.BucketLimit); i++ {
		if h.BucketLimit[i] <= h.BucketLimit[i-1] || h.Bucket[i] == 0 && h.Bucket[i-1] == 0 {
			t.Errorf("limits not increasing or empty run not collapsed at %d: %v %v", i, h.BucketLimit, h.Bucket)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	limits := defaultLimits()
	mid := len(limits) / 2
	if len(limits)%2 != 1 || limits[0] != -math.MaxFloat64 || limits[mid] != 0 || limits[mid+1] != 1e-12 || limits[len(limits)-1] != math.MaxFloat64 {
		t.Fatalf("limits: %d, ends %g %g, middle %g %g", len(limits), limits[0], limits[len(limits)-1], limits[mid], limits[mid+1])
	}
	for i := 1; i < len(limits); i++ {
		if limits[i] <= limits[i-1] || limits[mid+i/2] != -limits[mid-i/2] {
			t.Fatalf("limits not increasing/symmetric at %d", i)
		}
	}
	if l := limits[len(limits)-2]; l >= 1e20 || l*1.1 < 1e20 {
		t.Fatalf("largest finite limit %g", l)
	}

	// A lone 0 falls in [0, 1e-12); the empty runs either side collapse.
	h, err := newHistogram([]float64{0})
	if err != nil {
		t.Fatal(err)
	}
	want := Histogram{Min: 0, Max: 0, Num: 1, BucketLimit: []float64{0, 1e-12, math.MaxFloat64}, Bucket: []float64{0, 1, 0}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got %+v\nwant %+v", h, want)
	}
	// MaxFloat64 itself stays in the last bucket.
	if h, err = newHistogram([]float64{math.MaxFloat64}); err != nil || h.Bucket[len(h.Bucket)-1] != 1 {
		t.Fatalf("MaxFloat64: %+v %v", h, err)
	}

	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, bad := range [][]float64{nil, {1, math.NaN()}, {math.Inf(-1)}} {
		if err := w.Histogram("x", 0, bad); err == nil || !strings.Contains(err.Error(), `"x"`) {
			t.Errorf("Histogram(%v) error %v", bad, err)
		}
	}
}

func TestDecodeUnpackedHistogram(t *testing.T) {
	// Packed or not, a repeated double must decode the same.
	var m []byte
	for _, v := range []float64{1, 2} {
		m = appendDouble(m, histoBucketLimit, v)
	}
	m = appendPackedDoubles(m, histoBucket, []float64{3})
	m = appendDouble(m, histoBucket, 4)
	h, err := decodeHistogram(m)
	if err != nil || !reflect.DeepEqual(h.BucketLimit, []float64{1, 2}) || !reflect.DeepEqual(h.Bucket, []float64{3, 4}) {
		t.Fatalf("%+v %v", h, err)
	}
}

// writeFile writes n scalar events after the version event and returns the
// path and the byte offset of each record.
func writeFile(t *testing.T, n int) (string, []int64) {
	t.Helper()
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Scalar("loss", int64(i), float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	for off := int64(0); off < int64(len(raw)); off += 16 + int64(binary.LittleEndian.Uint64(raw[off:])) {
		offsets = append(offsets, off)
	}
	return w.Path(), offsets
}

func TestCorruptCRC(t *testing.T) {
	path, offsets := writeFile(t, 3)
	raw, _ := os.ReadFile(path)
	for _, c := range []struct {
		name string
		at   int64 // byte to flip
	}{
		{"length", offsets[2]},
		{"length CRC", offsets[2] + 9},
		{"data", offsets[2] + 14},
		{"data CRC", offsets[3] - 1},
	} {
		bad := bytes.Clone(raw)
		bad[c.at] ^= 0x40
		p := filepath.Join(t.TempDir(), "events.out.tfevents.bad")
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		events, err := ReadFile(p)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d:", offsets[2])) {
			t.Errorf("%s: error %v", c.name, err)
		}
		if len(events) != 2 || events[1].Scalars["loss"] != 0 {
			t.Errorf("%s: events before the damage %+v", c.name, events)
		}
	}
}

func TestTruncated(t *testing.T) {
	path, offsets := writeFile(t, 2)
	raw, _ := os.ReadFile(path)
	last := offsets[len(offsets)-1]
	for cut := last; cut <= int64(len(raw)); cut++ {
		p := filepath.Join(t.TempDir(), "events.out.tfevents.cut")
		if err := os.WriteFile(p, raw[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		events, err := ReadFile(p)
		switch {
		case cut == last || cut == int64(len(raw)):
			if err != nil {
				t.Fatalf("cut at record boundary %d: %v", cut, err)
			}
		case !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), fmt.Sprintf("%s: offset %d:", p, last)):
			t.Fatalf("cut %d: error %v", cut, err)
		}
		want := len(offsets) - 1
		if cut == int64(len(raw)) {
			want++
		}
		if len(events) != want {
			t.Fatalf("cut %d: %d events, want %d", cut, len(events), want)
		}
	}
}

func TestFlushVisibleBeforeClose(t *testing.T) {
	// A trainer killed after Flush must leave its events readable.
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if events, err := ReadFile(w.Path()); err != nil || len(events) != 1 {
		t.Fatalf("after NewWriter: %d events, %v", len(events), err)
	}
	if err := w.Scalar("loss", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if events, err := ReadFile(w.Path()); err != nil || len(events) != 2 {
		t.Fatalf("after Flush: %d events, %v", len(events), err)
	}
}

func TestSameSecondWriters(t *testing.T) {
	dir := t.TempDir()
	a, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Path() == b.Path() {
		t.Fatalf("both writers use %s", a.Path())
	}
	for _, w := range []*Writer{a, b} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if events, err := ReadFile(w.Path()); err != nil || len(events) != 1 {
			t.Fatalf("%s: %d events, %v", w.Path(), len(events), err)
		}
	}
}

func TestConcurrentWrites(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if err := w.Scalar(fmt.Sprint("g", g), int64(i), float64(i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	events, err := ReadFile(w.Path())
	if err != nil || len(events) != 1+4*50 {
		t.Fatalf("%d events, %v", len(events), err)
	}
}
