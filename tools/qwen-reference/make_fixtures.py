#!/usr/bin/env python3
"""Tiny random Qwen2.5-VL checkpoints and numeric reference fixtures.

Every model number comes from the library's own Qwen2.5-VL modelling code
(loaded unchanged from a partial source checkout, see hf_reference.py) run in
float32 on the CPU with eager attention.

    python3 make_fixtures.py --transformers /path/to/transformers-checkout \
        --out tests/fixtures/qwen2_5_vl [--cases cases.json] [--tokenizer-dir DIR]

The output is deterministic: running it twice gives byte-identical files.
"""

import argparse
import base64
import hashlib
import json
import math
import os
import re
import shutil
import sys

import numpy as np
import PIL
import PIL.Image
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hf_reference  # noqa: E402
import safetensors_io  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The fixed contract shared with the C# side.

VOCAB_SIZE = 1024
ENDOFTEXT, IM_START, IM_END = 1000, 1001, 1002
VISION_START, VISION_END, VISION_PAD, IMAGE_PAD, VIDEO_PAD = 1009, 1010, 1011, 1012, 1013
ORDINARY_IDS = 1000  # ordinary (non-special) ids are 0..999

WEIGHT_SEED = 20250301
IMAGE_SEED = 7
CASE_SEED = 42
GREEDY_TOKENS = 12

TEXT_FIELDS = {
    "vocab_size": VOCAB_SIZE,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "max_position_embeddings": 2048,
    "initializer_range": 0.02,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [1, 1, 2]},
    "attention_dropout": 0.0,
    "use_sliding_window": False,
    "sliding_window": 2048,
    "max_window_layers": 2,
    "use_cache": True,
    "bos_token_id": ENDOFTEXT,
    "eos_token_id": IM_END,
}

VISION_FIELDS = {
    "depth": 4,
    "hidden_act": "silu",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "in_chans": 3,
    "out_hidden_size": 32,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "spatial_patch_size": 14,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [1, 3],
    "tokens_per_second": 2,
}

TOKEN_FIELDS = {
    "vision_start_token_id": VISION_START,
    "vision_end_token_id": VISION_END,
    "vision_token_id": VISION_PAD,
    "image_token_id": IMAGE_PAD,
    "video_token_id": VIDEO_PAD,
}

PREPROCESSOR = {
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor",
    "max_pixels": 12845056,
    "merge_size": 2,
    "min_pixels": 3136,
    "patch_size": 14,
    "processor_class": "Qwen2_5_VLProcessor",
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "temporal_patch_size": 2,
}

GENERATION = {
    "bos_token_id": ENDOFTEXT,
    "pad_token_id": ENDOFTEXT,
    "do_sample": True,
    "eos_token_id": [IM_END, ENDOFTEXT],
    "repetition_penalty": 1.05,
    "temperature": 0.1,
    "top_p": 0.001,
    "top_k": 1,
}

# Images: (file name, width, height). All but the last need no resize under smart_resize.
IMAGES = [
    ("img_56x56.png", 56, 56),
    ("img_84x112.png", 84, 112),
    ("img_224x280.png", 224, 280),
    ("img_100x75.png", 100, 75),
]

# Files this script owns inside each checkpoint folder (never taken from --tokenizer-dir).
OWNED = {
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
}

# Source commits of the three library files, as read into the partial checkout.
SOURCE_COMMITS = {
    "src/transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py": "00b676f8f0489b88652a31d70751cc540dd06305",
    "src/transformers/models/qwen2_5_vl/configuration_qwen2_5_vl.py": "018c8e0394c47749c55861e11f5f7e2a577973d7",
    "src/transformers/models/qwen2_vl/image_processing_qwen2_vl.py": "cb0fc56f3caccab77d00d44051a67d4b0980cbd2",
}

# ---------------------------------------------------------------------------------------------
# JSON output: dictionaries indented, lists of scalars on one line, float32 values written with
# the shortest decimal text that reads back to the same float32.


def f32(value):
    return float(repr(np.float32(value)))


