// HF side of bench/tokenize.sh: HF tokenizers (Rust 0.22.2, napi binding
// @anush008/tokenizers 0.6.0) encoding the benchmark corpus with encodeBatch.
// Set TOKENIZERS_PARALLELISM=false for one thread.
//
//   node hf.js tokenizer.json corpus.jsonl passes [ids-out.jsonl]
//
// Prints the same key=value line as the Go side: mbps (best warm pass), cold_mbps, tokens, docs, bytes.
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

async function main() {
  const [tokPath, corpusPath, passes, idsOut] = process.argv.slice(2);
  const docs = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, 'utf8'), 0);
  const tok = Tokenizer.fromFile(tokPath);
  let cold = 0, best = Infinity, encs;
  for (let p = 0; p < Math.max(Number(passes), 2); p++) {
    const t0 = process.hrtime.bigint();
    encs = await tok.encodeBatch(docs, { addSpecialTokens: false });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (p === 0) cold = s; else best = Math.min(best, s);
  }
  const ids = encs.map((e) => e.getIds());
  if (idsOut) fs.writeFileSync(idsOut, ids.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const tokens = ids.reduce((n, x) => n + x.length, 0);
  const mbps = (s) => (bytes / 1e6 / s).toFixed(2);
  console.log(`mbps=${mbps(best)} cold_mbps=${mbps(cold)} tokens=${tokens} docs=${docs.length} bytes=${bytes}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
