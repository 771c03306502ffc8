// Writes tokenizer parity fixtures: strings and the ids the pinned npm package gives them with the exported Qwen2.5
// tokenizer (out/tokenizer.json; run export-tokenizer.mjs first).
//   node gen-parity.mjs                 -> tests/fixtures/qwen-tokenizer/parity.jsonl (committed; deterministic)
//   node gen-parity.mjs --records-only  -> out/parity-records.jsonl (git-ignored) from the published Anatomy-R1
//                                          records in ../shared/data/anatomy-r1 (or $ANATOMYR1_SHARED_DATA); those
//                                          records may not be copied into the repository, so their ids stay local.
// Each line: {"text": "...", "ids": [...]}.
//
// Left out on purpose (the npm package, a JavaScript port, departs from Hugging Face's tokenizers there; the .NET
// tests cover these cases on their own): U+0085 and U+FEFF (JavaScript's \s has U+FEFF but not U+0085, Oniguruma's
// the reverse), "'ſ" (Oniguruma's case-insensitive "'s" matches the long s, JavaScript's rewritten [sS] does not),
// lone surrogates, and characters assigned after Unicode 15.0.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { outDir, repoRoot, writeAtomic, rng, loadJsTokenizer, encodeIds, QWEN25_ADDED } from "./lib.mjs";

const recordsOnly = process.argv.includes("--records-only");
const tokenizerPath = join(outDir, "tokenizer.json");
if (!existsSync(tokenizerPath)) {
  console.error(`gen-parity: ${tokenizerPath} is missing; run 'node export-tokenizer.mjs' first`);
  process.exit(1);
}
const tokenizerJSON = JSON.parse(readFileSync(tokenizerPath, "utf8"));
const tokenizerConfig = JSON.parse(readFileSync(join(outDir, "slow", "tokenizer_config.json"), "utf8"));
const tokenizer = await loadJsTokenizer(tokenizerJSON, tokenizerConfig);

const EXCLUDED = /[\u0085\ufeff]|'\u017f|\p{Cs}/u;
function lines(texts) {
  const out = [];
  const seen = new Set();
  for (const text of texts) {
    if (seen.has(text)) continue;
    if (EXCLUDED.test(text)) throw new Error(`corpus string has an excluded character: ${JSON.stringify(text)}`);
    seen.add(text);
    out.push(JSON.stringify({ text, ids: encodeIds(tokenizer, text) }));
  }
  return out;
}

// Qwen2.5-VL's chat template, rendered by hand (the same string the C# template renders).
function chat(system, userParts, assistant, generation = true) {
  let s = "";
  s += system === null ? "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" : `<|im_start|>system\n${system}<|im_end|>\n`;
  s += "<|im_start|>user\n" + userParts.map((p) => (p === IMAGE ? "<|vision_start|><|image_pad|><|vision_end|>" : p)).join("") + "<|im_end|>\n";
  if (assistant !== undefined) s += `<|im_start|>assistant\n${assistant}<|im_end|>\n`;
  if (generation) s += "<|im_start|>assistant\n";
  return s;
}
const IMAGE = Symbol("image");

function locateRecords() {
  const env = process.env.ANATOMYR1_SHARED_DATA;
  const candidates = env ? [env] : [join(repoRoot, "..", "shared", "data", "anatomy-r1")];
  return candidates.find((c) => existsSync(join(c, "GRPO.json"))) ?? null;
}

