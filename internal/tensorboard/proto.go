package tensorboard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Protobuf wire types used by the event protos.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// Field numbers from tensorboard/compat/proto/{event,summary,histogram}.proto.
const (
	eventWallTime    = 1 // double
	eventStep        = 2 // int64
	eventFileVersion = 3 // string, oneof what
	eventSummary     = 5 // Summary, oneof what
	eventSessionLog  = 7 // SessionLog, oneof what

	sessionLogStatus = 1 // enum SessionStatus
	sessionStart     = 1 // SessionStatus START

	summaryValue = 1 // repeated Summary.Value

	valueTag         = 1 // string
	valueSimpleValue = 2 // float, oneof value
	valueHisto       = 5 // HistogramProto, oneof value

	histoMin         = 1 // double
	histoMax         = 2 // double
	histoNum         = 3 // double
	histoSum         = 4 // double
	histoSumSquares  = 5 // double
	histoBucketLimit = 6 // repeated double, packed (proto3 default)
	histoBucket      = 7 // repeated double, packed
)

func appendTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendDouble(b []byte, field int, v float64) []byte {
	b = appendTag(b, field, wireFixed64)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendFloat(b []byte, field int, v float32) []byte {
	b = appendTag(b, field, wireFixed32)
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

func appendVarint(b []byte, field int, v uint64) []byte {
	return binary.AppendUvarint(appendTag(b, field, wireVarint), v)
}

func appendBytes(b []byte, field int, data []byte) []byte {
	b = binary.AppendUvarint(appendTag(b, field, wireBytes), uint64(len(data)))
	return append(b, data...)
}

func appendPackedDoubles(b []byte, field int, vs []float64) []byte {
	b = binary.AppendUvarint(appendTag(b, field, wireBytes), uint64(8*len(vs)))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// encodeEvent encodes an Event whose oneof "what" is field what holding the
// message or string payload.
func encodeEvent(wallTime float64, step int64, what int, payload []byte) []byte {
	b := appendDouble(nil, eventWallTime, wallTime)
	// proto3 omits default scalars; matching that keeps the version event
	// byte-identical to TensorFlow's.
	if step != 0 {
		b = appendVarint(b, eventStep, uint64(step))
	}
	return appendBytes(b, what, payload)
}

// encodeSummary encodes a Summary holding one Value with the given tag and
// an already-encoded oneof value field.
func encodeSummary(tag string, value []byte) []byte {
	v := appendBytes(nil, valueTag, []byte(tag))
	return appendBytes(nil, summaryValue, append(v, value...))
}

func encodeHistogram(h Histogram) []byte {
	b := appendDouble(nil, histoMin, h.Min)
	b = appendDouble(b, histoMax, h.Max)
	b = appendDouble(b, histoNum, h.Num)
	b = appendDouble(b, histoSum, h.Sum)
	b = appendDouble(b, histoSumSquares, h.SumSquares)
	b = appendPackedDoubles(b, histoBucketLimit, h.BucketLimit)
	return appendPackedDoubles(b, histoBucket, h.Bucket)
}

var errMalformed = errors.New("malformed protobuf")

// walkFields calls fn for each field of message m. For varint and fixed
// wire types the value is in num; for length-delimited fields it is data.
// Unknown fields are the caller's to ignore, as protobuf requires.
func walkFields(m []byte, fn func(field, wire int, num uint64, data []byte) error) error {
	for len(m) > 0 {
		key, n := binary.Uvarint(m)
		if n <= 0 || key>>3 == 0 {
			return errMalformed
		}
		m = m[n:]
		field, wire := int(key>>3), int(key&7)
		var num uint64
		var data []byte
		switch wire {
		case wireVarint:
			if num, n = binary.Uvarint(m); n <= 0 {
				return errMalformed
			}
			m = m[n:]
		case wireFixed64:
			if len(m) < 8 {
				return errMalformed
			}
			num, m = binary.LittleEndian.Uint64(m), m[8:]
		case wireFixed32:
			if len(m) < 4 {
				return errMalformed
			}
			num, m = uint64(binary.LittleEndian.Uint32(m)), m[4:]
		case wireBytes:
			l, n := binary.Uvarint(m)
			if n <= 0 || l > uint64(len(m)-n) {
				return errMalformed
			}
			data, m = m[n:n+int(l)], m[n+int(l):]
		default:
			return fmt.Errorf("unsupported wire type %d", wire)
		}
		if err := fn(field, wire, num, data); err != nil {
			return err
		}
	}
	return nil
}

func wantWire(field, wire, want int) error {
	if wire != want {
		return fmt.Errorf("field %d: wire type %d, want %d", field, wire, want)
	}
	return nil
}

func decodeEvent(m []byte) (Event, error) {
	var e Event
	err := walkFields(m, func(field, wire int, num uint64, data []byte) error {
		switch field {
		case eventWallTime:
			e.WallTime = math.Float64frombits(num)
			return wantWire(field, wire, wireFixed64)
		case eventStep:
			e.Step = int64(num)
			return wantWire(field, wire, wireVarint)
		case eventFileVersion:
			e.FileVersion = string(data)
			return wantWire(field, wire, wireBytes)
		case eventSessionLog:
			if err := wantWire(field, wire, wireBytes); err != nil {
				return err
			}
			e.SessionStart = true // decodes START only: the one status this package writes
			return walkFields(data, func(field, wire int, num uint64, _ []byte) error {
				if field == sessionLogStatus && num != sessionStart {
					e.SessionStart = false
				}
				return nil
			})
		case eventSummary:
			if err := wantWire(field, wire, wireBytes); err != nil {
				return err
			}
			return walkFields(data, func(field, wire int, _ uint64, data []byte) error {
				if field != summaryValue {
					return nil
				}
				if err := wantWire(field, wire, wireBytes); err != nil {
					return err
				}
				return decodeValue(data, &e)
			})
		}
		return nil
	})
	return e, err
}

// decodeValue adds one Summary.Value to e. Values of kinds this package does
// not write (images, tensors, ...) are skipped.
func decodeValue(m []byte, e *Event) error {
	var (
		tag      string
		scalar   float32
		histo    *Histogram
		isScalar bool
	)
	err := walkFields(m, func(field, wire int, num uint64, data []byte) error {
		switch field {
		case valueTag:
			tag = string(data)
			return wantWire(field, wire, wireBytes)
		case valueSimpleValue:
			scalar, isScalar = math.Float32frombits(uint32(num)), true
			return wantWire(field, wire, wireFixed32)
		case valueHisto:
			if err := wantWire(field, wire, wireBytes); err != nil {
				return err
			}
			h, err := decodeHistogram(data)
			histo = &h
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if isScalar {
		if e.Scalars == nil {
			e.Scalars = map[string]float64{}
		}
		e.Scalars[tag] = float64(scalar)
	}
	if histo != nil {
		if e.Histograms == nil {
			e.Histograms = map[string]Histogram{}
		}
		e.Histograms[tag] = *histo
	}
	return nil
}

func decodeHistogram(m []byte) (Histogram, error) {
	var h Histogram
	err := walkFields(m, func(field, wire int, num uint64, data []byte) error {
		var dst *[]float64
		switch field {
		case histoMin:
			h.Min = math.Float64frombits(num)
		case histoMax:
			h.Max = math.Float64frombits(num)
		case histoNum:
			h.Num = math.Float64frombits(num)
		case histoSum:
			h.Sum = math.Float64frombits(num)
		case histoSumSquares:
			h.SumSquares = math.Float64frombits(num)
		case histoBucketLimit:
			dst = &h.BucketLimit
		case histoBucket:
			dst = &h.Bucket
		default:
			return nil
		}
		if dst == nil {
			return wantWire(field, wire, wireFixed64)
		}
		// Parsers must accept repeated scalars both packed and unpacked.
		switch wire {
		case wireFixed64:
			*dst = append(*dst, math.Float64frombits(num))
		case wireBytes:
			if len(data)%8 != 0 {
				return errMalformed
			}
			for ; len(data) > 0; data = data[8:] {
				*dst = append(*dst, math.Float64frombits(binary.LittleEndian.Uint64(data)))
			}
		default:
			return wantWire(field, wire, wireBytes)
		}
		return nil
	})
	return h, err
}
