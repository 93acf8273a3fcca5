"""ytrain's peers in the benchmarks (bench/*.sh), on build/venv's torch 2.11:
transformers, peft and TRL doing the work ytrain's tools do, on the same
checkpoint, data, batches and threads. Each command prints one line of
key=value pairs on stdout; the shell scripts do the comparing.

  peers.py make-model DIR [VOCAB HIDDEN LAYERS]   a random Qwen3 via save_pretrained (float32)
  peers.py data FILE DOCS LEN VOCAB                token records: the first quarter prompt, the rest answer
  peers.py score MODEL TOKENS SCORES BATCH_TOKENS THREADS
        transformers forward + per-target CE and entropy, as `score`; checks score's output
  peers.py peft MODEL TOKENS MODE BATCH TOKEN_BATCH LR THREADS
        transformers + peft LoRA r16 loop with NLIRG weights and AdamW, as `train`:
        MODE fused (one step per BATCH documents) or windowed (Y-Trainer's loop:
        a full forward, a backward on TOKEN_BATCH answer tokens, a step, per window)
  peers.py trl MODEL TOKENS BATCH LEN LR THREADS   TRL SFTTrainer, same LoRA, plain CE on the answers
  peers.py longctx LENGTHS DOC STEPS THREADS       one CPT step on packed rows, SDPA (bench/longctx's model)
  peers.py generate MODEL PROMPTS OUT MAX_NEW BATCH THREADS
        transformers' generate, greedy, left-padded batches of the chat-templated
        prompts, as `generate`; writes {id, response} lines to OUT

Timed: the work after loading the model (reading the records included, as
ytrain's own figures include it); for training, every optimizer step but the
first (warm-up), as bench/train.sh reads ytrain's metrics.jsonl.
"""
import json
import math
import os
import sys
import time

