"""The Python side of the interop tests (interop_test.go): transformers, peft,
TensorBoard and pyarrow judge what ytrain writes and reads. Each command prints
one JSON object on stdout; the Go test decides what passes.

  hf.py make-models DIR                   random Qwen3, Qwen2, Llama-3, Mistral (f32, bf16) via save_pretrained
  hf.py make-chat-model DIR TOKENIZER_JSON  a random tiny Llama with that tokenizer, SmolLM2's special tokens and
                                          chat template, as transformers 5 saves it (chat_template.jinja beside
                                          tokenizer_config.json, rope_parameters, dtype, TokenizersBackend)
  hf.py losses TOKENS MODEL...            transformers' per-target cross-entropy of each token record
  hf.py peft BASE ADAPTER MERGED TOKENS   logits of PeftModel / AutoPeftModel loads vs transformers' merged load
  hf.py logits-vs A B TOKENS              max |logit| difference of two model folders (AutoModelForCausalLM)
  hf.py chat TOKENIZER CONVERSATIONS      apply_chat_template + tokenizer ids of each conversation
  hf.py generate MODEL QUESTIONS MAX_NEW  greedy answers (new ids without the stop token, and their decoding)
  hf.py encode TEXTS TOKENIZER_JSON...    tokenizers' ids of each text (no special tokens added) and their decoding
  hf.py tensorboard LOGDIR                what EventAccumulator sees: scalar and histogram steps per tag
  hf.py arrow-read FILE                   pyarrow's reading of an Arrow IPC stream, as JSON rows
  hf.py arrow-write JSONL KIND STREAM FILE  the records as pyarrow writes them: an IPC stream and an IPC file
"""
import json
import sys

ARCHS = {  # small, with every architecture's own features switched on
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(head_dim=24, tie_word_embeddings=False)),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(tie_word_embeddings=True)),
    "llama3": ("LlamaConfig", "LlamaForCausalLM", dict(
        tie_word_embeddings=True, rope_theta=500000.0, max_position_embeddings=131072,
        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=8192))),
    "mistral": ("MistralConfig", "MistralForCausalLM", dict(tie_word_embeddings=False, sliding_window=None)),
}


def out(obj):
    json.dump(obj, sys.stdout)
    sys.stdout.write("\n")


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def torch_dtype(name):
    import torch
    return {"f32": torch.float32, "bf16": torch.bfloat16}[name]


def make_models(dir):
    import torch
    import transformers
    made = []
    for i, (name, (cfg_cls, model_cls, extra)) in enumerate(ARCHS.items()):
        torch.manual_seed(i)
        cfg = getattr(transformers, cfg_cls)(vocab_size=211, hidden_size=64, num_hidden_layers=2,
                                             num_attention_heads=4, num_key_value_heads=2, intermediate_size=112,
                                             rms_norm_eps=1e-6, **extra)
        m = getattr(transformers, model_cls)(cfg).eval()
        # transformers' init (std 0.02, norms at 1, biases 0) gives nearly
        # uniform predictions; larger random weights make every term count
        with torch.no_grad():
            for n, p in m.named_parameters():
                if n.endswith("norm.weight"):
                    p.copy_(1 + 0.3 * torch.randn_like(p))
                elif n.endswith("bias"):
                    p.copy_(0.3 * torch.randn_like(p))
                else:
                    p.copy_(0.15 * torch.randn_like(p))
        for dt in ("f32", "bf16"):
            m.to(torch_dtype(dt)).save_pretrained(f"{dir}/{name}-{dt}")
            made.append(f"{name}-{dt}")
    out({"models": made})


# SmolLM2-135M-Instruct's template: ChatML with a default system prompt
SMOL_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                 "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
                 "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def make_chat_model(dir, tokenizer_json):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_file=tokenizer_json, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|im_end|>", additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    tok.chat_template = SMOL_TEMPLATE
    tok.save_pretrained(dir)
    torch.manual_seed(0)
    vocab = max(tok.get_vocab().values()) + 1  # a vocab lacking bytes has holes: len(tok) is less
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=112, rms_norm_eps=1e-5, tie_word_embeddings=True,
                      rope_theta=100000.0, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    m = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # as in make_models: weights that make every term count
        for n, p in m.named_parameters():
            p.copy_(1 + 0.3 * torch.randn_like(p) if n.endswith("norm.weight") else 0.15 * torch.randn_like(p))
    m.save_pretrained(dir)
    out({"vocab": vocab})


def target_losses(model, recs):
    """Each record's per-target cross-entropy (float32 of the model's logits)."""
    import torch
    res = {}
    with torch.no_grad():
        for r in recs:
            ids = torch.tensor([r["input_ids"]])
            logits = model(ids).logits[0].float()
            t = torch.tensor([i for i, v in enumerate(r["loss_mask"]) if v])
            res[r["id"]] = torch.nn.functional.cross_entropy(logits[t - 1], ids[0, t], reduction="none").tolist()
    return res


def losses(tokens, *model_dirs):
    from transformers import AutoModelForCausalLM
    recs = records(tokens)
    res = {}
    for d in model_dirs:  # each in the dtype its config.json names
        res[d] = target_losses(AutoModelForCausalLM.from_pretrained(d, dtype="auto").eval(), recs)
    out({"losses": res})


def logits_of(model, recs):
    import torch
    with torch.no_grad():
        return [model(torch.tensor([r["input_ids"]])).logits[0].float() for r in recs]


