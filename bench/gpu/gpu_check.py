"""The PyTorch side of gpu-check.sh: transformers and peft on the GPU machine.

  gpu_check.py make-model DIR SIZE DTYPE      a random Qwen3 (transformers' init) saved with save_pretrained
  gpu_check.py parity DIR TOKENS SCORES DTYPE  transformers' per-token losses vs ytrain score's: max |diff|
  gpu_check.py loop DIR TOKENS MODE TOKEN_BATCH BATCH   a transformers+peft LoRA loop (Y-Trainer's
                                               windowed loop, or fused): tokens/s, peak memory, MFU
  gpu_check.py peft BASE ADAPTER MERGED TOKENS  PeftModel.from_pretrained logits vs ytrain's merged model
"""
import json, sys, time

import torch

SIZES = {  # Qwen3-0.6B's shape, and a small one for dry runs
    "0.6b": dict(vocab_size=151936, hidden_size=1024, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128, intermediate_size=3072, tie_word_embeddings=True),
    "small": dict(vocab_size=4096, hidden_size=256, num_hidden_layers=4, num_attention_heads=8,
                  num_key_value_heads=4, head_dim=32, intermediate_size=768, tie_word_embeddings=False),
}
PEAK_BF16 = 989e12  # H100/H200 SXM dense bf16 FLOP/s
DEV = "cuda" if torch.cuda.is_available() else "cpu"


def dtype(name):
    return {"bf16": torch.bfloat16, "f32": torch.float32}[name]


def docs(path):
    return [json.loads(l) for l in open(path)]


def make_model(dir, size, dt):
    from transformers import Qwen3Config, Qwen3ForCausalLM
    torch.manual_seed(0)
    cfg = Qwen3Config(**SIZES[size], max_position_embeddings=4096, rms_norm_eps=1e-6, rope_theta=1e6)
    Qwen3ForCausalLM(cfg).to(dtype(dt)).save_pretrained(dir, safe_serialization=True)


def parity(dir, tokens, scores, dt):
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(dir, dtype=dtype(dt), attn_implementation="eager").to(DEV).eval()
    worst = 0.0
    with torch.no_grad():
        for d, s in zip(docs(tokens), docs(scores)):
            ids = torch.tensor([d["input_ids"]], device=DEV)
            logits = m(ids).logits[0].float()
            t = torch.tensor([i for i, v in enumerate(d["loss_mask"]) if v], device=DEV)
            loss = torch.nn.functional.cross_entropy(logits[t - 1], ids[0, t], reduction="none")
            worst = max(worst, (loss.cpu() - torch.tensor(s["loss"])).abs().max().item())
    print(f"parity {dt}: max |loss(ytrain) - loss(transformers)| = {worst:.3g} over {len(docs(tokens))} documents")


def nlirg(loss):
    eps = torch.finfo(torch.float32).eps
    w = torch.zeros_like(loss)
    a, b = loss <= 3.0, (loss > 3.0) & (loss < 15.0)
    w[a] = torch.sigmoid(1.7 * (loss[a] - 1.2)) + eps
    w[b] = torch.sigmoid(-(loss[b] - 6.2)) + eps + 5e-8
    return w


def loop(dir, tokens, mode, token_batch, batch):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    token_batch, batch = int(token_batch), int(batch)
    m = AutoModelForCausalLM.from_pretrained(dir, dtype=torch.bfloat16).to(DEV)
    n_params = sum(p.numel() for p in m.parameters())
    m = get_peft_model(m, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.2, task_type="CAUSAL_LM",
                                     target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=5e-6, weight_decay=0.01)
    ds = docs(tokens)
    units = []
    if mode == "fused":
        units = [(ds[i:i + batch], None) for i in range(0, len(ds), batch)]
    else:  # Y-Trainer v1's loop: a full forward per window of token_batch answer tokens
        for d in ds:
            tg = [i for i, v in enumerate(d["loss_mask"]) if v]
            units += [([d], tg[k:k + token_batch]) for k in range(0, len(tg), token_batch)]
    torch.cuda.reset_peak_memory_stats() if DEV == "cuda" else None
    seen = 0
    start = time.time()
    for rows, window in units:
        ids = torch.tensor([d["input_ids"] for d in rows], device=DEV)
        logits = m(ids).logits.float()
        mask = torch.tensor([d["loss_mask"] for d in rows], device=DEV).bool()
        if window is not None:
            mask = torch.zeros_like(mask)
            mask[0, window] = True
        mask[:, 0] = False
        b, t = mask.nonzero(as_tuple=True)
        loss = torch.nn.functional.cross_entropy(logits[b, t - 1], ids[b, t], reduction="none")
        terms = nlirg(loss.detach()) * loss
        (terms.sum() / max(1, int((terms.detach() != 0).sum()))).backward()
        opt.step()
        opt.zero_grad()
        seen += ids.numel()
    torch.cuda.synchronize() if DEV == "cuda" else None
    el = time.time() - start
    tps = seen / el
    peak = torch.cuda.max_memory_allocated() / 2**30 if DEV == "cuda" else float("nan")
    print(f"pytorch {mode}: {tps:.0f} tokens/s, peak {peak:.1f} GiB, MFU {6 * n_params * tps / PEAK_BF16:.1%} (6·N·tokens/s)")


def peft_check(base, adapter, merged, tokens):
    from peft import AutoPeftModelForCausalLM, PeftModel
    from transformers import AutoModelForCausalLM
    ids = torch.tensor([docs(tokens)[0]["input_ids"]], device=DEV)
    with torch.no_grad():
        b = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).to(DEV)
        pl = PeftModel.from_pretrained(b, adapter).eval()(ids).logits
        al = AutoPeftModelForCausalLM.from_pretrained(adapter, dtype=torch.float32).to(DEV).eval()(ids).logits
        ml = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).to(DEV).eval()(ids).logits
    print(f"peft: max |logit - logit(ytrain merged)|: PeftModel.from_pretrained {(pl - ml).abs().max().item():.3g}, "
          f"AutoPeftModelForCausalLM {(al - ml).abs().max().item():.3g}")


cmd, args = sys.argv[1], sys.argv[2:]
{"make-model": make_model, "parity": parity, "loop": loop, "peft": peft_check}[cmd](*args)
