package model

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sugarme/gotch"

	"github.com/ytrain/ytrain/internal/torch"
)

// MemoryLimitEnv, when set (bytes, or with a K, M or G suffix), is the
// memory a batch may use instead of /proc/meminfo's MemAvailable: for tests,
// and for sharing a machine.
const MemoryLimitEnv = "YTRAIN_MEMORY_LIMIT"

// Pass is the work a batch does, for MemoryNeed.
type Pass struct {
	B, T          int64 // rows, padded length
	Pairs         int64 // query-key pairs attention weighs (Layout.Pairs); 0: B·T²
	Targets       int64 // positions the LM head runs at
	Train         bool  // autograd keeps every layer's activations
	Checkpointing bool  // ... only each layer's input, and one layer's
}

// MemoryNeed estimates, on the safe side, the bytes a batch needs beyond
// the weights, before libtorch allocates any of it: the activations of a
// layer per token (all layers' when training without checkpointing; two
// layers' in score's HiddenNoGrad), the
// attention scores (nH per query-key pair: per document with model.Docs)
// where the explicit path materialises them (libtorch without SDPA: all
// layers' when training), the masks, and the LM head's chunk (targets.go).
func (m *Model) MemoryNeed(p Pass) int64 {
	c := m.Cfg
	f32 := int64(4)
	tok := p.B * p.T
	// per token and layer, counting the float32 intermediates of the norms
	// (8D), q/k/v and rope (~8D), the attention output and residuals (~6D),
	// the SwiGLU (4I, D) and, training, LoRA's dropped-out inputs (~8D)
	layer := tok * (28*c.Hidden + 5*c.Inter) * f32
	if p.Train {
		layer += tok * 8 * c.Hidden * f32
	}
	pairs := p.Pairs
	if pairs == 0 {
		pairs = p.B * p.T * p.T
	}
	scores := c.Heads * pairs * f32 // (B, nH, T, T) under a mask; (n, nH, L, L) a document length
	perLayerScores := int64(1)      // SDPA: one layer's, transiently at most
	if m.explicitAttention() {
		perLayerScores = 4 // scores, scaled, masked, softmax
	}
	layers := int64(2)
	if p.Train && !p.Checkpointing {
		layers = c.Layers
	}
	need := layers * (layer + perLayerScores*scores)
	if p.Train && p.Checkpointing {
		need += c.Layers * tok * c.Hidden * f32 // each layer's input
	}
	need += 3 * pairs // the boolean masks
	need += min(p.Targets, m.HeadRows())*c.Vocab*headBuffers*f32 + 3*p.Targets*c.Hidden*f32
	return need
}

// explicitAttention reports whether attention materialises its scores: the
// loaded shim stubs SDPA (libtorch 1.13), or a forward pass found so.
func (m *Model) explicitAttention() bool {
	sdpaOnce.Do(func() {
		stubs, err := torch.Stubbed()
		sdpaStubbed = err != nil || slices.ContainsFunc(stubs, func(s string) bool { return strings.Contains(s, "scaled_dot_product_attention") })
	})
	return m.noSDPA || sdpaStubbed
}

var (
	sdpaOnce    sync.Once
	sdpaStubbed bool
)

// CheckMemory refuses a batch that MemoryNeed says cannot fit in the memory
// available (MemoryLimitEnv, else MemAvailable; on CUDA it checks nothing),
// so that it fails with a message rather than a kill by the kernel. The
// caller names the records.
func (m *Model) CheckMemory(p Pass) error {
	if m.Device != gotch.CPU {
		return nil // gotch does not expose the device's free memory
	}
	have, from, err := availableMemory()
	if err != nil {
		return err
	}
	if need := m.MemoryNeed(p); need > have {
		return fmt.Errorf("%d row(s) of %d tokens would need about %s (estimated before running: activations, attention, LM head chunk) but %s is %s: shorten the records, lower the batch size or tokens, or use --gradient-checkpointing when training",
			p.B, p.T, gb(need), from, gb(have))
	}
	return nil
}

func gb(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f KB", float64(n)/1e3)
}

// availableMemory is MemoryLimitEnv if set, else /proc/meminfo's
// MemAvailable, and which it is.
func availableMemory() (int64, string, error) {
	if v := os.Getenv(MemoryLimitEnv); v != "" {
		n, err := parseBytes(v)
		if err != nil {
			return 0, "", fmt.Errorf("%s=%q: %w", MemoryLimitEnv, v, err)
		}
		return n, MemoryLimitEnv, nil
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 1 << 62, "", nil // not Linux: no estimate to compare with
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, "", fmt.Errorf("/proc/meminfo: %q: %w", sc.Text(), err)
			}
			return kb << 10, "MemAvailable", nil
		}
	}
	return 1 << 62, "", sc.Err()
}

// parseBytes reads 123, 4K, 5M or 6G (powers of 1024).
func parseBytes(v string) (int64, error) {
	mult := int64(1)
	switch strings.ToUpper(v[len(v)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want bytes, e.g. 512M or 2G")
	}
	return n * mult, nil
}