if (recordsOnly) {
  const folder = locateRecords();
  if (folder === null) {
    console.log("gen-parity: the published records are not present; nothing to do");
    process.exit(0);
  }
  const texts = [];
  for (const file of ["GRPO.json", "GRPO-ASC-Learning.json"]) {
    for (const r of JSON.parse(readFileSync(join(folder, file), "utf8"))) {
      for (const key of ["instruction", "sft_prompt", "sft_instruction"]) {
        if (typeof r[key] !== "string") continue;
        texts.push(r[key]);
        const question = /Question:\n([\s\S]*?)\nAnatomy Options:/.exec(r[key]);
        if (question) texts.push(question[1]);
      }
      if (typeof r.instruction === "string") texts.push(chat(null, [IMAGE, r.instruction]));
      if (typeof r.answer === "string") texts.push(`<think> The highlighted region is the ${r.answer.toLowerCase()}. </think> <answer>${r.answer}</answer>`);
    }
  }
  const out = lines(texts);
  writeAtomic(join(outDir, "parity-records.jsonl"), out.join("\n") + "\n");
  console.log(`gen-parity: wrote ${out.length} lines from ${folder} to out/parity-records.jsonl`);
  process.exit(0);
}

// ---- the committed corpus ----------------------------------------------------------------------------------
const random = rng(151643);
const pick = (arr) => arr[Math.floor(random() * arr.length)];
const corpus = [];
const add = (...xs) => corpus.push(...xs);

// 1. English, contractions, apostrophes, casing
add(
  "", " ", "a", "A", "Hello", "Hello world", "Hello, world!", "hello world\n", "  leading spaces", "trailing spaces   ",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "camelCaseIdentifier and snake_case_name",
  "I'm sure you're right, it's what we've said: they'll go, he'd know, she's here.",
  "I'M SURE YOU'RE RIGHT, IT'S WHAT WE'VE SAID: THEY'LL GO, HE'D KNOW.", "Don'T wOn't ShE'S wE'Re tHeY'lL yOu'Ve I'M",
  "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D", "'", "''", "'''s", "'sa", "'re'", "rock 'n' roll", "the '90s",
  "It’s a curly apostrophe", "o'clock", "'hello'", "\"quoted\"", "a'b'c'd", "'\n", "x'", "'ll've", "I'd've", "'r 'e 'v",
  "Mr. O'Neil's dog's bone", "can't won't shouldn't", "e.g. i.e. etc.", "U.S.A.", "...", "?!?!", "--flag", "a--b", "@user #tag $5 %20 ^ & * ( )",
);

// 2. Numbers
add(
  "0", "7", "42", "1234567890", "12345678901234567890123456789012345678901234567890", "3.14159265358979", "-273.15",
  "1,000,000", "1 000 000", "2025-08-15", "12:34:56", "0x1F 0b1010 0o777", "1e-9", "v1.2.3", "COVID-19", "H2O", "x2 + y2 = z2",
  "Room 101, floor 3", "$1,299.99", "€5", "£10", "¥1000", "50%", "1/2", "½ ¼ ¾", "²³¹", "Ⅻ ⅻ", "１２３４５", "٣٤٥", "३४५", "๑๒๓",
  "𝟏𝟐𝟑", "⑴⑵⑶", "①②③", "abc123def456", "123abc", "9\n9", "1\t2", "3 4 5", " 6", "7 ", "  8  ", "version 2.0.1-beta+build.7",
);

// 3. Whitespace, tabs, newlines, CRLF
add(
  "a b", "a  b", "a   b", "a    b", "a\tb", "a\t\tb", "a \tb", "a\t b", "a\nb", "a\n\nb", "a\n\n\nb", "a\r\nb", "a\r\n\r\nb", "a\rb",
  "a \nb", "a\n b", "a \n b", "a  \n  b", "\n", "\n\n", "\r\n", "\t", "\t\t", "  ", "   ", "\n \n", " \n", "\n ", " \r\n ",
  "line1\nline2\r\nline3\rline4", "trailing newline\n", "\n\nleading newlines", "mixed \t \n \r\n end", "a\u00a0b", "a\u00a0\u00a0b",
  "a\u3000b", "a\u2009b", "a\u2003\u2003b", "a\u2028b", "a\u2029b", "a\u000bb", "a\u000cb", "a \u00a0 b", "  \u3000x", "\t\tx\n",
  ". \n", "!\n\n", "?\r\n", "end.\n\nNext paragraph.", "x \n\n y", "}\n}", ";\n", ":\r\n", "a\x1cb\x1fc", "a\u200bb", "a\u200db",
);

