"""Eager PyTorch twin of `train`: the same decoder with LoRA adapters on the
same projections, NLIRG weights, the SFT reduction and torch's AdamW, over the
same batches (fused) or windows (windowed). Prints trained target tokens/s.

usage: train.py MODEL_DIR TOKENS.jsonl MODE(fused|windowed) BATCH TOKEN_BATCH RANK ALPHA THREADS
"""
import json, math, sys, time

import torch

from decoder import forward, load

MODULES = [("self_attn", m) for m in ("q_proj", "k_proj", "v_proj", "o_proj")] + [("mlp", m) for m in ("gate_proj", "up_proj", "down_proj")]


def nlirg(loss):
    """The original's dynamic_sigmoid_batch with its default parameters."""
    eps = torch.finfo(torch.float32).eps
    w = torch.zeros_like(loss)
    a = loss <= 3.0
    b = (loss > 3.0) & (loss < 15.0)
    w[a] = torch.sigmoid(1.7 * (loss[a] - 1.2)) + eps
    w[b] = torch.sigmoid(-(loss[b] - 6.2)) + eps + 5e-8
    return w


def main():
    model, tokens, mode, batch, token_batch, rank, alpha, threads = sys.argv[1:9]
    batch, token_batch, rank, alpha = int(batch), int(token_batch), int(rank), float(alpha)
    torch.set_num_threads(int(threads))
    torch.manual_seed(0)
    cfg, w = load(model)
    lm = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    lora, params = {}, []
    for l in range(cfg["num_hidden_layers"]):
        for grp, name in MODULES:
            path = f"model.layers.{l}.{grp}.{name}"
            out, inp = w[path + ".weight"].shape
            A = ((torch.rand(rank, inp) * 2 - 1) / math.sqrt(inp)).requires_grad_()
            B = torch.zeros(out, rank).requires_grad_()
            lora[path] = (A, B, alpha / rank)
            params += [A, B]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    docs = [json.loads(l) for l in open(tokens)]
    units = []  # (rows, targets per row)
    if mode == "fused":
        for i in range(0, len(docs), batch):
            rows = docs[i:i + batch]
            units.append((rows, [[t for t, m in enumerate(d["loss_mask"]) if m] for d in rows]))
    else:
        for d in docs:
            tg = [t for t, m in enumerate(d["loss_mask"]) if m]
            for k in range(0, len(tg), token_batch):
                units.append(([d], [tg[k:k + token_batch]]))
    trained = 0
    start = time.time()
    for rows, targets in units:
        T = max(len(d["input_ids"]) for d in rows)
        ids = torch.zeros(len(rows), T, dtype=torch.int64)
        pos, seg = torch.zeros_like(ids), torch.zeros_like(ids)
        prev, tgt = [], []
        for i, d in enumerate(rows):
            n = len(d["input_ids"])
            ids[i, :n] = torch.tensor(d["input_ids"])
            pos[i, :n] = torch.arange(n)
            seg[i, :n] = 1
            prev += [i * T + t - 1 for t in targets[i]]
            tgt += [d["input_ids"][t] for t in targets[i]]
        h = forward(cfg, w, ids, pos, seg, lora, 0.2)
        logits = (h.reshape(-1, h.shape[-1])[torch.tensor(prev)] @ lm.T).float()
        nll = torch.nn.functional.cross_entropy(logits, torch.tensor(tgt), reduction="none")
        wt = nlirg(nll.detach())
        terms = wt * nll
        denom = max(1, int((terms.detach() != 0).sum()))
        loss = terms.sum() / denom
        opt.zero_grad()
        loss.backward()
        opt.step()
        trained += len(tgt)
    el = time.time() - start
    print(f"torch_targets_per_s={trained / el:.1f} units={len(units)} torch={torch.__version__}")


main()