def max_diff(a, b):
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def peft_check(base, adapter, merged, tokens):
    import torch
    from peft import AutoPeftModelForCausalLM, PeftModel
    from transformers import AutoModelForCausalLM
    recs = records(tokens)
    f32 = dict(dtype=torch.float32)
    ref = logits_of(AutoModelForCausalLM.from_pretrained(merged, **f32).eval(), recs)
    base_logits = logits_of(AutoModelForCausalLM.from_pretrained(base, **f32).eval(), recs)
    pm = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, **f32), adapter).eval()
    am = AutoPeftModelForCausalLM.from_pretrained(adapter, **f32).eval()
    out({"peft_vs_merged": max_diff(logits_of(pm, recs), ref),
         "autopeft_vs_merged": max_diff(logits_of(am, recs), ref),
         "base_vs_merged": max_diff(base_logits, ref)})


def logits_vs(a, b, tokens):
    import torch
    from transformers import AutoModelForCausalLM
    recs = records(tokens)
    la = logits_of(AutoModelForCausalLM.from_pretrained(a, dtype=torch.float32).eval(), recs)
    lb = logits_of(AutoModelForCausalLM.from_pretrained(b, dtype=torch.float32).eval(), recs)
    out({"max_diff": max_diff(la, lb)})


def chat(tokenizer, conversations):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tokenizer)
    res = {}
    for c in records(conversations):
        text = tok.apply_chat_template(c["messages"], tokenize=False, enable_thinking=False)  # tokenize's default
        res[c["id"]] = {"text": text, "input_ids": tok(text, add_special_tokens=False)["input_ids"]}
    out(res)


def generate(model_dir, questions, max_new):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    stops = m.generation_config.eos_token_id
    stops = set(stops if isinstance(stops, list) else [stops])
    res = {}
    for r in records(questions):
        text = tok.apply_chat_template([{"role": "user", "content": r["prompt"]}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            new = m.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=int(max_new))[0, len(ids):].tolist()
        if new and new[-1] in stops:
            new = new[:-1]
        res[r["id"]] = {"ids": new, "text": tok.decode(new, skip_special_tokens=False)}
    out(res)


def encode(texts, *tokenizer_files):
    from tokenizers import Tokenizer
    with open(texts) as f:
        lines = [json.loads(line) for line in f]
    res = {}
    for path in tokenizer_files:
        tok = Tokenizer.from_file(path)
        ids = [e.ids for e in tok.encode_batch(lines, add_special_tokens=False)]
        res[path] = {"ids": ids, "decoded": tok.decode_batch(ids, skip_special_tokens=False)}
    out(res)


def tensorboard(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    out({"scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
         "histograms": {t: [[e.step, e.histogram_value.num] for e in acc.Histograms(t)] for t in tags["histograms"]}})


def arrow_read(path):
    import pyarrow as pa
    with pa.OSFile(path, "rb") as f:
        r = pa.ipc.open_stream(f)
        table = r.read_all()
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    fields = {f.name: str(f.type) for f in table.schema}
    out({"metadata": meta, "fields": fields, "rows": table.to_pylist()})


SCHEMAS = {  # docs/formats.md's record kinds as pyarrow builds them
    "token": lambda pa: pa.schema([("id", pa.utf8()), ("input_ids", pa.list_(pa.int32())),
                                   ("loss_mask", pa.list_(pa.uint8())), ("meta", pa.utf8())]),
    "packed": lambda pa: pa.schema([("input_ids", pa.list_(pa.int32())), ("position_ids", pa.list_(pa.int32())),
                                    ("segment_ids", pa.list_(pa.int32())), ("loss_mask", pa.list_(pa.uint8())),
                                    ("doc_ids", pa.list_(pa.utf8()))]),
    "score": lambda pa: pa.schema([("id", pa.utf8()), ("loss", pa.list_(pa.float32())), ("entropy", pa.list_(pa.float32())),
                                   ("n_targets", pa.int32()), ("mean_loss", pa.float32()), ("ppl", pa.float32()),
                                   ("mean_entropy", pa.float32()), ("frac_known", pa.float32()),
                                   ("frac_learning", pa.float32()), ("frac_hard", pa.float32()), ("frac_cut", pa.float32()),
                                   ("prompt_free_loss", pa.list_(pa.float32())), ("prompt_free_mean_loss", pa.float32()),
                                   ("meta", pa.utf8())]),
}


def arrow_write(jsonl, kind, stream_path, file_path):
    import pyarrow as pa
    schema = SCHEMAS[kind](pa)
    rows = records(jsonl)
    for r in rows:
        if "meta" in r:
            r["meta"] = json.dumps(r["meta"], separators=(",", ":"))
    # two batches, so that readers cross a batch boundary
    half = max(1, len(rows) // 2)
    batches = [pa.RecordBatch.from_pylist(rows[:half], schema=schema), pa.RecordBatch.from_pylist(rows[half:], schema=schema)]
    with pa.OSFile(stream_path, "wb") as f, pa.ipc.new_stream(f, schema) as w:
        for b in batches:
            w.write_batch(b)
    with pa.OSFile(file_path, "wb") as f, pa.ipc.new_file(f, schema) as w:
        for b in batches:
            w.write_batch(b)
    out({"rows": len(rows)})


COMMANDS = {"make-models": make_models, "make-chat-model": make_chat_model, "losses": losses, "peft": peft_check, "logits-vs": logits_vs,
            "chat": chat, "encode": encode, "generate": generate, "tensorboard": tensorboard, "arrow-read": arrow_read, "arrow-write": arrow_write}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