// 4. CJK, Korean, other scripts
add(
  "你好，世界！", "我爱自然语言处理。", "今天天气很好，我们去公园散步吧。", "胆囊切除术", "腹腔镜胆囊切除手术中的解剖结构识别",
  "この画像は腹腔鏡手術の一場面です。", "カタカナとひらがなと漢字", "ｶﾀｶﾅ", "안녕하세요, 세계!", "한국어 텍스트 처리",
  "Привет, мир!", "Съешь же ещё этих мягких французских булок.", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
  "สวัสดีชาวโลก", "Xin chào thế giới", "Tiếng Việt có dấu", "ภาษาไทย", "ጤና ይስጥልኝ", "ᚠᚢᚦᚨᚱᚲ", "Zürich Ångström façade naïve coöperate",
  "mixed 中文 and English 混合", "中文123数字", "（全角括号）【方括号】「引号」", "。，、；：？！", "“中文引号”‘单引号’", "𠀀𠀁𠀂", "𠮷野家",
  "𝐀𝐁𝐂 𝑎𝑏𝑐 𝔄𝔅", "𐌰𐌱𐌲", "𐐷𐐸", "𓀀𓀁", "Ꭰ Ꭱ", "ꦲꦏ꧀ꦱꦫ", "ᐃᓄᒃᑎᑐᑦ",
);

// 5. Emoji (ZWJ sequences, skin tones, flags, keycaps, variation selectors)
add(
  "😀", "😀😃😄", "I ❤️ NLP", "👍🏽", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🏴‍☠️", "🇯🇵🇺🇸🇩🇪", "1️⃣ 2️⃣ #️⃣", "☺︎ ☺️", "🧑‍⚕️ doctor",
  "emoji in text 🤖 right here", "🤗 Transformers", "👁️‍🗨️", "🫶🏻", "❤️‍🔥", "🏃‍♀️‍➡️", "©®™", "→ ← ↑ ↓ ⇒", "★☆✓✗", "♠♥♦♣",
  "🙂🙃🙂🙃🙂🙃🙂🙃", "😀a😀", "a😀b", " 😀", "😀 ", "😀\n",
);

// 6. Accents in NFD (and NFC), other normalisation cases
add(
  "Cafe\u0301", "Café", "e\u0301le\u0300ve", "élève", "Tie\u0302\u0301ng Vie\u0323\u0302t", "Tiếng Việt", "A\u030a", "\u212b", "\u2126",
  "\u03d2\u0301\u03d2\u0308\u017f\u0307", "\u1e9b\u0323", "q\u0307\u0323", "o\u0308\u0304", "a\u0328\u0301", "n\u0303o", "u\u0308ber",
  "\u1100\u1161\u11a8", "\u1112\u1161\u11ab\u1100\u1173\u11af", "\u3099\u304b", "\u304b\u3099", "\u30cf\u309a", "\u0915\u093c", "\u0928\u093c",
  "fi ligature \ufb01", "\u2460 circled", "x\u0338", "=\u0338", "<\u0338", "e\u0301\u0301\u0301", "\u0301start", "\u00c5\u0301",
  "Ame\u0301lie Poulain", "Zu\u0308rich", "nai\u0308ve", "Sma\u030alen", "Ko\u0308ln", "\u0041\u0300\u0041\u0301\u0041\u0302",
);

