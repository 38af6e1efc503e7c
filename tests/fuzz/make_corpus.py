#!/usr/bin/env python3
"""Writes the small seed corpora for the fuzz targets (run once; the output is committed)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def safetensors(header, data=b"", pad=True):
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def write(sub, name, blob):
    os.makedirs(os.path.join(HERE, "corpus", sub), exist_ok=True)
    with open(os.path.join(HERE, "corpus", sub, name), "wb") as f:
        f.write(blob)


write("safetensors", "empty", safetensors({}))
write("safetensors", "one_f32", safetensors(
    {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, struct.pack("<2f", 1.0, 2.0)))
write("safetensors", "mixed_with_metadata", safetensors(
    {"__metadata__": {"format": "pt", "epoch": "3"},
     "a": {"dtype": "F64", "shape": [1, 2], "data_offsets": [0, 16]},
     "b": {"dtype": "I64", "shape": [], "data_offsets": [16, 24]},
     "c": {"dtype": "U8", "shape": [3], "data_offsets": [24, 27]},
     "d": {"dtype": "BF16", "shape": [0, 5], "data_offsets": [27, 27]}},
    struct.pack("<2dq", 0.5, -1.0, 7) + b"\x01\x00\x01"))
write("safetensors", "unpadded_unsorted", safetensors(
    {"y": {"dtype": "I32", "shape": [1], "data_offsets": [2, 6]},
     "x": {"dtype": "I16", "shape": [1], "data_offsets": [0, 2]}}, b"\x01\x00\x02\x00\x00\x00", pad=False))
write("safetensors", "overlap", safetensors(
    {"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
     "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"abc"))
write("safetensors", "truncated", safetensors(
    {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\x00" * 7))

write("idx", "images", idx(0x08, [2, 2, 3], bytes(range(12))))
write("idx", "labels", idx(0x08, [4], bytes([9, 0, 0, 3])))
write("idx", "float_type", idx(0x0D, [1], b"\x00\x00\x80\x3f"))
write("idx", "truncated", idx(0x08, [2, 28, 28], b"\x00" * 100))