LORA = dict(r=16, lora_alpha=32, lora_dropout=0.2, bias="none", task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def vmhwm_mb():
    """Peak RSS of this process so far (VmHWM), MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load(model_dir, threads):
    import torch
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(threads)
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")


def make_model(dir, vocab=8192, hidden=256, layers=4):
    import torch
    import transformers
    torch.manual_seed(1)
    heads = max(1, hidden // 32)
    cfg = transformers.Qwen3Config(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                                   num_attention_heads=heads, num_key_value_heads=max(1, heads // 2), head_dim=32,
                                   intermediate_size=3 * hidden, tie_word_embeddings=False, max_position_embeddings=32768)
    # transformers' own init (std 0.02): near-uniform predictions, losses about
    # ln(vocab), so every NLIRG weight is non-zero and no step is skipped
    m = transformers.Qwen3ForCausalLM(cfg)
    m.save_pretrained(dir)
    print(f"model={dir} params={sum(p.numel() for p in m.parameters())}")


def make_data(path, docs, n, vocab):
    import random
    rng = random.Random(0)
    with open(path, "w") as f:
        for i in range(docs):
            f.write(json.dumps({"id": f"d{i}", "input_ids": [rng.randrange(vocab) for _ in range(n)],
                                "loss_mask": [0] * (n // 4) + [1] * (n - n // 4)}) + "\n")


def batch_tensors(rows):
    """Right-padded ids and attention mask of token records, and the flat
    indices (into B*T) of each target's previous position, and the targets."""
    import torch
    T = max(len(d["input_ids"]) for d in rows)
    ids = torch.zeros(len(rows), T, dtype=torch.int64)
    am = torch.zeros_like(ids)
    prev, tgt = [], []
    for i, d in enumerate(rows):
        n = len(d["input_ids"])
        ids[i, :n] = torch.tensor(d["input_ids"])
        am[i, :n] = 1
        for t, m in enumerate(d["loss_mask"]):
            if m and t > 0:
                prev.append(i * T + t - 1)
                tgt.append(d["input_ids"][t])
    return ids, am, torch.tensor(prev), torch.tensor(tgt)


def score(model_dir, tokens, scores, batch_tokens, threads):
    import torch
    m = load(model_dir, threads).eval()
    torch.set_grad_enabled(False)
    start = time.perf_counter()
    docs = records(tokens)
    T = max(len(d["input_ids"]) for d in docs)
    per = max(1, batch_tokens // T)
    ntok, out = 0, []
    for b in range(0, len(docs), per):
        rows = docs[b:b + per]
        ids, am, prev, tgt = batch_tensors(rows)
        h = m.model(input_ids=ids, attention_mask=am).last_hidden_state
        # the LM head only at the targets' previous positions, as score does
        logp = torch.log_softmax(m.lm_head(h.reshape(-1, h.shape[-1])[prev]).float(), -1)
        loss = -logp.gather(1, tgt[:, None]).flatten()
        ent = -(logp.exp() * logp).sum(-1)
        ntok += ids.numel()
        out.append((rows, loss, ent))
    el = time.perf_counter() - start
    worst, k = 0.0, 0
    want = records(scores)
    for rows, loss, ent in out:
        o = 0
        for d in rows:
            n = sum(1 for t, v in enumerate(d["loss_mask"]) if v and t > 0)
            got = want[k]
            worst = max(worst, (loss[o:o + n] - torch.tensor(got["loss"])).abs().max().item(),
                        (ent[o:o + n] - torch.tensor(got["entropy"])).abs().max().item())
            o, k = o + n, k + 1
    print(f"tokens_per_s={ntok / el:.0f} max_abs_diff={worst:.3g} torch={torch.__version__}")


def nlirg(loss):
    """docs/nlirg.md §1.1 with the defaults (internal/weighting/nlirg.go)."""
    import torch
    eps = torch.finfo(torch.float32).eps
    w = torch.zeros_like(loss)
    a = loss <= 3.0
    b = (loss > 3.0) & (loss < 15.0)
    w[a] = torch.sigmoid(1.7 * (loss[a] - 1.2)) + eps
    w[b] = torch.sigmoid(-(loss[b] - 6.2)) + eps + 5e-8
    return w


def sft_objective(nll):
    """Σ w·ℓ / #(w·ℓ ≠ 0) (docs/nlirg.md §1.4); None when nothing is left to learn."""
    terms = nlirg(nll.detach()) * nll
    n = int((terms.detach() != 0).sum())
    return terms.sum() / n if n else None


def peft_loop(model_dir, tokens, mode, batch, token_batch, lr, threads):
    import torch
    from peft import LoraConfig, get_peft_model
    torch.manual_seed(42)
    pm = get_peft_model(load(model_dir, threads), LoraConfig(**LORA))
    pm.train()
    base = pm.get_base_model()
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=lr, betas=(0.9, 0.999),
                            eps=1e-8, weight_decay=0.01)
    t0 = time.perf_counter()
    docs = records(tokens)
    if mode == "fused":
        units = [docs[i:i + batch] for i in range(0, len(docs), batch)]
    else:
        units = [[d] for d in docs]
    took, trained, steps, first = 0.0, 0, 0, True
    since = t0
    for rows in units:
        ids, am, prev, tgt = batch_tensors(rows)
        if mode == "fused":
            h = base.model(input_ids=ids, attention_mask=am).last_hidden_state
            nll = torch.nn.functional.cross_entropy(base.lm_head(h.reshape(-1, h.shape[-1])[prev]).float(), tgt,
                                                    reduction="none")
            windows = [(nll, None)]
        else:
            windows = [(None, (prev[k:k + token_batch], tgt[k:k + token_batch])) for k in range(0, len(tgt), token_batch)]
        for nll, win in windows:
            if win is not None:
                # Y-Trainer's window: the full model over the whole sequence, logits
                # of every position, the loss of this window's tokens only
                logits = pm(input_ids=ids, attention_mask=am).logits
                nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1])[win[0]].float(), win[1],
                                                        reduction="none")
            j = sft_objective(nll)
            if j is not None:
                opt.zero_grad()
                j.backward()
                opt.step()
            now = time.perf_counter()
            if not first:
                took += now - since
                trained += len(nll)
                steps += 1
            first, since = False, now
    print(f"targets_per_s={trained / took:.1f} steps={steps} peak_rss_mb={vmhwm_mb():.0f} torch={torch.__version__}")