// 7. Code
add(
  "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}", "if (a && b || !c) { return; }",
  "const obj = { key: \"value\", list: [1, 2, 3] };", "SELECT * FROM users WHERE id = 42;", "<div class=\"box\">Hi</div>",
  "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }", "x => x.y?.z ?? 0", "a != b && c >= d", "i++; j--; k += 1;",
  "public sealed class Foo : IBar\n{\n    private readonly int _x;\n}\n", "    indented with four spaces", "\t\tindented with tabs",
  "// comment\n/* block */", "# heading\n\n- item 1\n- item 2\n", "```python\nprint('hi')\n```", "$ ls -la | grep foo > out.txt 2>&1",
  "{\"a\":1,\"b\":[true,false,null]}", "regex: ^[a-z]+\\d{2,3}$", "path/to/file.txt C:\\Windows\\System32", "https://example.org/a?b=c&d=e#f",
  "user@example.com", "a==b===c", ";;;", "}}}}", "((()))", "  }\n\n  return 0;\n}", ");\n", "]);", "=>", "::", "->", "<=>", "...rest",
);

// 8. The <think>/<answer> tags (plain text for Qwen2.5)
add(
  "<think>", "</think>", "<answer>", "</answer>", "<think></think>", "<think> </think>", "<think>\n</think>", "<answer>B</answer>",
  "<think> The gallbladder is at the top-left. </think> <answer>A</answer>", "<think>\nStep 1: look.\nStep 2: decide.\n</think>\n<answer>C</answer>",
  "<answer> Liver </answer>", "<think>reasoning</think><answer>D</answer>", "prefix<think>x</think>suffix", "<thinking>", "</answer>\n",
  "<think> ... </think> <answer>YOUR ANSWER HERE</answer>", "<answer>Abdominal Wall Cavity</answer>", "<think/>", "< think >",
);

// 9. The added tokens, alone, adjacent, partial, in chat prompts
for (const t of QWEN25_ADDED) add(t, ` ${t} `, `x${t}y`, `${t}\n`);
add(
  "<|im_start|><|im_end|>", "<|im_start|>user\nHi<|im_end|>", "<|endoftext|><|endoftext|>", "<|im_start", "<|im_end|", "<|im_end",
  "im_end|>", "<|im_start|>>", "<<|im_start|>", "<||im_start|>", "<|IM_START|>", "<|vision_start|><|image_pad|><|vision_end|>",
  "<|image_pad|>".repeat(16), "<|vision_start|>" + "<|image_pad|>".repeat(4) + "<|vision_end|>What is this?", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
  "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", "<|box_start|>(10,20),(30,40)<|box_end|>", "<|object_ref_start|>the liver<|object_ref_end|>",
  "<|video_pad|><|vision_pad|>", "<|repo_name|>anatomy<|file_sep|>main.cs", "<tool_response>", "<|im_end|>\u0338", "\u0338<|im_start|>",
  chat(null, [IMAGE, "What is this?"]), chat("You are an expert.", [IMAGE, "Describe the image."]), chat(null, ["No image here."]),
  chat(null, [IMAGE, IMAGE, "Compare the two images."]), chat(null, ["Before ", IMAGE, " after"]), chat(null, [IMAGE, "Q?"], "<think> t </think> <answer>A</answer>", false),
  chat("系统提示", [IMAGE, "这是什么？"]), chat(null, [IMAGE, "What is this?"], undefined, false),
);

