package formats

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// Codec describes how one record kind maps onto Arrow columns. JSON Lines use
// the Go struct tags of T; the column names here are the same.
type Codec[T any] struct {
	Kind     string
	fields   []column[T]
	validate func(*T) error
}

// column binds one Arrow field to one struct field of T.
type column[T any] struct {
	field    arrow.Field
	optional bool
	put      func(b array.Builder, r *T)
	get      func(a arrow.Array, i int, r *T)
}

// kindKey tags the Arrow schema so that a reader can say "this is a packed
// stream, not a token stream" instead of reporting a missing column.
const kindKey = "ytrain.kind"

func (c *Codec[T]) Schema() *arrow.Schema {
	fs := make([]arrow.Field, len(c.fields))
	for i, col := range c.fields {
		fs[i] = col.field
	}
	md := arrow.NewMetadata([]string{kindKey}, []string{c.Kind})
	return arrow.NewSchema(fs, &md)
}

// TokenCodec is the codec of Token records.
var TokenCodec = &Codec[Token]{
	Kind: "token",
	fields: []column[Token]{
		stringCol("id", func(r *Token) *string { return &r.ID }),
		int32ListCol("input_ids", func(r *Token) *[]int32 { return &r.InputIDs }),
		maskCol("loss_mask", func(r *Token) *Mask { return &r.LossMask }),
		jsonCol("meta", func(r *Token) *json.RawMessage { return &r.Meta }),
	},
	validate: (*Token).Validate,
}

// PackedCodec is the codec of Packed records.
var PackedCodec = &Codec[Packed]{
	Kind: "packed",
	fields: []column[Packed]{
		int32ListCol("input_ids", func(r *Packed) *[]int32 { return &r.InputIDs }),
		int32ListCol("position_ids", func(r *Packed) *[]int32 { return &r.PositionIDs }),
		int32ListCol("segment_ids", func(r *Packed) *[]int32 { return &r.SegmentIDs }),
		maskCol("loss_mask", func(r *Packed) *Mask { return &r.LossMask }),
		stringListCol("doc_ids", func(r *Packed) *[]string { return &r.DocIDs }),
	},
	validate: (*Packed).Validate,
}

// ScoreCodec is the codec of Score records.
var ScoreCodec = &Codec[Score]{
	Kind: "score",
	fields: []column[Score]{
		stringCol("id", func(r *Score) *string { return &r.ID }),
		float32ListCol("loss", func(r *Score) *[]float32 { return &r.Loss }),
		float32ListCol("entropy", func(r *Score) *[]float32 { return &r.Entropy }),
		int32Col("n_targets", func(r *Score) *int32 { return &r.NTargets }),
		float32Col("mean_loss", func(r *Score) *float32 { return &r.MeanLoss }),
		float32Col("ppl", func(r *Score) *float32 { return &r.PPL }),
		float32Col("mean_entropy", func(r *Score) *float32 { return &r.MeanEntropy }),
		float32Col("frac_known", func(r *Score) *float32 { return &r.FracKnown }),
		float32Col("frac_learning", func(r *Score) *float32 { return &r.FracLearning }),
		float32Col("frac_hard", func(r *Score) *float32 { return &r.FracHard }),
		float32Col("frac_cut", func(r *Score) *float32 { return &r.FracCut }),
		optFloat32ListCol("prompt_free_loss", func(r *Score) *[]float32 { return &r.PromptFreeLoss }),
		optFloat32Col("prompt_free_mean_loss", func(r *Score) **float32 { return &r.PromptFreeMeanLoss }),
		jsonCol("meta", func(r *Score) *json.RawMessage { return &r.Meta }),
	},
	validate: (*Score).Validate,
}

func int32Col[T any](name string, ref func(*T) *int32) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32},
		put:   func(b array.Builder, r *T) { b.(*array.Int32Builder).Append(*ref(r)) },
		get:   func(a arrow.Array, i int, r *T) { *ref(r) = a.(*array.Int32).Value(i) },
	}
}

func float32Col[T any](name string, ref func(*T) *float32) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float32},
		put:   func(b array.Builder, r *T) { b.(*array.Float32Builder).Append(*ref(r)) },
		get:   func(a arrow.Array, i int, r *T) { *ref(r) = a.(*array.Float32).Value(i) },
	}
}

// optFloat32Col is a nullable float: nil in Go, null in Arrow, absent in JSON.
func optFloat32Col[T any](name string, ref func(*T) **float32) column[T] {
	return column[T]{
		field:    arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		optional: true,
		put: func(b array.Builder, r *T) {
			if v := *ref(r); v != nil {
				b.(*array.Float32Builder).Append(*v)
			} else {
				b.AppendNull()
			}
		},
		get: func(a arrow.Array, i int, r *T) {
			if a.IsValid(i) {
				v := a.(*array.Float32).Value(i)
				*ref(r) = &v
			}
		},
	}
}

