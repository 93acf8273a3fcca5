"""The transformers decoder math written out in eager PyTorch, shared by the
benchmarks that compare ytrain with PyTorch on the same libtorch."""
import json, math, struct

import numpy as np
import torch


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


def forward(cfg, w, ids, pos, seg, lora=None, dropout=0.0):
    """lora: {module path: (A, B, scale)} adapters on the named projections."""
    B, T = ids.shape
    nH, nKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // nH
    eps = cfg["rms_norm_eps"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = pos.float()[..., None] * inv
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]

    def lin(x, path):
        y = x @ w[path + ".weight"].T
        if lora and path in lora:
            A, B, scale = lora[path]
            xd = torch.nn.functional.dropout(x, dropout, training=True) if dropout else x
            y = y + (xd @ A.T) @ B.T * scale
        return y

    def rope(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    allowed = (seg[:, :, None] == seg[:, None, :]) & torch.ones(T, T, dtype=torch.bool).tril()
    qk_norm = cfg["architectures"][0] == "Qwen3ForCausalLM"
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = rms(h, w[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj").view(B, T, nH, hd)
        k = lin(x, p + "self_attn.k_proj").view(B, T, nKV, hd)
        v = lin(x, p + "self_attn.v_proj").view(B, T, nKV, hd)
        if qk_norm:
            q, k = rms(q, w[p + "self_attn.q_norm.weight"], eps), rms(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k, v = rope(q.transpose(1, 2)), rope(k.transpose(1, 2)), v.transpose(1, 2)
        k, v = k.repeat_interleave(nH // nKV, 1), v.repeat_interleave(nH // nKV, 1)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = (torch.softmax(s, -1, dtype=torch.float32) @ v).transpose(1, 2).reshape(B, T, nH * hd)
        h = h + lin(a, p + "self_attn.o_proj")
        x = rms(h, w[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj")
        h = h + lin(g, p + "mlp.down_proj")
    return rms(h, w["model.norm.weight"], eps)


