"""Eager PyTorch twin of `score`: the same decoder, the same batches, the same
per-target loss and entropy. Prints tokens/s and the largest difference from
score's output.

usage: score.py MODEL_DIR TOKENS.jsonl SCORES.jsonl BATCH_TOKENS THREADS
"""
import json, sys, time

import torch

from decoder import forward, load

torch.set_grad_enabled(False)


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
