package chat

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// jinjaEnv mirrors the environment transformers renders chat templates in:
// jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker,
// loopcontrols]) plus the raise_exception and strftime_now globals and its own tojson
// filter. It gets its own filter and control-structure sets so that gonja's package-level
// defaults, which other code may use, stay untouched. raise_exception is not here: it is
// bound per render (see Template.Render) to recover the template's message.
var jinjaEnv = newJinjaEnv()

func newJinjaEnv() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	if err := filters.Replace("tojson", filterToJSON); err != nil {
		panic(err)
	}
	controls := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{}).Update(builtins.ControlStructures)
	if err := controls.Register("generation", generationParser); err != nil {
		panic(err)
	}
	ctx := exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables)
	ctx.Set("strftime_now", func(format string) (string, error) { return strftime(format, time.Now()) })
	return &exec.Environment{
		Context:           ctx,
		Filters:           filters,
		Tests:             builtins.Tests,
		ControlStructures: controls,
		Methods:           builtins.Methods,
	}
}

// compile parses a chat template once; gonja's parsed templates are read-only while
// executing, and every execution gets a fresh context, so one may be rendered from several
// goroutines.
func compile(source string) (*exec.Template, error) {
	cfg := config.New()
	cfg.TrimBlocks = true
	cfg.LeftStripBlocks = true
	const id = "chat_template"
	// The empty memory loader makes include/extends/import fail instead of reading files.
	loader, err := loaders.NewShiftedLoader(id, strings.NewReader(source), loaders.MustNewMemoryLoader(map[string]string{}))
	if err != nil {
		return nil, err
	}
	return exec.NewTemplate(id, cfg, loader, jinjaEnv)
}

// generationBlock is transformers' {% generation %}…{% endgeneration %} tag, which marks
// assistant text for return_assistant_tokens_mask; it renders its body unchanged (spans
// are computed by Spans instead).
type generationBlock struct {
	location *tokens.Token
	body     *nodes.Wrapper
}

func (g *generationBlock) Position() *tokens.Token { return g.location }

func (g *generationBlock) String() string {
	return fmt.Sprintf("generation(Line=%d Col=%d)", g.location.Line, g.location.Col)
}

func (g *generationBlock) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	return r.ExecuteWrapper(g.body)
}

func generationParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	g := &generationBlock{location: p.Current()}
	if !args.End() {
		return nil, args.Error("generation takes no arguments", args.Current())
	}
	body, endArgs, err := p.WrapUntil("endgeneration")
	if err != nil {
		return nil, err
	}
	if !endArgs.End() {
		return nil, endArgs.Error("endgeneration takes no arguments", endArgs.Current())
	}
	g.body = body
	return g, nil
}

// filterToJSON is transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False). gonja's own filter differs (compact separators,
// HTML-escaping, no ensure_ascii). Go maps have no insertion order, so their keys come out
// sorted; ordered dicts (template literals) keep their order.
func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		enc     = jsonEncoder{itemSep: ", ", keySep: ": "}
		indent  *exec.Value
		seps    *exec.Value
		sortKey bool
	)
	keep := func(dst **exec.Value) exec.ArgumentTransmuter {
		return func(v *exec.Value) error { *dst = v; return nil }
	}
	if err := params.Take(
		exec.KeywordArgument("ensure_ascii", exec.AsValue(false), exec.BoolArgument(&enc.ascii)),
		exec.KeywordArgument("indent", exec.AsValue(nil), keep(&indent)),
		exec.KeywordArgument("separators", exec.AsValue(nil), keep(&seps)),
		exec.KeywordArgument("sort_keys", exec.AsValue(false), exec.BoolArgument(&sortKey)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	enc.sortKeys = sortKey
	switch {
	case indent.IsNil():
	case indent.IsInteger():
		enc.indent, enc.itemSep = strings.Repeat(" ", indent.Integer()), ","
		enc.pretty = true
	case indent.IsString():
		enc.indent, enc.itemSep = indent.String(), ","
		enc.pretty = true
	default:
		return exec.AsValue(fmt.Errorf("tojson: indent must be an integer or a string, not %s", indent.String()))
	}
	if !seps.IsNil() {
		if !seps.IsList() || seps.Len() != 2 {
			return exec.AsValue(fmt.Errorf("tojson: separators must be a pair of strings"))
		}
		enc.itemSep, enc.keySep = seps.Index(0).String(), seps.Index(1).String()
	}
	var b strings.Builder
	if err := enc.encode(&b, in, 0); err != nil {
		return exec.AsValue(err)
	}
	return exec.AsSafeValue(b.String())
}

// jsonEncoder writes values the way Python's json.dumps does.
type jsonEncoder struct {
	ascii, pretty, sortKeys bool
	indent, itemSep, keySep string
}

func (j *jsonEncoder) newline(b *strings.Builder, depth int) {
	if j.pretty {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(j.indent, depth))
	}
}

func (j *jsonEncoder) encode(b *strings.Builder, v *exec.Value, depth int) error {
	switch {
	case v.IsNil():
		b.WriteString("null")
	case v.IsBool():
		b.WriteString(strconv.FormatBool(v.Bool()))
	case v.IsInteger():
		b.WriteString(strconv.Itoa(v.Integer()))
	case v.IsFloat():
		b.WriteString(pyFloat(v.Float()))
	case v.IsString():
		j.str(b, v.String())
	case v.IsList():
		if v.Len() == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(j.itemSep)
			}
			j.newline(b, depth+1)
			if err := j.encode(b, v.Index(i), depth+1); err != nil {
				return err
			}
		}
		j.newline(b, depth)
		b.WriteByte(']')
	case v.IsDict():
		keys := v.Keys()
		if len(keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		if j.sortKeys {
			slices.SortFunc(keys, func(a, b *exec.Value) int { return strings.Compare(a.String(), b.String()) })
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(j.itemSep)
			}
			j.newline(b, depth+1)
			j.str(b, k.String())
			b.WriteString(j.keySep)
			item, _ := v.GetItem(k.Interface())
			if err := j.encode(b, item, depth+1); err != nil {
				return err
			}
		}
		j.newline(b, depth)
		b.WriteByte('}')
	default:
		return fmt.Errorf("tojson: cannot serialise %s", v.String())
	}
	return nil
}

// str quotes s like json.dumps: short escapes for the usual controls, \u00XX for the
// others, and non-ASCII runes only when ensure_ascii (as UTF-16 units).
func (j *jsonEncoder) str(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (j.ascii && r > 0x7e && r <= 0xffff):
			fmt.Fprintf(b, `\u%04x`, r)
		case j.ascii && r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// pyFloat formats f like Python's float repr, as json.dumps does.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(s[strings.IndexByte(s, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return s
	}
	s = strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// strftime implements the C-locale strftime codes chat templates use with strftime_now
// (Llama 3.1+: "%d %b %Y").
func strftime(format string, t time.Time) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			b.WriteByte(format[i])
			continue
		}
		if i++; i == len(format) {
			return "", fmt.Errorf("strftime_now: format %q ends with %%", format)
		}
		switch c := format[i]; c {
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'I':
			b.WriteString(t.Format("03"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'm':
			b.WriteString(t.Format("01"))
		case 'M':
			b.WriteString(t.Format("04"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'S':
			b.WriteString(t.Format("05"))
		case 'y':
			b.WriteString(t.Format("06"))
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case '%':
			b.WriteByte('%')
		default:
			r, _ := utf8.DecodeRuneInString(format[i:])
			return "", fmt.Errorf("strftime_now: unsupported code %%%c in %q", r, format)
		}
	}
	return b.String(), nil
}
