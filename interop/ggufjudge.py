"""The Python side of the GGUF interop test (gguf_test.go): gguf-py writes the
files, transformers' own GGUF loader (from_pretrained(..., gguf_file=...))
is the judge of what `convert` makes of them. Each command prints one JSON
object on stdout; the Go test decides what passes.

  ggufjudge.py make DIR                  tiny llama GGUF files, one per variant; lists them
  ggufjudge.py judge DIR FILE OUT TEXTS  transformers' GGUF load of DIR/FILE vs its load of the folder OUT:
                                    weights, token ids, chat template, logits
  ggufjudge.py generate OUT PROMPT       greedy chat reply of the folder OUT (transformers)
"""
import json
import sys

import numpy as np

# Variants: (name, weight type, tied, tokenizer.ggml.pre, extra keys). Q-quants
# come from gguf-py's own quantizers; K-quants (which it cannot make) are
# random blocks with sane scales, dequantised by both sides.
VARIANTS = [
    ("f32-smollm", "F32", False, "smollm", {}),
    ("f16-tied-gpt2", "F16", True, "gpt2", {}),
    ("bf16-llama-bpe", "BF16", False, "llama-bpe", {"add_bos": True}),
    ("q8_0-smollm", "Q8_0", False, "smollm", {}),
    ("q4_0-tied-smollm", "Q4_0", True, "smollm", {}),
    ("q4_1-smollm", "Q4_1", False, "smollm", {}),
    ("q4_k-q6_k-llama-bpe", "K", False, "llama-bpe", {}),
]

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
USER = "<tool>"
# merges learned on nothing: common English pairs, enough that words come
# out as several tokens; digit pairs only where the pre-tokenizer keeps
# digits together (SmolLM's isolates them, and its vocab has none)
MERGES = ["Ġ t", "h e", "Ġt he", "i n", "e r", "a n", "Ġ a", "o n", "r e", "Ġ s", "e n", "Ġ w", "o r",
          "Ġ c", "a t", "i s", "Ġt o", "Ġ o", "l l", "e s", "Ġ f", "Ġ p", "in g", "Ġ b", "o u", "Ġ m",
          "Ġ h", "e d", "a r", "Ġa n", "Ġ i", "i t", "Ġ d", "a l", "Ġ l", "o w", "Ġ y", "Ġy ou"]
# transformers 5.24 gives "smollm" GPT-2's ByteLevel split, without
# llama.cpp's (and SmolLM's own tokenizer's) split before every digit: the
# two agree only on vocabs without multi-digit or space-digit tokens, which
# SmolLM's are (it was trained with single digits)
DIGIT_MERGES = ["1 2", "12 3", "2 0", "Ġ 1"]
TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            "{{ '<|im_start|>system\nYou are a tiny test model<|im_end|>\n' }}{% endif %}"
            "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def out(obj):
    json.dump(obj, sys.stdout)
    sys.stdout.write("\n")


def byte_chars():
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    return [bytes_to_unicode()[b] for b in range(256)]


def vocab(pre):
    merges = MERGES + ([] if pre == "smollm" else DIGIT_MERGES)
    tokens = SPECIALS + [USER] + byte_chars()
    types = [3, 3, 3, 4] + [1] * 256
    for m in merges:
        a, b = m.split(" ")
        assert a in tokens and b in tokens, m
        tokens.append(a + b)
        types.append(1)
    return tokens, types, merges


def permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute of q_proj/k_proj rows."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def random_k_blocks(rng, qtype, rows, cols):
    """Random K-quant blocks whose f16 scales are finite and modest."""
    from gguf import GGML_QUANT_SIZES
    block, size = GGML_QUANT_SIZES[qtype]
    n = rows * cols // block
    data = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    scales = {"Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [size - 2]}[qtype.name]
    for s in scales:
        h = rng.uniform(0.001, 0.05, size=n).astype(np.float16).view(np.uint8).reshape(n, 2)
        data[:, s:s + 2] = h
    return data.reshape(rows, cols // block * size)


def make(dir):
    import torch
    from gguf import GGMLQuantizationType as Q, GGUFWriter, quants
    files = []
    for i, (name, wtype, tied, pre, extra) in enumerate(VARIANTS):
        # rows of whole blocks: 32 values for the Q-quants, 256 for K-quants
        L, H, NH, NKV, I = (2, 256, 4, 2, 512) if wtype == "K" else (2, 64, 4, 2, 96)
        tokens, types, merges = vocab(pre)
        V = len(tokens)
        torch.manual_seed(i)
        rng = np.random.default_rng(i)
        hd = H // NH
        shapes = {"token_embd.weight": (V, H), "output_norm.weight": (H,)}
        if not tied:
            shapes["output.weight"] = (V, H)
        for l in range(L):
            shapes.update({f"blk.{l}.attn_norm.weight": (H,), f"blk.{l}.ffn_norm.weight": (H,),
                           f"blk.{l}.attn_q.weight": (NH * hd, H), f"blk.{l}.attn_k.weight": (NKV * hd, H),
                           f"blk.{l}.attn_v.weight": (NKV * hd, H), f"blk.{l}.attn_output.weight": (H, NH * hd),
                           f"blk.{l}.ffn_gate.weight": (I, H), f"blk.{l}.ffn_up.weight": (I, H),
                           f"blk.{l}.ffn_down.weight": (H, I)})
        path = f"{dir}/{name}.gguf"
        w = GGUFWriter(path, "llama")
        w.add_name(name)
        w.add_block_count(L)
        w.add_context_length(512)
        w.add_embedding_length(H)
        w.add_feed_forward_length(I)
        w.add_head_count(NH)
        w.add_head_count_kv(NKV)
        w.add_rope_freq_base(100000.0)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(hd)
        w.add_vocab_size(V)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_pad_token_id(2)
        if extra.get("add_bos"):
            w.add_add_bos_token(True)
        w.add_chat_template(TEMPLATE)
        for tn, shape in shapes.items():
            if len(shape) == 1:
                t = (1 + 0.3 * torch.randn(shape)).numpy()
            else:
                t = (0.15 * torch.randn(shape)).numpy()
            if ".attn_q." in tn:
                t = permute(t, NH)
            elif ".attn_k." in tn:
                t = permute(t, NKV)
            t = t.astype(np.float32)
            if len(shape) == 1 or wtype == "F32":  # llama.cpp keeps norms in F32
                w.add_tensor(tn, t)
            elif wtype == "F16":
                w.add_tensor(tn, t.astype(np.float16))
            elif wtype == "K":
                qt = Q.Q6_K if tn in ("token_embd.weight", "output.weight") or "ffn_down" in tn else Q.Q4_K
                w.add_tensor(tn, random_k_blocks(rng, qt, *shape), raw_dtype=qt)
            else:
                qt = Q[wtype]
                w.add_tensor(tn, quants.quantize(t, qt), raw_dtype=qt)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        files.append({"name": name, "file": f"{name}.gguf", "pre": pre, "tied": tied})
    out({"files": files})


def load_pair(dir, file, folder):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    f32 = dict(dtype=torch.float32)
    ref = AutoModelForCausalLM.from_pretrained(dir, gguf_file=file, **f32).eval()
    got = AutoModelForCausalLM.from_pretrained(folder, **f32).eval()
    ref_tok = AutoTokenizer.from_pretrained(dir, gguf_file=file)
    got_tok = AutoTokenizer.from_pretrained(folder)
    return ref, got, ref_tok, got_tok


def judge(dir, texts_path, *pairs):
    with open(texts_path) as f:
        texts = json.load(f)
    out({"results": [judge1(dir, pairs[i], pairs[i + 1], texts) for i in range(0, len(pairs), 2)]})


def judge1(dir, file, folder, texts):
    import torch
    ref, got, ref_tok, got_tok = load_pair(dir, file, folder)
    rs, gs = ref.state_dict(), got.state_dict()
    weights = {}
    for k in sorted(set(rs) | set(gs)):
        if k not in rs or k not in gs:
            weights[k] = None  # the Go side reports a missing tensor
            continue
        a, b = rs[k].float(), gs[k].float()
        weights[k] = (a - b).abs().max().item() if a.shape == b.shape else float("inf")
    tokens = []
    for t in texts:
        tokens.append({"text": t,
                       "transformers": ref_tok.encode(t, add_special_tokens=False),
                       "converted": got_tok.encode(t, add_special_tokens=False),
                       "transformers_special": ref_tok.encode(t),
                       "converted_special": got_tok.encode(t)})
    conv = [{"role": "user", "content": texts[0]}, {"role": "assistant", "content": texts[1]},
            {"role": "user", "content": texts[2]}]
    chat = {k: tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
            for k, tok in (("transformers", ref_tok), ("converted", got_tok))}
    # logits on each text's converted ids, and on the chat
    seqs = [tk["converted"] for tk in tokens if tk["converted"]]
    seqs.append(got_tok(chat["converted"], add_special_tokens=False)["input_ids"])
    worst = 0.0
    with torch.no_grad():
        for ids in seqs:
            x = torch.tensor([ids[:256]])
            worst = max(worst, (ref(x).logits - got(x).logits).abs().max().item())
    cfg = {k: getattr(got.config, k) for k in ("tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id")}
    ref_cfg = {k: getattr(ref.config, k) for k in cfg}
    specials = {k: [getattr(ref_tok, k), getattr(got_tok, k)] for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    return {"file": file, "weights": weights, "tokens": tokens, "chat": chat, "logits": worst, "config": cfg,
            "ref_config": ref_cfg, "specials": specials, "params": sum(p.numel() for p in got.parameters())}


def generate(folder, prompt):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    m = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)
    with torch.no_grad():
        o = m.generate(**ids, max_new_tokens=24, do_sample=False)
    out({"reply": tok.decode(o[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)})


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"make": make, "judge": judge, "generate": generate}[cmd](*args)
