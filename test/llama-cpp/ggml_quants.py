"""llama.cpp's own quantizer and dequantizer, from the libggml-base.so that node-llama-cpp ships, for tests.

    python3 ggml_quants.py LIB_DIR TYPE ROWS COLUMNS IN.f32 OUT.bin OUT.f32

Quantizes ROWS x COLUMNS float32 values with ggml_quantize_chunk (what llama-quantize calls, without an
importance matrix) into OUT.bin, and dequantizes OUT.bin with dequantize_row_<type> into OUT.f32.
"""
import ctypes
import sys

TYPE_IDS = {"Q4_0": 2, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14}

lib_dir, type_name, rows, columns, in_path, out_path, dequantized_path = sys.argv[1:8]
rows, columns = int(rows), int(columns)
ggml = ctypes.CDLL(f"{lib_dir}/libggml-base.so")
ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                     ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
dequantize = getattr(ggml, f"dequantize_row_{type_name[:-1].lower() + type_name[-1]}")
dequantize.restype = None
dequantize.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]

with open(in_path, "rb") as f:
    source = f.read()
count = rows * columns
assert len(source) == 4 * count, "input size does not match ROWS x COLUMNS float32 values"
src = ctypes.create_string_buffer(source, len(source))
dst = ctypes.create_string_buffer(len(source) * 2)
size = ggml.ggml_quantize_chunk(TYPE_IDS[type_name], src, dst, 0, rows, columns, None)
back = ctypes.create_string_buffer(4 * count)
dequantize(dst, back, count)
with open(out_path, "wb") as f:
    f.write(dst.raw[:size])
with open(dequantized_path, "wb") as f:
    f.write(back.raw)