def trl_sft(model_dir, tokens, batch, length, lr, threads):
    import tempfile

    import torch
    import transformers
    from datasets import Dataset
    from peft import LoraConfig
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from trl import SFTConfig, SFTTrainer
    transformers.logging.set_verbosity_error()
    m = load(model_dir, threads)
    V = m.config.vocab_size
    # ids are already tokens; TRL only wants a tokenizer for its pad and eos ids
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel({str(i): i for i in range(V)}, unk_token="0")), pad_token="0",
        eos_token="1")
    docs = records(tokens)
    ds = Dataset.from_list([{"input_ids": d["input_ids"], "completion_mask": d["loss_mask"]} for d in docs])
    timing = {"took": 0.0, "targets": 0, "steps": 0}

    class Timed(SFTTrainer):
        def training_step(self, model, inputs, *a, **k):
            t = time.perf_counter()
            loss = super().training_step(model, inputs, *a, **k)
            self._t, self._n = t, int((inputs["labels"][:, 1:] != -100).sum())
            return loss

    class Clock(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            tr = trainer
            if state.global_step > 1:  # the optimizer step included; the first step is warm-up
                timing["took"] += time.perf_counter() - tr._t
                timing["targets"] += tr._n
                timing["steps"] += 1

    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(output_dir=out, per_device_train_batch_size=batch, max_length=length, num_train_epochs=1,
                         learning_rate=lr, weight_decay=0.01, lr_scheduler_type="constant", warmup_steps=0,
                         optim="adamw_torch", save_strategy="no", report_to=[], logging_steps=10 ** 9,
                         completion_only_loss=True, gradient_checkpointing=False, use_cpu=True, bf16=False,
                         dataloader_num_workers=0, seed=42, disable_tqdm=True)  # float32, as the other two
        trainer = Timed(model=m, args=args, train_dataset=ds, processing_class=tok,
                        peft_config=LoraConfig(**LORA), callbacks=[Clock()])
        trainer.train()
    print(f"targets_per_s={timing['targets'] / timing['took']:.1f} steps={timing['steps']} "
          f"peak_rss_mb={vmhwm_mb():.0f} torch={torch.__version__}")


def longctx(lengths, doc, steps, threads):
    """bench/longctx's step in transformers: the demo base model's shape, one
    packed row of DOC-token documents, mean CE, backward. Position ids alone
    do not keep documents apart under SDPA (only flash-attention's varlen
    path, CUDA only, reads them), so a packed row gets a 4-D block-diagonal
    causal mask; one document (DOC 0) gets none: transformers' own causal
    SDPA."""
    import torch
    import transformers
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    cfg = transformers.Qwen3Config(vocab_size=2048, hidden_size=192, num_hidden_layers=4, num_attention_heads=6,
                                   num_key_value_heads=2, head_dim=32, intermediate_size=512, tie_word_embeddings=True,
                                   max_position_embeddings=32768, attn_implementation="sdpa")
    m = transformers.Qwen3ForCausalLM(cfg).train()
    res = []
    for T in lengths:
        took = 0.0
        for i in range(steps + 1):
            g = torch.Generator().manual_seed(i)
            ids = torch.randint(0, 2048, (1, T), generator=g)
            pos = (torch.arange(T) % doc if doc else torch.arange(T))[None]
            seg = torch.arange(T) // doc if doc else torch.zeros(T, dtype=torch.int64)
            mask = ((seg[:, None] == seg[None, :]) & torch.ones(T, T, dtype=torch.bool).tril())[None, None] if doc else None
            labels = ids.clone()
            if doc:
                labels[0, ::doc] = -100  # no target across a document boundary
            t = time.perf_counter()
            loss = m(input_ids=ids, position_ids=pos, attention_mask=mask, labels=labels).loss
            loss.backward()
            m.zero_grad(set_to_none=True)
            if i:
                took += time.perf_counter() - t
        res.append(f"T{T}={T * steps / took:.0f}")
    print(" ".join(res) + f" torch={torch.__version__}")


def generate(model_dir, prompts, out, max_new, batch, threads):
    import torch
    from transformers import AutoTokenizer
    m = load(model_dir, threads).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    recs = records(prompts)
    t0 = time.perf_counter()
    new = 0
    with open(out, "w") as f, torch.inference_mode():
        for i in range(0, len(recs), batch):
            chunk = recs[i:i + batch]
            texts = [tok.apply_chat_template([{"role": "user", "content": r["prompt"]}], tokenize=False,
                                             add_generation_prompt=True) for r in chunk]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            ids = m.generate(**enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id)
            for r, row in zip(chunk, ids[:, enc["input_ids"].shape[1]:].tolist()):
                eos = m.generation_config.eos_token_id
                eos = set(eos if isinstance(eos, list) else [eos])
                ans = []
                for t in row:
                    if t in eos:
                        break
                    ans.append(t)
                new += len(ans)
                f.write(json.dumps({"id": r.get("id"), "response": tok.decode(ans)}) + "\n")
    el = time.perf_counter() - t0
    print(f"prompts={len(recs)} tokens={new} seconds={el:.2f} tok_s={new / el:.2f} rss_mb={vmhwm_mb():.0f}")


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "make-model":
        make_model(a[0], *map(int, a[1:4]))
    elif cmd == "data":
        make_data(a[0], int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "score":
        score(a[0], a[1], a[2], int(a[3]), int(a[4]))
    elif cmd == "peft":
        peft_loop(a[0], a[1], a[2], int(a[3]), int(a[4]), float(a[5]), int(a[6]))
    elif cmd == "trl":
        trl_sft(a[0], a[1], int(a[2]), int(a[3]), float(a[4]), int(a[5]))
    elif cmd == "generate":
        generate(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
    elif cmd == "longctx":
        longctx([int(x) for x in a[0].split(",")], int(a[1]), int(a[2]), int(a[3]))
    else:
        sys.exit(f"peers.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
