// Writes a small, vocabulary-truncated Qwen2.5 tokenizer for tiny test checkpoints:
//   tests/fixtures/qwen2_5_vl/tokenizer/tokenizer.json
//   tests/fixtures/qwen2_5_vl/tokenizer/tokenizer_config.json
// Ordinary tokens: ids 0..999 of the real vocabulary, i.e. the 256 byte symbols and the results of the first 744
// merges (in Qwen's vocabulary merge i produces id 256 + i, checked below for every merge). Merges: those 744.
// Added tokens: the 22 Qwen2.5 ones (151643..151664) moved to ids 1000..1021 in the same order, so
// <|endoftext|>=1000, <|im_start|>=1001, <|im_end|>=1002, <|vision_start|>=1009, <|vision_end|>=1010,
// <|image_pad|>=1012. These ids are a contract with the tiny model fixtures: do not change them.
// Needs out/tokenizer.json (node export-tokenizer.mjs).
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { outDir, repoRoot, writeAtomic, loadJsTokenizer, encodeIds, QWEN25_ADDED, FIRST_ADDED_ID } from "./lib.mjs";

const ORDINARY = 1000;
const BYTES = 256;
const fail = (m) => {
  console.error(`gen-tiny-tokenizer: ${m}`);
  process.exit(1);
};

const fullPath = join(outDir, "tokenizer.json");
if (!existsSync(fullPath)) fail(`${fullPath} is missing; run 'node export-tokenizer.mjs' first`);
const full = JSON.parse(readFileSync(fullPath, "utf8"));
const fullConfig = JSON.parse(readFileSync(join(outDir, "slow", "tokenizer_config.json"), "utf8"));

const vocab = full.model.vocab;
const merges = full.model.merges.map((m) => (Array.isArray(m) ? m : m.split(" ")));

// Every merge i yields id 256 + i, and the first 256 ids are the single byte symbols.
const byId = [];
for (const [token, id] of Object.entries(vocab)) byId[id] = token;
for (let id = 0; id < BYTES; id++) if ([...byId[id]].length !== 1) fail(`id ${id} is not a byte symbol: '${byId[id]}'`);
merges.forEach(([a, b], i) => {
  if (vocab[a + b] !== BYTES + i) fail(`merge ${i} (${a} ${b}) yields id ${vocab[a + b]}, not ${BYTES + i}`);
});
const kept = merges.slice(0, ORDINARY - BYTES);
for (const [a, b] of kept) if (vocab[a] >= ORDINARY || vocab[b] >= ORDINARY) fail(`merge ${a} ${b} uses a token beyond id ${ORDINARY - 1}`);

const tinyVocab = {};
for (let id = 0; id < ORDINARY; id++) tinyVocab[byId[id]] = id;

const fullAdded = new Map(full.added_tokens.map((a) => [a.content, a]));
const added = QWEN25_ADDED.map((content, i) => {
  const a = fullAdded.get(content);
  if (!a || a.id !== FIRST_ADDED_ID + i) fail(`added token ${content} is not at ${FIRST_ADDED_ID + i}`);
  return { ...a, id: ORDINARY + i };
});

const tiny = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: added,
  normalizer: full.normalizer,
  pre_tokenizer: full.pre_tokenizer,
  post_processor: full.post_processor,
  decoder: full.decoder,
  model: { ...full.model, vocab: tinyVocab, merges: kept.map(([a, b]) => `${a} ${b}`) },
};

const decoder = {};
for (const a of added) {
  decoder[String(a.id)] = { content: a.content, lstrip: a.lstrip, normalized: a.normalized, rstrip: a.rstrip, single_word: a.single_word, special: a.special };
}
const config = {
  add_bos_token: false,
  add_prefix_space: false,
  added_tokens_decoder: decoder,
  additional_special_tokens: fullConfig.additional_special_tokens,
  bos_token: null,
  clean_up_tokenization_spaces: false,
  eos_token: "<|im_end|>",
  errors: "replace",
  model_max_length: 32768,
  pad_token: "<|endoftext|>",
  split_special_tokens: false,
  tokenizer_class: "Qwen2Tokenizer",
  unk_token: null,
};

const dir = join(repoRoot, "tests", "fixtures", "qwen2_5_vl", "tokenizer");
writeAtomic(join(dir, "tokenizer.json"), JSON.stringify(tiny, null, 1) + "\n");
writeAtomic(join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");

// Self-check: where the full tokenizer's ids all fall inside the truncated vocabulary (or are added tokens), the
// small one gives the same ids (added tokens shifted).
const fullTok = await loadJsTokenizer(full, fullConfig);
const tinyTok = await loadJsTokenizer(tiny, config);
const shift = (id) => (id >= FIRST_ADDED_ID ? id - FIRST_ADDED_ID + ORDINARY : id);
let checked = 0;
for (const s of ["the", " the", "in the", "<|im_start|>user\nthe end<|im_end|>\n", "<|vision_start|><|image_pad|><|vision_end|>", "Hello", "a b c", "\n\n"]) {
  const f = encodeIds(fullTok, s);
  const t = encodeIds(tinyTok, s);
  if (f.every((id) => id < ORDINARY || id >= FIRST_ADDED_ID)) {
    if (JSON.stringify(f.map(shift)) !== JSON.stringify(t)) fail(`'${s}': full ${f} vs tiny ${t}`);
    checked++;
  }
}
console.log(`gen-tiny-tokenizer: wrote ${dir} (${ORDINARY} ordinary tokens, ${kept.length} merges, ${added.length} added tokens; ${checked} self-checks)`);