// 10. SSG-VQA-style questions and prompts (synthetic; the published records are checked by --records-only)
const anatomy = ["Abdominal Wall Cavity", "Cystic Plate", "Gallbladder", "Gut", "Liver", "Omentum"];
const instruments = ["grasper", "hook", "scissors", "clipper", "irrigator", "bipolar", "specimenbag"];
const colours = ["red", "blue", "green", "yellow", "purple", "white", "brown"];
const rows = ["top", "middle", "bottom"], cols = ["left", "mid", "right"];
const relations = ["left of", "right of", "above", "below", "within", "touching"];
const position = () => `${pick(rows)}-${pick(cols)}`;
const questionTemplates = [
  () => `What anatomy is at the ${position()} of the frame ?`,
  () => `What is the ${pick(colours)} ${position()} anatomy?`,
  () => `What is the name of the anatomy that is ${pick(relations)} the ${pick(instruments)} object?`,
  () => `What is the name of the anatomy that is within the ${pick(anatomy).toLowerCase()} thing and ${pick(relations)} the ${pick(instruments)} object?`,
  () => `There is a ${pick(instruments)} ${pick(relations)} the ${pick(colours)} thing; what is it?`,
  () => `Is there a ${pick(instruments)} at the ${position()}?`,
  () => `How many ${pick(instruments)}s are ${pick(relations)} the ${pick(anatomy).toLowerCase()}?`,
];
const prefixR1 = "You are an expert in laparoscopic cholecystectomy. Look at the image and answer the question with the letter of the correct option.\n"
  + "Output the thinking process in <think> </think> and the final answer in <answer> </answer> tags, like this: <think> ... </think> <answer>X</answer>.";
for (let i = 0; i < 180; i++) {
  const q = pick(questionTemplates)();
  const options = [...anatomy].sort(() => random() - 0.5).slice(0, 4);
  const prompt = `${prefixR1}\nQuestion:\n${q}\nAnatomy Options:\n${options.map((o, k) => `${"ABCD"[k]}. ${o}`).join("\n")}`;
  add(q);
  if (i % 3 === 0) add(prompt);
  if (i % 6 === 0) add(chat(null, [IMAGE, prompt]));
  if (i % 4 === 0) add(`<think> The ${pick(colours)} region at the ${position()} is the ${options[0].toLowerCase()}. </think> <answer>${"ABCD"[i % 4]}</answer>`);
}

// 11. Random mixtures over a pool of pieces, to cross every boundary of the pre-tokenizer
const pieces = [
  "a", "Z", "word", "Word", "WORD", "é", "e\u0301", "ß", "ſ", "İ", "ı", "中", "文字", "ア", "한", "я", "ω", "ب", "א", "क", "ก", "𠀀", "𝐀",
  "0", "7", "42", "٣", "²", "½", "Ⅻ", "𝟏",
  " ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2009",
  ".", ",", "!", "?", "'", "\"", "-", "_", "(", ")", "[", "]", "{", "}", "<", ">", "/", "\\", "|", "@", "#", "$", "%", "^", "&", "*", "+", "=", "~", "`", ";", ":",
  "'s", "'S", "'ll", "'LL", "'re", "'ve", "'m", "'d", "'t", "…", "—", "–", "«", "»", "“", "”", "、", "。", "！",
  "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "\u0301", "\u0308", "\u200d", "\ufe0f",
  "<think>", "</answer>", "<|im_start|>", "<|im_end|>", "<|image_pad|>", "<tool_call>",
];
for (let i = 0; i < 520; i++) {
  const n = 1 + Math.floor(random() * 12);
  let s = "";
  for (let k = 0; k < n; k++) s += pick(pieces);
  if (EXCLUDED.test(s)) i--; // "'" followed by "ſ": see the note at the top
  else add(s);
}
// longer random paragraphs
const words = ["the", "liver", "gallbladder", "is", "at", "top-left", "of", "frame", "grasper", "hook", "and", "with", "胆囊", "肝脏", "😀", "42", "3.5", "cm", "—", "(see", "Fig.", "2)", "it's", "they'll"];
for (let i = 0; i < 60; i++) {
  const n = 5 + Math.floor(random() * 40);
  const seps = [" ", " ", " ", "  ", "\n", ", ", ". ", "\t", "\r\n", ""];
  let s = "";
  for (let k = 0; k < n; k++) s += pick(words) + pick(seps);
  add(s);
}

const out = lines(corpus);
writeAtomic(join(repoRoot, "tests", "fixtures", "qwen-tokenizer", "parity.jsonl"), out.join("\n") + "\n");
console.log(`gen-parity: wrote ${out.length} lines to tests/fixtures/qwen-tokenizer/parity.jsonl`);