func float32ListCol[T any](name string, ref func(*T) *[]float32) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		put: func(b array.Builder, r *T) {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Float32Builder).AppendValues(*ref(r), nil)
		},
		get: func(a arrow.Array, i int, r *T) {
			l := a.(*array.List)
			s, e := l.ValueOffsets(i)
			*ref(r) = append([]float32(nil), l.ListValues().(*array.Float32).Float32Values()[s:e]...)
		},
	}
}

// optFloat32ListCol is a nullable list: nil in Go, null in Arrow, absent in JSON.
func optFloat32ListCol[T any](name string, ref func(*T) *[]float32) column[T] {
	c := float32ListCol(name, ref)
	c.field.Nullable, c.optional = true, true
	put, get := c.put, c.get
	c.put = func(b array.Builder, r *T) {
		if *ref(r) == nil {
			b.AppendNull()
		} else {
			put(b, r)
		}
	}
	c.get = func(a arrow.Array, i int, r *T) {
		if a.IsValid(i) {
			get(a, i, r)
		}
	}
	return c
}

func stringCol[T any](name string, ref func(*T) *string) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.BinaryTypes.String},
		put:   func(b array.Builder, r *T) { b.(*array.StringBuilder).Append(*ref(r)) },
		get:   func(a arrow.Array, i int, r *T) { *ref(r) = a.(*array.String).Value(i) },
	}
}

// jsonCol stores compact JSON text in a nullable string column.
func jsonCol[T any](name string, ref func(*T) *json.RawMessage) column[T] {
	return column[T]{
		field:    arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true},
		optional: true,
		put: func(b array.Builder, r *T) {
			if v := *ref(r); v != nil {
				b.(*array.StringBuilder).Append(string(v))
			} else {
				b.AppendNull()
			}
		},
		get: func(a arrow.Array, i int, r *T) {
			if a.IsValid(i) {
				*ref(r) = json.RawMessage(a.(*array.String).Value(i))
			}
		},
	}
}

func int32ListCol[T any](name string, ref func(*T) *[]int32) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		put: func(b array.Builder, r *T) {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Int32Builder).AppendValues(*ref(r), nil)
		},
		get: func(a arrow.Array, i int, r *T) {
			l := a.(*array.List)
			s, e := l.ValueOffsets(i)
			*ref(r) = append([]int32(nil), l.ListValues().(*array.Int32).Int32Values()[s:e]...)
		},
	}
}

func maskCol[T any](name string, ref func(*T) *Mask) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.ListOf(arrow.PrimitiveTypes.Uint8)},
		put: func(b array.Builder, r *T) {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Uint8Builder).AppendValues(*ref(r), nil)
		},
		get: func(a arrow.Array, i int, r *T) {
			l := a.(*array.List)
			s, e := l.ValueOffsets(i)
			*ref(r) = append(Mask(nil), l.ListValues().(*array.Uint8).Uint8Values()[s:e]...)
		},
	}
}

func stringListCol[T any](name string, ref func(*T) *[]string) column[T] {
	return column[T]{
		field: arrow.Field{Name: name, Type: arrow.ListOf(arrow.BinaryTypes.String)},
		put: func(b array.Builder, r *T) {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.StringBuilder).AppendValues(*ref(r), nil)
		},
		get: func(a arrow.Array, i int, r *T) {
			l := a.(*array.List)
			s, e := l.ValueOffsets(i)
			vals := l.ListValues().(*array.String)
			out := make([]string, 0, e-s)
			for j := s; j < e; j++ {
				out = append(out, vals.Value(int(j)))
			}
			*ref(r) = out
		},
	}
}

// bind maps the codec's columns onto a stream's schema: index of each column
// in the stream, or -1 for an absent optional column.
func (c *Codec[T]) bind(s *arrow.Schema) ([]int, error) {
	if k, ok := s.Metadata().GetValue(kindKey); ok && k != c.Kind {
		return nil, fmt.Errorf("this is a %q stream, want %q records", k, c.Kind)
	}
	idx := make([]int, len(c.fields))
	for i, col := range c.fields {
		found := s.FieldIndices(col.field.Name)
		switch {
		case len(found) == 0 && col.optional:
			idx[i] = -1
			continue
		case len(found) == 0:
			return nil, fmt.Errorf("no column %q (want %s records)", col.field.Name, c.Kind)
		}
		got := s.Field(found[0]).Type
		if !arrow.TypeEqual(got, col.field.Type) {
			return nil, fmt.Errorf("column %q is %s, want %s", col.field.Name, got, col.field.Type)
		}
		idx[i] = found[0]
	}
	return idx, nil
}

// checkNulls rejects a null in a required column, which the typed records
// cannot represent.
func (c *Codec[T]) checkNulls(rec arrow.Record, idx []int) error {
	for i, col := range c.fields {
		if idx[i] >= 0 && !col.optional && rec.Column(idx[i]).NullN() > 0 {
			return fmt.Errorf("column %q has nulls", col.field.Name)
		}
	}
	return nil
}
