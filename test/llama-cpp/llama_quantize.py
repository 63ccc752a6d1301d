"""llama.cpp's own quantizer (llama_model_quantize from node-llama-cpp's libllama), for tests.

    python3 llama_quantize.py LIB_DIR IN.gguf OUT.gguf FTYPE

FTYPE is llama.cpp's llama_ftype number (2 Q4_0, 7 Q8_0, 15 Q4_K_M). No importance matrix, default options,
as `llama-quantize IN OUT TYPE` runs it.
"""
import ctypes
import sys

lib_dir, source, target, ftype = sys.argv[1:5]


class QuantizeParams(ctypes.Structure):
    # include/llama.h's llama_model_quantize_params of the llama.cpp release node-llama-cpp 3.21.1 ships.
    _fields_ = [
        ("nthread", ctypes.c_int32),
        ("ftype", ctypes.c_int),
        ("output_tensor_type", ctypes.c_int),
        ("token_embedding_type", ctypes.c_int),
        ("allow_requantize", ctypes.c_bool),
        ("quantize_output_tensor", ctypes.c_bool),
        ("only_copy", ctypes.c_bool),
        ("pure", ctypes.c_bool),
        ("keep_split", ctypes.c_bool),
        ("dry_run", ctypes.c_bool),
        ("imatrix", ctypes.c_void_p),
        ("kv_overrides", ctypes.c_void_p),
        ("tt_overrides", ctypes.c_void_p),
        ("prune_layers", ctypes.c_void_p),
        ("max_buf_size", ctypes.c_size_t),
    ]


for name in ["libggml-base.so", "libggml.v0.4.0.so", "libllama.v0.4.0.so"]:
    ctypes.CDLL(f"{lib_dir}/{name}", mode=ctypes.RTLD_GLOBAL)
llama = ctypes.CDLL(f"{lib_dir}/libllama.v0.4.0.so")
llama.llama_model_quantize_default_params.restype = QuantizeParams
llama.llama_model_quantize.restype = ctypes.c_uint32
llama.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(QuantizeParams)]
llama.llama_backend_init()
params = llama.llama_model_quantize_default_params()
params.ftype = int(ftype)
params.nthread = 1
status = llama.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params))
sys.exit(status)
