"""Eager PyTorch twin of `score`: the same decoder (transformers' Qwen3/Llama
math, written out), the same batches, the same per-target loss and entropy.
Prints tokens/s and the largest difference from score's output.

usage: torch_score.py MODEL_DIR TOKENS.jsonl SCORES.jsonl BATCH_TOKENS THREADS
"""
import json, math, struct, sys, time

import numpy as np
import torch

torch.set_grad_enabled(False)


def load(dir):
    cfg = json.load(open(f"{dir}/config.json"))
    raw = open(f"{dir}/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = memoryview(raw)[8 + n:]
    w = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", "the benchmark model is float32"
        b, end = e["data_offsets"]
        w[name] = torch.from_numpy(np.frombuffer(body[b:end], dtype=np.float32).reshape(e["shape"]).copy())
    return cfg, w


def rms(x, w, eps):
    xf = x.float()
    return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def forward(cfg, w, ids, pos, seg):
    B, T = ids.shape
    nH, nKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // nH
    eps = cfg["rms_norm_eps"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = pos.float()[..., None] * inv
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]

    def rope(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    allowed = (seg[:, :, None] == seg[:, None, :]) & torch.ones(T, T, dtype=torch.bool).tril()
    qk_norm = cfg["architectures"][0] == "Qwen3ForCausalLM"
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = rms(h, w[p + "input_layernorm.weight"], eps)
        q = (x @ w[p + "self_attn.q_proj.weight"].T).view(B, T, nH, hd)
        k = (x @ w[p + "self_attn.k_proj.weight"].T).view(B, T, nKV, hd)
        v = (x @ w[p + "self_attn.v_proj.weight"].T).view(B, T, nKV, hd)
        if qk_norm:
            q, k = rms(q, w[p + "self_attn.q_norm.weight"], eps), rms(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k, v = rope(q.transpose(1, 2)), rope(k.transpose(1, 2)), v.transpose(1, 2)
        k, v = k.repeat_interleave(nH // nKV, 1), v.repeat_interleave(nH // nKV, 1)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = (torch.softmax(s, -1, dtype=torch.float32) @ v).transpose(1, 2).reshape(B, T, nH * hd)
        h = h + a @ w[p + "self_attn.o_proj.weight"].T
        x = rms(h, w[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(x @ w[p + "mlp.gate_proj.weight"].T) * (x @ w[p + "mlp.up_proj.weight"].T)
        h = h + g @ w[p + "mlp.down_proj.weight"].T
    return rms(h, w["model.norm.weight"], eps)


def main():
    model, tokens, scores, batch_tokens, threads = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    cfg, w = load(model)
    lm = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    docs = [json.loads(l) for l in open(tokens)]
    want = [json.loads(l) for l in open(scores)]
    T = max(len(d["input_ids"]) for d in docs)
    per = max(1, int(batch_tokens) // T)
    worst, ntok = 0.0, 0
    start = time.time()
    for b in range(0, len(docs), per):
        batch = docs[b:b + per]
        ids = torch.zeros(len(batch), T, dtype=torch.int64)
        pos = torch.zeros_like(ids)
        seg = torch.zeros_like(ids)
        for i, d in enumerate(batch):
            n = len(d["input_ids"])
            ids[i, :n] = torch.tensor(d["input_ids"])
            pos[i, :n] = torch.arange(n)
            seg[i, :n] = 1
        h = forward(cfg, w, ids, pos, seg)
        ntok += ids.numel()
        for i, d in enumerate(batch):
            m = torch.tensor(d["loss_mask"], dtype=torch.bool)
            idx = torch.nonzero(m).flatten()
            logp = torch.log_softmax((h[i, idx - 1] @ lm.T).float(), -1)
            loss = -logp.gather(1, ids[i, idx][:, None]).flatten()
            ent = -(logp.exp() * logp).sum(-1)
            got = want[b + i]
            worst = max(worst, (loss - torch.tensor(got["loss"])).abs().max().item(),
                        (ent - torch.tensor(got["entropy"])).abs().max().item())
    el = time.time() - start
    print(f"torch_tokens_per_s={ntok / el:.0f} max_abs_diff={worst:.3g} torch={torch.__version__}")


main()