def f32_list(values):
    return [f32(v) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def f64(value):
    return float(value)


def _dump(obj, indent):
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad}  {json.dumps(str(k))}: {_dump(v, indent + 2)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"
        items = [f"{pad}  {_dump(v, indent + 2)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(_dump(obj, 0) + "\n")


# ---------------------------------------------------------------------------------------------
# Configurations


def flat_config(tie):
    cfg = {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl"}
    cfg.update(TEXT_FIELDS)
    cfg.update(TOKEN_FIELDS)
    cfg["tie_word_embeddings"] = tie
    cfg["torch_dtype"] = "bfloat16"
    cfg["vision_config"] = dict(VISION_FIELDS, model_type="qwen2_5_vl")
    return cfg


def nested_config(tie):
    text = dict(TEXT_FIELDS, model_type="qwen2_5_vl_text", tie_word_embeddings=tie, torch_dtype="bfloat16")
    cfg = {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl"}
    cfg.update(TOKEN_FIELDS)
    cfg["text_config"] = text
    cfg["vision_config"] = dict(VISION_FIELDS, model_type="qwen2_5_vl")
    cfg["tie_word_embeddings"] = tie
    cfg["torch_dtype"] = "bfloat16"
    return cfg


# ---------------------------------------------------------------------------------------------
# Model construction and loading, following the library's from_pretrained steps:
# config class from the JSON, model class from the config, checkpoint keys renamed with the
# class's `_checkpoint_conversion_mapping` (first matching pattern wins), weights cast to the
# default float32, output embeddings tied to input embeddings when the text config says so.


class Reference:
    def __init__(self, checkout):
        self.modeling, self.configuration, self.image_processing = hf_reference.load(checkout)

    def config(self, cfg_dict):
        return self.configuration.Qwen2_5_VLConfig(**json.loads(json.dumps(cfg_dict)))

    def build(self, cfg_dict):
        model = self.modeling.Qwen2_5_VLForConditionalGeneration(self.config(cfg_dict))
        return model.eval()

    def rename_key(self, key):
        for pattern, replacement in self.modeling.Qwen2_5_VLForConditionalGeneration._checkpoint_conversion_mapping.items():
            new_key, count = re.subn(pattern, replacement, key)
            if count:
                return new_key
        return key

    def load(self, folder):
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as fh:
            cfg = json.load(fh)
        model = self.build(cfg)
        index = os.path.join(folder, "model.safetensors.index.json")
        if os.path.exists(index):
            with open(index, encoding="utf-8") as fh:
                weight_map = json.load(fh)["weight_map"]
            files = sorted(set(weight_map.values()))
        else:
            files = ["model.safetensors"]
        state = {}
        for name in files:
            tensors, _ = safetensors_io.read(os.path.join(folder, name))
            state.update(tensors)
        renamed = {}
        report = {}
        for key, value in state.items():
            new_key = self.rename_key(key)
            if new_key != key:
                report[key] = new_key
            renamed[new_key] = torch.from_numpy(np.array(value, dtype=np.float32))
        expected = model.state_dict()
        tie = bool(model.config.get_text_config().tie_word_embeddings)
        if tie != bool(model.config.tie_word_embeddings):
            raise SystemExit(f"{folder}: top-level and text tie_word_embeddings disagree")
        missing = sorted(set(expected) - set(renamed))
        unexpected = sorted(set(renamed) - set(expected))
        allowed_missing = set(type(model)._tied_weights_keys) if tie else set()
        if unexpected or set(missing) - allowed_missing:
            raise SystemExit(f"{folder}: missing {missing}, unexpected {unexpected}")
        for key, value in renamed.items():
            if tuple(expected[key].shape) != tuple(value.shape):
                raise SystemExit(f"{folder}: shape mismatch for {key}")
        model.load_state_dict(renamed, strict=False)
        if tie:
            model.lm_head.weight = model.get_input_embeddings().weight
        return model, {"renamed_keys": len(report), "missing_keys": missing, "tied_lm_head": tie,
                       "example_renames": dict(sorted(report.items())[:3])}


def is_rms_norm(name):
    return name.endswith(("norm.weight", "norm1.weight", "norm2.weight", "ln_q.weight", "layernorm.weight"))


def random_weights(model):
    """Canonical (current-layout) name -> uint16 bf16 bits, from a fixed seed."""
    rng = np.random.default_rng(WEIGHT_SEED)
    out = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue
        z = rng.standard_normal(tuple(tensor.shape)).astype(np.float32)
        if is_rms_norm(name):
            values = 1.0 + 0.1 * z
        elif name.endswith("patch_embed.proj.weight"):
            values = 0.05 * z
        else:
            values = 0.2 * z
        out[name] = safetensors_io.f32_to_bf16_bits(values)
    out["lm_head.weight"] = out["model.language_model.embed_tokens.weight"].copy()
    return out


def legacy_name(name):
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    if name.startswith("model.visual."):
        return name[len("model."):]
    raise ValueError(name)


def write_checkpoints(ref, out_dir, tokenizer_dir):
    tiny = os.path.join(out_dir, "tiny")
    sharded = os.path.join(out_dir, "tiny-sharded")
    for folder in (tiny, sharded):
        os.makedirs(folder, exist_ok=True)
    skeleton = ref.build(flat_config(True))
    weights = random_weights(skeleton)

    # tiny/: flat config, earlier key layout, tied embeddings (no lm_head.weight), one file.
    legacy = {legacy_name(k): ("BF16", v) for k, v in weights.items() if k != "lm_head.weight"}
    safetensors_io.write(os.path.join(tiny, "model.safetensors"), legacy)
    write_json(os.path.join(tiny, "config.json"), flat_config(True))

    # tiny-sharded/: nested config, current key layout, untied lm_head equal to the embedding, two shards.
    shards = {"model-00001-of-00002.safetensors": {}, "model-00002-of-00002.safetensors": {}}
    for name, bits in weights.items():
        target = "model-00001-of-00002.safetensors" if name.startswith("model.visual.") else "model-00002-of-00002.safetensors"
        shards[target][name] = ("BF16", bits)
    total = 0
    weight_map = {}
    for file_name, tensors in shards.items():
        total += safetensors_io.write(os.path.join(sharded, file_name), tensors)
        for name in tensors:
            weight_map[name] = file_name
    write_json(os.path.join(sharded, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    write_json(os.path.join(sharded, "config.json"), nested_config(False))

    for folder in (tiny, sharded):
        write_json(os.path.join(folder, "preprocessor_config.json"), PREPROCESSOR)
        write_json(os.path.join(folder, "generation_config.json"), GENERATION)
        if tokenizer_dir:
            for entry in sorted(os.listdir(tokenizer_dir)):
                src = os.path.join(tokenizer_dir, entry)
                if os.path.isfile(src) and entry not in OWNED:
                    shutil.copyfile(src, os.path.join(folder, entry))
    return tiny, sharded


# ---------------------------------------------------------------------------------------------
# Images


def make_image(width, height, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3), dtype=np.float64)
    for c in range(3):
        fx, fy = rng.uniform(0.5, 2.5, size=2)
        phase = rng.uniform(0, 2 * math.pi)
        img[..., c] = 128 + 100 * np.sin(2 * math.pi * (fx * x / 56.0 + fy * y / 56.0) + phase)
    for _ in range(3):
        x0, x1 = sorted(rng.integers(0, width, size=2))
        y0, y1 = sorted(rng.integers(0, height, size=2))
        color = rng.integers(0, 256, size=3)
        img[y0 : y1 + 1, x0 : x1 + 1] = 0.5 * img[y0 : y1 + 1, x0 : x1 + 1] + 0.5 * color
    if width * height <= 56 * 56:
        img += rng.integers(-20, 21, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_images(out_dir):
    folder = os.path.join(out_dir, "images")
    os.makedirs(folder, exist_ok=True)
    for index, (name, width, height) in enumerate(IMAGES):
        pixels = make_image(width, height, IMAGE_SEED + index)
        PIL.Image.fromarray(pixels, mode="RGB").save(os.path.join(folder, name), format="PNG", optimize=True)
    return folder


def open_image(path):
    with PIL.Image.open(path) as img:
        img.load()
        return img.copy()


# ---------------------------------------------------------------------------------------------
# Fixture sections


def processor(ref):
    cfg = dict(PREPROCESSOR)
    cfg.pop("processor_class")
    return ref.image_processing.Qwen2VLImageProcessor(**cfg)


def sample_positions(rows, cols=1176, count=20):
    picks = [(0, 0), (rows - 1, cols - 1)]
    k = 0
    while len(picks) < count:
        k += 1
        picks.append(((k * 7919) % rows, (k * 104729 + 13) % cols))
    return picks


def image_processor_section(ref, image_dir):
    proc = processor(ref)
    entries = []
    for name, width, height in IMAGES:
        img = open_image(os.path.join(image_dir, name))
        feats = proc(images=[img])
        pixels = np.asarray(feats["pixel_values"], dtype=np.float32)
        grid = [int(v) for v in np.asarray(feats["image_grid_thw"])[0]]
        rows = pixels.shape[0]
        entry = {
            "file": name,
            "width": width,
            "height": height,
            "resized_height": grid[1] * PREPROCESSOR["patch_size"],
            "resized_width": grid[2] * PREPROCESSOR["patch_size"],
            "needs_resize": [grid[1] * 14, grid[2] * 14] != [height, width],
            "image_grid_thw": grid,
            "num_patches": rows,
            "num_image_tokens": rows // (PREPROCESSOR["merge_size"] ** 2),
            "pixel_values_shape": list(pixels.shape),
            "pixel_values_sum": f64(pixels.astype(np.float64).sum()),
            "pixel_values_sum_of_squares": f64((pixels.astype(np.float64) ** 2).sum()),
            "samples": [{"row": r, "col": c, "value": f32(pixels[r, c])} for r, c in sample_positions(rows)],
        }
        if rows * pixels.shape[1] <= 16 * 1176:
            entry["pixel_values"] = [f32_list(row) for row in pixels]
        entries.append(entry)

    resize = ref.image_processing.resize
    bicubic = PIL.Image.Resampling.BICUBIC
    src_100 = np.array(open_image(os.path.join(image_dir, "img_100x75.png")))
    h, w = ref.image_processing.smart_resize(75, 100, factor=28, min_pixels=PREPROCESSOR["min_pixels"],
                                             max_pixels=PREPROCESSOR["max_pixels"])
    big = resize(src_100, size=(h, w), resample=bicubic)
    tiny_src = np.random.default_rng(IMAGE_SEED + 100).integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
    goldens = {
        "img_100x75_to_smart_size": {
            "source_file": "img_100x75.png",
            "width": w,
            "height": h,
            "shape_hwc": list(big.shape),
            "sum": int(big.astype(np.int64).sum()),
            "rgb_base64": base64.b64encode(np.ascontiguousarray(big, dtype=np.uint8).tobytes()).decode("ascii"),
        },
        "tiny_7x5": {
            "source_hwc": tiny_src.tolist(),
            "to_4x3_hwc": resize(tiny_src, size=(3, 4), resample=bicubic).tolist(),
            "to_11x9_hwc": resize(tiny_src, size=(9, 11), resample=bicubic).tolist(),
        },
    }
    return {
        "description": "Qwen2VLImageProcessor outputs (library code) for the PNGs in images/, and PIL bicubic resize goldens.",
        "processor": {k: v for k, v in PREPROCESSOR.items() if k != "processor_class"},
        "pixel_values_layout": "row = one 14x14 patch; rows ordered by (t, h/2, w/2, h%2, w%2) over the patch grid; "
        "columns = channel (3) x temporal (2, the image repeated) x 14 rows x 14 cols, row-major",
        "pillow_version": PIL.__version__,
        "images": entries,
        "resize_goldens": goldens,
    }


SMART_RESIZE_CASES = [
    # (height, width, factor, min_pixels, max_pixels, note)
    (56, 56, 28, 3136, 12845056, "exact multiple, at min_pixels"),
    (112, 84, 28, 3136, 12845056, "exact multiple"),
    (280, 224, 28, 3136, 12845056, "exact multiple"),
    (75, 100, 28, 3136, 12845056, "rounds to 84 x 112"),
    (42, 42, 28, 3136, 12845056, "42/28 = 1.5 rounds half to even (2)"),
    (70, 70, 28, 3136, 12845056, "70/28 = 2.5 rounds half to even (2)"),
    (98, 126, 28, 3136, 12845056, "3.5 -> 4 and 4.5 -> 4"),
    (154, 182, 28, 3136, 12845056, "5.5 -> 6 and 6.5 -> 6"),
    (70, 98, 28, 3136, 12845056, "2.5 -> 2 and 3.5 -> 4"),
    (21, 21, 14, 3136, 12845056, "factor 14: 1.5 -> 2, then scaled up to min_pixels"),
    (35, 49, 14, 1000, 12845056, "factor 14: 2.5 -> 2 and 3.5 -> 4"),
    (28, 28, 28, 3136, 12845056, "below min_pixels: scaled up"),
    (30, 40, 28, 3136, 12845056, "below min_pixels after rounding"),
    (29, 1000, 28, 3136, 12845056, "thin strip"),
    (28, 5600, 28, 3136, 12845056, "aspect ratio exactly 200 is allowed"),
    (28, 5601, 28, 3136, 12845056, "aspect ratio just above 200"),
    (5601, 28, 28, 3136, 12845056, "aspect ratio just above 200, tall"),
    (40, 7000, 28, 3136, 12845056, "aspect ratio 175"),
    (27, 500, 28, 3136, 12845056, "height below factor"),
    (500, 20, 28, 3136, 12845056, "width below factor"),
    (10, 10, 28, 3136, 12845056, "tiny image"),
    (4000, 3000, 28, 3136, 12845056, "large photo within max_pixels"),
    (4000, 3000, 28, 3136, 1003520, "large photo above max_pixels (28*28*1280)"),
    (10000, 10000, 28, 3136, 12845056, "above max_pixels"),
    (1080, 1920, 28, 3136, 1003520, "full HD above max_pixels"),
    (1080, 1920, 28, 200704, 401408, "full HD, 256..512 tokens budget"),
    (100, 100, 28, 200704, 401408, "small image scaled up to min_pixels"),
    (300, 50, 28, 3136, 12845056, "tall, within bounds"),
    (3584, 3584, 28, 3136, 12845056, "exactly max_pixels (3584^2 = 12845056)"),
    (3585, 3585, 28, 3136, 12845056, "rounds back to exactly max_pixels"),
    (3599, 3599, 28, 3136, 12845056, "rounds above max_pixels: floor after dividing by beta"),
    (28, 5000, 28, 3136, 50000, "downscale of an extreme strip: floor gives a zero side"),
    (640, 480, 28, 3136, 12845056, "VGA landscape"),
    (480, 640, 32, 4096, 1048576, "factor 32"),
    (1000, 1000, 28, 3136, 784 * 256, "max 256 tokens"),
    (999, 1001, 28, 3136, 12845056, "near-square rounding"),
]


def smart_resize_section(ref):
    fn = ref.image_processing.smart_resize
    cases = []
    for height, width, factor, min_pixels, max_pixels, note in SMART_RESIZE_CASES:
        case = {"height": height, "width": width, "factor": factor, "min_pixels": min_pixels,
                "max_pixels": max_pixels, "note": note}
        try:
            h, w = fn(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
            case["result"] = [int(h), int(w)]
        except ValueError as err:
            text = str(err)
            case["error"] = "smaller_than_factor" if "larger than factor" in text else (
                "aspect_ratio" if "aspect ratio" in text else "other")
            case["message"] = text
        cases.append(case)
    return {
        "description": "smart_resize(height, width, factor, min_pixels, max_pixels) from the library's Qwen2-VL image "
        "processor: result [height, width] or an error kind. Python round() is round-half-to-even.",
        "source": "src/transformers/models/qwen2_vl/image_processing_qwen2_vl.py@" + SOURCE_COMMITS[
            "src/transformers/models/qwen2_vl/image_processing_qwen2_vl.py"],
        "error_kinds": {
            "smaller_than_factor": "height < factor or width < factor (this version checks this first)",
            "aspect_ratio": "max(h, w) / min(h, w) > 200",
        },
        "cases": cases,
    }


def pixel_inputs(ref, image_dir, names):
    if not names:
        return None, None
    proc = processor(ref)
    images = [open_image(resolve_image(image_dir, n)) for n in names]
    feats = proc(images=images)
    pixels = torch.from_numpy(np.asarray(feats["pixel_values"], dtype=np.float32))
    grid = torch.from_numpy(np.asarray(feats["image_grid_thw"], dtype=np.int64))
    return pixels, grid


def vision_section(ref, model, image_dir):
    visual = model.visual
    merge = visual.spatial_merge_size
    rotary_half = visual.rotary_pos_emb.inv_freq.shape[0]
    assert float(visual.rotary_pos_emb.inv_freq[0]) == 1.0
    entries = []

    def describe(names):
        pixels, grid = pixel_inputs(ref, image_dir, names)
        window_index, cu_window = visual.get_window_index(grid)
        cu_window_unique = torch.unique_consecutive(torch.tensor(cu_window, dtype=torch.int32))
        cu_full = torch.nn.functional.pad(
            torch.repeat_interleave(grid[:, 1] * grid[:, 2], grid[:, 0]).cumsum(0, dtype=torch.int32), (1, 0), value=0)
        freqs = visual.rot_pos_emb(grid)
        with torch.no_grad():
            embeds = visual(pixels, grid_thw=grid)
        per_image = []
        start = 0
        for t, h, w in grid.tolist():
            count = t * h * w // (merge * merge)
            part = embeds[start : start + count]
            start += count
            per_image.append({
                "image_grid_thw": [t, h, w],
                "shape": list(part.shape),
                "sum": f64(part.double().sum()),
                "abs_sum": f64(part.double().abs().sum()),
                "first16": f32_list(part.reshape(-1)[:16]),
                "last_row_first8": f32_list(part[-1, :8]),
            })
        return {
            "images": list(names),
            "image_grid_thw": grid.tolist(),
            "window_index": window_index.tolist(),
            "cu_window_seqlens_raw": [int(v) for v in cu_window],
            "cu_window_seqlens": cu_window_unique.tolist(),
            "cu_seqlens_full": cu_full.tolist(),
            "rotary_pos_ids_hw": torch.stack([freqs[:, 0], freqs[:, rotary_half]], dim=-1).round().long().tolist(),
            "merged_embeddings": per_image,
        }

    for name, _, _ in IMAGES:
        entries.append(describe([name]))
    entries.append(describe(["img_224x280.png", "img_56x56.png"]))
    return {
        "description": "Vision tower: window_index and cu_window_seqlens from visual.get_window_index(grid_thw) "
        "(raw list and after unique_consecutive, as forward uses it), full-attention cu_seqlens, the 2-D rotary "
        "position ids (h, w) per patch in patch order (before window reordering), and the merged image embeddings "
        "(visual(pixel_values, grid_thw), float32) per image.",
        "window_size": visual.window_size,
        "patch_size": visual.patch_size,
        "spatial_merge_size": merge,
        "fullatt_block_indexes": list(visual.fullatt_block_indexes),
        "entries": entries,
    }


def image_block(n_tokens):
    return [VISION_START] + [IMAGE_PAD] * n_tokens + [VISION_END]


def rope_index_section(model):
    rng = np.random.default_rng(CASE_SEED + 1)

    def words(n):
        return [int(v) for v in rng.integers(0, ORDINARY_IDS, size=n)]

    grids = [[1, 4, 4], [1, 8, 6], [1, 4, 4]]
    rows = [
        [IM_START] + words(2) + image_block(4) + words(3),
        [IM_START] + words(1) + image_block(12) + words(2) + image_block(4) + words(1),
        [IM_START] + words(6) + [IM_END],
    ]
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), ENDOFTEXT, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for b, row in enumerate(rows):
        ids[b, length - len(row):] = torch.tensor(row)
        mask[b, length - len(row):] = 1
    grid = torch.tensor(grids)
    pos, deltas = model.model.get_rope_index(ids, grid, None, attention_mask=mask)

    single_ids = torch.tensor([rows[0]])
    single_pos, single_deltas = model.model.get_rope_index(single_ids, grid[:1], None, attention_mask=None)

    text_rows = [[IM_START] + words(3), [IM_START] + words(6) + [IM_END]]
    tlen = max(len(r) for r in text_rows)
    tids = torch.full((2, tlen), ENDOFTEXT, dtype=torch.long)
    tmask = torch.zeros((2, tlen), dtype=torch.long)
    for b, row in enumerate(text_rows):
        tids[b, tlen - len(row):] = torch.tensor(row)
        tmask[b, tlen - len(row):] = 1
    tpos, tdeltas = model.model.get_rope_index(tids, None, None, attention_mask=tmask)
    return {
        "description": "model.model.get_rope_index(input_ids, image_grid_thw, video_grid_thw=None, attention_mask). "
        "position_ids are [3][batch][length] (temporal, height, width); padded positions hold 1 as the library "
        "fills them. rope_deltas are [batch][1] = max position + 1 - padded length.",
        "left_padded_batch": {
            "rows": "0: text + one image (4 tokens); 1: text + two images (12 and 4 tokens); 2: text only",
            "input_ids": ids.tolist(),
            "attention_mask": mask.tolist(),
            "image_grid_thw": grids,
            "position_ids": pos.tolist(),
            "rope_deltas": deltas.tolist(),
        },
        "single_row_no_mask": {
            "input_ids": single_ids.tolist(),
            "image_grid_thw": grids[:1],
            "position_ids": single_pos.tolist(),
            "rope_deltas": single_deltas.tolist(),
        },
        "text_only_left_padded_no_grid": {
            "input_ids": tids.tolist(),
            "attention_mask": tmask.tolist(),
            "position_ids": tpos.tolist(),
            "rope_deltas": tdeltas.tolist(),
        },
    }


# ---------------------------------------------------------------------------------------------
# Cases


def image_tokens(ref, image_dir, name):
    _, grid = pixel_inputs(ref, image_dir, [name])
    t, h, w = grid[0].tolist()
    return t * h * w // 4


def default_cases(ref, image_dir):
    rng = np.random.default_rng(CASE_SEED)

    def words(n):
        return [int(v) for v in rng.integers(0, ORDINARY_IDS, size=n)]

    specs = [
        ("single_56x56", ["img_56x56.png"]),
        ("single_84x112", ["img_84x112.png"]),
        ("single_224x280", ["img_224x280.png"]),
        ("single_100x75_resized", ["img_100x75.png"]),
        ("two_images", ["img_224x280.png", "img_56x56.png"]),
        ("text_only", []),
    ]
    cases = []
    for case_id, names in specs:
        prompt = [IM_START] + words(3)
        for name in names:
            prompt += image_block(image_tokens(ref, image_dir, name)) + words(2)
        prompt += words(4 if names else 10) + [IM_END, IM_START] + words(2)
        completion = words(int(rng.integers(8, 17)))
        cases.append({"id": case_id, "images": names, "prompt_ids": prompt, "completion_ids": completion})
    return {
        "description": "Inputs for expected.json. prompt_ids contain one <|vision_start|> + N x <|image_pad|> + "
        "<|vision_end|> block per image (N = that image's token count), in the order of 'images' (file names "
        "under images/). completion_ids are scored after the prompt.",
        "cases": cases,
    }


def resolve_image(image_dir, name):
    for candidate in (name, os.path.join(image_dir, name)):
        if os.path.isfile(candidate):
            return candidate
    raise SystemExit(f"image {name!r} not found (looked in {image_dir})")


def validate_case(ref, image_dir, case):
    for key in ("id", "images", "prompt_ids", "completion_ids"):
        if key not in case:
            raise SystemExit(f"case {case.get('id')!r}: missing {key!r}")
    ids = list(case["prompt_ids"]) + list(case["completion_ids"])
    if not case["completion_ids"]:
        raise SystemExit(f"case {case['id']!r}: completion_ids is empty")
    if any(not 0 <= int(t) < VOCAB_SIZE for t in ids):
        raise SystemExit(f"case {case['id']!r}: token id outside [0, {VOCAB_SIZE})")
    if IMAGE_PAD in case["completion_ids"]:
        raise SystemExit(f"case {case['id']!r}: <|image_pad|> in completion_ids")
    expected = sum(image_tokens(ref, image_dir, n) for n in case["images"])
    actual = sum(1 for t in case["prompt_ids"] if t == IMAGE_PAD)
    if expected != actual:
        raise SystemExit(f"case {case['id']!r}: {actual} <|image_pad|> tokens but the images need {expected}")


def forward_logits(model, ids, mask, pixels, grid):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, pixel_values=pixels, image_grid_thw=grid, use_cache=False)
    return out.logits.float()


def score_case(ref, model, image_dir, case):
    pixels, grid = pixel_inputs(ref, image_dir, case["images"])
    prompt, completion = list(case["prompt_ids"]), list(case["completion_ids"])
    ids = torch.tensor([prompt + completion])
    logits = forward_logits(model, ids, torch.ones_like(ids), pixels, grid)[0]
    logp = torch.log_softmax(logits, dim=-1)
    p = len(prompt)
    logprobs = [logp[p - 1 + j, tok] for j, tok in enumerate(completion)]
    return torch.stack(logprobs), logits[p - 1, :16], grid


def greedy(ref, model, image_dir, case):
    pixels, grid = pixel_inputs(ref, image_dir, case["images"])
    seq = list(case["prompt_ids"])
    out = []
    for _ in range(GREEDY_TOKENS):
        ids = torch.tensor([seq])
        logits = forward_logits(model, ids, torch.ones_like(ids), pixels, grid)[0, -1]
        nxt = int(torch.argmax(logits))
        out.append(nxt)
        seq.append(nxt)
        if nxt == IM_END:
            break
    return out


def score_batch(ref, model, image_dir, cases):
    rows = [list(c["prompt_ids"]) + list(c["completion_ids"]) for c in cases]
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), ENDOFTEXT, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for b, row in enumerate(rows):
        ids[b, length - len(row):] = torch.tensor(row)
        mask[b, length - len(row):] = 1
    names = [n for c in cases for n in c["images"]]
    pixels, grid = pixel_inputs(ref, image_dir, names)
    logits = forward_logits(model, ids, mask, pixels, grid)
    logp = torch.log_softmax(logits, dim=-1)
    results = []
    for b, case in enumerate(cases):
        offset = length - len(rows[b])
        p = len(case["prompt_ids"])
        lp = torch.stack([logp[b, offset + p - 1 + j, tok] for j, tok in enumerate(case["completion_ids"])])
        results.append((lp, logits[b, offset + p - 1, :16], offset))
    return results, length


def expected_section(ref, model, sharded_model, image_dir, cases_doc, cases_sha):
    cases = cases_doc["cases"]
    batch, batch_length = score_batch(ref, model, image_dir, cases)
    out = []
    worst_batch = 0.0
    for case, (blp, bhead, pad) in zip(cases, batch):
        lp, head, grid = score_case(ref, model, image_dir, case)
        slp, shead, _ = score_case(ref, sharded_model, image_dir, case)
        if not (torch.equal(lp, slp) and torch.equal(head, shead)):
            raise SystemExit(f"case {case['id']}: tiny-sharded/ differs from tiny/ "
                             f"(max {float((lp - slp).abs().max())})")
        diff = float((lp - blp).abs().max())
        worst_batch = max(worst_batch, diff)
        ids = greedy(ref, model, image_dir, case)
        out.append({
            "id": case["id"],
            "images": list(case["images"]),
            "image_grid_thw": grid.tolist() if grid is not None else [],
            "prompt_length": len(case["prompt_ids"]),
            "completion_length": len(case["completion_ids"]),
            "logprobs": f32_list(lp),
            "logprobs_sum": f64(lp.double().sum()),
            "last_logits_head": f32_list(head),
            "greedy_ids": ids,
            "greedy_stopped_at_im_end": bool(ids and ids[-1] == IM_END),
            "greedy_contains_endoftext": ENDOFTEXT in ids,
            "sharded_logprobs": f32_list(slp),
            "batch_left_padding": pad,
            "batch_logprobs": f32_list(blp),
            "batch_last_logits_head": f32_list(bhead),
            "batch_max_abs_diff": diff,
        })
    return {
        "description": "Reference results of tiny/ (float32, eager attention). logprobs[j] = natural log-softmax "
        "(temperature 1) of completion_ids[j] given prompt_ids + completion_ids[:j], from one forward pass over "
        "prompt + completion. last_logits_head = logits[0:16] at the last prompt position. greedy_ids = 12 argmax "
        "tokens, one full forward pass (no cache) per token, stopping early only after <|im_end|> (1002, included). "
        "sharded_logprobs: the same from tiny-sharded/ (checked equal). batch_*: all cases in one left-padded batch "
        "(pad id 1000, attention_mask 0 on padding, images concatenated in case order); batch_left_padding = pad "
        "tokens before the row.",
        "cases_sha256": cases_sha,
        "dtype": "float32",
        "attention": "eager",
        "pad_id": ENDOFTEXT,
        "batch_length": batch_length,
        "batch_max_abs_diff": worst_batch,
        "cases": out,
    }


# ---------------------------------------------------------------------------------------------
# Parameter counts of the published configurations (modules built on the meta device).

PUBLISHED_CONFIGS = {
    "Qwen2.5-VL-3B-Instruct": {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
        "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654,
        "image_token_id": 151655, "video_token_id": 151656, "hidden_act": "silu", "hidden_size": 2048,
        "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 128000,
        "max_window_layers": 70, "model_type": "qwen2_5_vl", "num_attention_heads": 16, "num_hidden_layers": 36,
        "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
        "tie_word_embeddings": True, "torch_dtype": "bfloat16", "use_cache": True, "use_sliding_window": False,
        "vision_config": {"depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
                          "num_heads": 16, "in_chans": 3, "out_hidden_size": 2048, "patch_size": 14,
                          "spatial_merge_size": 2, "spatial_patch_size": 14, "window_size": 112,
                          "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2,
                          "temporal_patch_size": 2},
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        "vocab_size": 151936,
    },
    "Qwen2.5-VL-7B-Instruct": {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
        "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654,
        "image_token_id": 151655, "video_token_id": 151656, "hidden_act": "silu", "hidden_size": 3584,
        "initializer_range": 0.02, "intermediate_size": 18944, "max_position_embeddings": 128000,
        "max_window_layers": 28, "model_type": "qwen2_5_vl", "num_attention_heads": 28, "num_hidden_layers": 28,
        "num_key_value_heads": 4, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "use_cache": True, "use_sliding_window": False,
        "vision_config": {"depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
                          "num_heads": 16, "in_chans": 3, "out_hidden_size": 3584, "patch_size": 14,
                          "spatial_merge_size": 2, "spatial_patch_size": 14, "window_size": 112,
                          "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2,
                          "temporal_patch_size": 2},
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        "vocab_size": 152064,
    },
}


class _MetaModules:
    """Within the block, nn.Linear / nn.Embedding / nn.Conv3d allocate their parameters on the meta device."""

    def __enter__(self):
        self.saved = []
        for cls in (torch.nn.Linear, torch.nn.Embedding, torch.nn.Conv3d):
            original = cls.__init__

            def init(module, *args, _original=original, **kwargs):
                kwargs.setdefault("device", "meta")
                _original(module, *args, **kwargs)

            self.saved.append((cls, original))
            cls.__init__ = init
        return self

    def __exit__(self, *exc):
        for cls, original in self.saved:
            cls.__init__ = original


def count_parameters(ref, cfg_dict):
    with _MetaModules():
        model = ref.build(cfg_dict)
    tie = bool(model.config.get_text_config().tie_word_embeddings)
    if tie:
        model.lm_head.weight = model.get_input_embeddings().weight

    def n(module):
        return sum(p.numel() for p in module.parameters())

    visual, text = model.model.visual, model.model.language_model
    unique = sum(p.numel() for p in model.parameters())  # parameters() yields a shared tensor once
    separate_head = n(model.model) + model.lm_head.weight.numel()
    return {
        "vision": {
            "patch_embed": n(visual.patch_embed),
            "per_block": n(visual.blocks[0]),
            "blocks": n(visual.blocks),
            "merger": n(visual.merger),
            "merger_mlp": n(visual.merger.mlp),
            "total": n(visual),
        },
        "text": {
            "embed_tokens": n(text.embed_tokens),
            "per_layer": n(text.layers[0]),
            "layers": n(text.layers),
            "norm": n(text.norm),
            "total": n(text),
        },
        "lm_head": model.lm_head.weight.numel(),
        "tie_word_embeddings": tie,
        "total_unique": unique,
        "total_counting_lm_head_separately": separate_head,
        "bf16_bytes_of_unique_parameters": 2 * unique,
    }


def parameter_section(ref):
    out = {
        "description": "Parameter counts of Qwen2_5_VLForConditionalGeneration built from the published "
        "config.json values (modules created on the meta device, nothing allocated). total_unique counts a tied "
        "lm_head once.",
        "configs_source": "config.json of Qwen/Qwen2.5-VL-3B-Instruct and Qwen/Qwen2.5-VL-7B-Instruct as published "
        "with the models (the values reproduced in 'config' below; vision fields the published files leave out "
        "take the configuration class defaults, which equal the values shown).",
        "models": {},
    }
    for name, cfg in PUBLISHED_CONFIGS.items():
        out["models"][name] = {"config": cfg, "counts": count_parameters(ref, cfg)}
    out["models"]["tiny"] = {"config": flat_config(True), "counts": count_parameters(ref, flat_config(True))}
    out["published_cross_checks"] = {
        "Qwen2.5-VL-3B-Instruct module table": {
            "note": "per-module parameter counts from a public model-structure dump of Qwen/Qwen2.5-VL-3B-Instruct "
            "(torchinfo table)",
            "patch_embed_conv3d": 1505280,
            "vision_block": 19702200,
            "merger_mlp": 36707328,
            "decoder_layer": 77076992,
        },
    }
    out["published_cross_checks"]["Qwen2.5-VL-7B-Instruct component summary"] = {
        "note": "a public parameter analysis of the loaded Qwen/Qwen2.5-VL-7B-Instruct checkpoint, rounded as printed",
        "vision_encoder": "676.55M",
        "lm_head (other components)": "545.00M",
        "total": "8.29B",
    }
    got7 = out["models"]["Qwen2.5-VL-7B-Instruct"]["counts"]
    out["published_cross_checks"]["Qwen2.5-VL-7B-Instruct component summary"]["matches"] = (
        round(got7["vision"]["total"] / 1e6, 2) == 676.55
        and round(got7["lm_head"] / 1e6, 2) == 545.00
        and round(got7["total_unique"] / 1e9, 2) == 8.29
    )
    checks = out["published_cross_checks"]["Qwen2.5-VL-3B-Instruct module table"]
    got = out["models"]["Qwen2.5-VL-3B-Instruct"]["counts"]
    checks["matches"] = (
        got["vision"]["patch_embed"] == checks["patch_embed_conv3d"]
        and got["vision"]["per_block"] == checks["vision_block"]
        and got["vision"]["merger_mlp"] == checks["merger_mlp"]
        and got["text"]["per_layer"] == checks["decoder_layer"]
    )
    return out


# ---------------------------------------------------------------------------------------------


def sha256_file(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transformers", required=True, help="partial checkout of the library sources")
    parser.add_argument("--out", required=True, help="fixture folder, e.g. tests/fixtures/qwen2_5_vl")
    parser.add_argument("--cases", help="cases.json to score (default: generate the default cases)")
    parser.add_argument("--tokenizer-dir", help="copy these tokenizer files into tiny/ and tiny-sharded/")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    torch.set_num_threads(1)
    ref = Reference(args.transformers)
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)

    image_dir = write_images(out_dir)
    tiny_dir, sharded_dir = write_checkpoints(ref, out_dir, args.tokenizer_dir)
    model, tiny_report = ref.load(tiny_dir)
    sharded_model, sharded_report = ref.load(sharded_dir)

    write_json(os.path.join(out_dir, "image_processor.json"), image_processor_section(ref, image_dir))
    write_json(os.path.join(out_dir, "smart_resize.json"), smart_resize_section(ref))
    write_json(os.path.join(out_dir, "vision.json"), vision_section(ref, model, image_dir))
    write_json(os.path.join(out_dir, "rope_index.json"), rope_index_section(model))

    cases_path = os.path.join(out_dir, "cases.json")
    if args.cases:
        with open(args.cases, encoding="utf-8") as fh:
            cases_doc = json.load(fh)
    else:
        cases_doc = default_cases(ref, image_dir)
    for case in cases_doc["cases"]:
        validate_case(ref, image_dir, case)
    if not args.cases:
        write_json(cases_path, cases_doc)
    elif os.path.abspath(args.cases) != cases_path:
        shutil.copyfile(args.cases, cases_path)
    expected = expected_section(ref, model, sharded_model, image_dir, cases_doc, sha256_file(cases_path))
    expected["checkpoints"] = {"tiny": tiny_report, "tiny-sharded": sharded_report}
    expected["sources"] = SOURCE_COMMITS
    write_json(os.path.join(out_dir, "expected.json"), expected)
    write_json(os.path.join(out_dir, "parameter_counts.json"), parameter_section(ref))

    total = 0
    for root, _, files in os.walk(out_dir):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    print(f"wrote {out_dir} ({total / 1024:.0f} KiB)")
    first = expected["cases"][0]
    print(f"case {first['id']}: first logprobs {first['logprobs'][:3]}, greedy {first['greedy_ids']}")


if __name__ == "__main__":
    main()
