"""Minimal safetensors reader/writer (BF16 and F32 only).

File layout: 8-byte little-endian header length N, N bytes of JSON header
(name -> dtype, shape, [begin, end) byte offsets into the data block, plus an
optional "__metadata__" map), then the raw little-endian tensor data.
The header is padded with spaces to a multiple of 8 bytes.
"""

import json
import struct

import numpy as np


def f32_to_bf16_bits(values):
    """Round float32 values to bfloat16 (round to nearest, ties to even); returns uint16 bit patterns."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    if np.isnan(np.asarray(values, dtype=np.float32)).any():
        raise ValueError("NaN weights are not expected")
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def write(path, tensors, metadata=None):
    """tensors: name -> ("BF16", uint16 bits array) or ("F32", float32 array). Names are written sorted."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dtype, array = tensors[name]
        if dtype == "BF16":
            data = np.ascontiguousarray(array, dtype="<u2").tobytes()
        elif dtype == "F32":
            data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(encoded)))
        fh.write(encoded)
        for blob in blobs:
            fh.write(blob)
    return offset


def read(path):
    """Returns (name -> float32 numpy array, metadata)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length].decode("utf-8"))
    base = 8 + length
    metadata = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        chunk = raw[base + begin : base + end]
        if info["dtype"] == "BF16":
            values = bf16_bits_to_f32(np.frombuffer(chunk, dtype="<u2"))
        elif info["dtype"] == "F32":
            values = np.frombuffer(chunk, dtype="<f4").astype(np.float32)
        else:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        out[name] = values.reshape(info["shape"])
    return out, metadata
