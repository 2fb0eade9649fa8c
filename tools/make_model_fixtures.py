#!/usr/bin/env python3
"""Writes the tiny random-weight checkpoints and PyTorch reference outputs that
examples/08_gpt2.c, 09_llama.c and 10_cnn.c check themselves against (examples/data/).

Run by hand (Debian's python3-torch; CI only reads the committed files):
    /usr/bin/python3 tools/make_model_fixtures.py   (Debian's interpreter, where python3-torch lives)
The models are written here in plain torch (no transformers), from their papers' and the
reference implementations' definitions: GPT-2 (pre-norm, tanh GELU, tied embeddings), a
Llama (RMSNorm, half-split rotary embedding, grouped-query attention, SwiGLU; bf16 weights)
and a small ResNet-style CNN (conv / batch norm / ReLU / max pool / residual / average pool).
Files are safetensors, written by the small writer below (the safetensors package is not
in Debian)."""
import json
import math
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data")
DT = {torch.float32: "F32", torch.bfloat16: "BF16", torch.int64: "I64", torch.uint8: "U8", torch.float16: "F16"}


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (contiguous, little-endian machine)."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def greedy_margin(logits):
    """How far the chosen token's logit is above the runner-up's: a tie would make the
    greedy ids a test of rounding."""
    top = torch.topk(logits, 2).values
    return float(top[0] - top[1])


def load_safetensors(path):
    """The tensors of a safetensors file (as this script writes them), and its metadata."""
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    np_dt = {"F32": np.float32, "F16": np.float16, "BF16": np.int16, "I64": np.int64, "U8": np.uint8}
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np_dt[e["dtype"]]).reshape(e["shape"]).copy()
        t = torch.from_numpy(arr)
        out[name] = t.view(torch.bfloat16) if e["dtype"] == "BF16" else t
    return out, meta


def attention(q, k, v, causal_offset):
    """q [H, T, hd], k/v [H, S, hd]; query t sees keys <= t + causal_offset."""
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    T, S = s.shape[-2], s.shape[-1]
    mask = torch.arange(S)[None, :] <= torch.arange(T)[:, None] + causal_offset
    s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1) @ v


# ---- GPT-2 ----
def gpt2_forward(w, cfg, ids):
    T = len(ids)
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]
    H, D = cfg["n_head"], cfg["d"]
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        a = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (t.reshape(T, H, D // H).transpose(0, 1) for t in qkv.split(D, -1))
        o = attention(q, k, v, 0).transpose(0, 1).reshape(T, D)
        x = x + o @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
        h = torch.nn.functional.gelu(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = torch.nn.functional.layer_norm(x, (D,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
    return x @ w["wte.weight"].T


def make_gpt2():
    g = torch.Generator().manual_seed(1)
    cfg = dict(vocab=64, n_ctx=96, d=32, n_head=4, n_layer=2)
    V, P, D = cfg["vocab"], cfg["n_ctx"], cfg["d"]

    def r(*shape, s=0.2):
        return torch.randn(*shape, generator=g) * s

    w = {"wte.weight": r(V, D, s=0.5), "wpe.weight": r(P, D, s=0.5)}
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        w[p + "ln_1.weight"] = 1 + r(D, s=0.1)
        w[p + "ln_1.bias"] = r(D, s=0.1)
        w[p + "attn.c_attn.weight"] = r(D, 3 * D, s=0.3)
        w[p + "attn.c_attn.bias"] = r(3 * D, s=0.05)
        w[p + "attn.c_proj.weight"] = r(D, D)
        w[p + "attn.c_proj.bias"] = r(D, s=0.05)
        w[p + "ln_2.weight"] = 1 + r(D, s=0.1)
        w[p + "ln_2.bias"] = r(D, s=0.1)
        w[p + "mlp.c_fc.weight"] = r(D, 4 * D)
        w[p + "mlp.c_fc.bias"] = r(4 * D, s=0.05)
        w[p + "mlp.c_proj.weight"] = r(4 * D, D)
        w[p + "mlp.c_proj.bias"] = r(D, s=0.05)
    w["ln_f.weight"] = 1 + r(D, s=0.1)
    w["ln_f.bias"] = r(D, s=0.1)
    prompt = [3, 17, 42, 8, 25]
    ids = list(prompt)
    with torch.no_grad():
        prefill = gpt2_forward(w, cfg, ids)
        margin = 1e9
        for _ in range(16):   # greedy, recomputing the whole sequence each step
            last_row = gpt2_forward(w, cfg, ids)[-1]
            margin = min(margin, greedy_margin(last_row))
            ids.append(int(last_row.argmax()))
        print("gpt2: greedy", ids[len(prompt):], "smallest margin %.3g" % margin)
        last = gpt2_forward(w, cfg, ids[:-1])[-1]
    save_safetensors(os.path.join(OUT, "gpt2_tiny.safetensors"), w, {"format": "pt", "n_head": cfg["n_head"]})
    save_safetensors(os.path.join(OUT, "gpt2_tiny_ref.safetensors"),
                     {"prompt": torch.tensor(prompt), "prefill_logits": prefill, "greedy": torch.tensor(ids[len(prompt):]),
                      "last_logits": last})


# ---- Llama ----
def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope_half(x, pos, theta):
    """x [H, T, hd]: the pairs (i, i + hd/2), as Llama's rotate_half."""
    hd = x.shape[-1]
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = pos.double()[:, None] * inv[None, :]
    cos, sin = torch.cos(ang).float(), torch.sin(ang).float()
    a, b = x[..., : hd // 2], x[..., hd // 2:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)


def llama_forward(w, cfg, ids):
    T = len(ids)
    H, Hk, D = cfg["n_head"], cfg["n_kv_head"], cfg["d"]
    hd = D // H
    pos = torch.arange(T)
    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["n_layer"]):
        p = "model.layers.%d." % i
        a = rms_norm(x, w[p + "input_layernorm.weight"], cfg["eps"])
        q = (a @ w[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd).transpose(0, 1)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).reshape(T, Hk, hd).transpose(0, 1)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).reshape(T, Hk, hd).transpose(0, 1)
        q, k = rope_half(q, pos, cfg["theta"]), rope_half(k, pos, cfg["theta"])
        k, v = k.repeat_interleave(H // Hk, 0), v.repeat_interleave(H // Hk, 0)
        o = attention(q, k, v, 0).transpose(0, 1).reshape(T, D)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg["eps"])
        g_ = m @ w[p + "mlp.gate_proj.weight"].T
        u = m @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g_) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], cfg["eps"])
    return x @ w["lm_head.weight"].T


def make_llama():
    g = torch.Generator().manual_seed(5678)
    cfg = dict(vocab=64, d=32, n_head=4, n_kv_head=2, n_layer=2, ffn=64, theta=10000.0, eps=1e-5)
    V, D, F = cfg["vocab"], cfg["d"], cfg["ffn"]
    hd = D // cfg["n_head"]

    def r(*shape, s=0.2):
        return (torch.randn(*shape, generator=g) * s).to(torch.bfloat16)

    w = {"model.embed_tokens.weight": r(V, D, s=0.5), "model.norm.weight": (1 + r(D, s=0.1).float()).to(torch.bfloat16),
         "lm_head.weight": r(V, D, s=0.3)}
    for i in range(cfg["n_layer"]):
        p = "model.layers.%d." % i
        w[p + "input_layernorm.weight"] = (1 + r(D, s=0.1).float()).to(torch.bfloat16)
        w[p + "self_attn.q_proj.weight"] = r(cfg["n_head"] * hd, D)
        w[p + "self_attn.k_proj.weight"] = r(cfg["n_kv_head"] * hd, D)
        w[p + "self_attn.v_proj.weight"] = r(cfg["n_kv_head"] * hd, D)
        w[p + "self_attn.o_proj.weight"] = r(D, cfg["n_head"] * hd)
        w[p + "post_attention_layernorm.weight"] = (1 + r(D, s=0.1).float()).to(torch.bfloat16)
        w[p + "mlp.gate_proj.weight"] = r(F, D)
        w[p + "mlp.up_proj.weight"] = r(F, D)
        w[p + "mlp.down_proj.weight"] = r(D, F)
    wf = {k: v.float() for k, v in w.items()}   # computed in f32 from the bf16 values
    prompt = [1, 9, 33, 12]
    ids = list(prompt)
    with torch.no_grad():
        prefill = llama_forward(wf, cfg, ids)
        margin = 1e9
        for _ in range(12):
            last_row = llama_forward(wf, cfg, ids)[-1]
            margin = min(margin, greedy_margin(last_row))
            ids.append(int(last_row.argmax()))
        print("llama: greedy", ids[len(prompt):], "smallest margin %.3g" % margin)
    meta = {"format": "pt", "n_head": cfg["n_head"], "n_kv_head": cfg["n_kv_head"], "rope_theta": cfg["theta"], "rms_norm_eps": cfg["eps"]}
    save_safetensors(os.path.join(OUT, "llama_tiny.safetensors"), w, meta)
    save_safetensors(os.path.join(OUT, "llama_tiny_ref.safetensors"),
                     {"prompt": torch.tensor(prompt), "prefill_logits": prefill, "greedy": torch.tensor(ids[len(prompt):])})


# ---- CNN ----
def bn(x, w, p):
    return torch.nn.functional.batch_norm(x, w[p + ".running_mean"], w[p + ".running_var"], w[p + ".weight"], w[p + ".bias"], False, 0.0, 1e-5)


def cnn_forward(w, img):
    x = (img.float() / 255 - 0.5) / 0.25
    x = torch.relu(bn(torch.nn.functional.conv2d(x, w["conv1.weight"], None, 1, 1), w, "bn1"))
    x = torch.nn.functional.max_pool2d(x, 2)
    y = torch.relu(bn(torch.nn.functional.conv2d(x, w["block.conv_a.weight"], None, 1, 1), w, "block.bn_a"))
    y = bn(torch.nn.functional.conv2d(y, w["block.conv_b.weight"], None, 1, 1), w, "block.bn_b")
    x = torch.relu(x + y)
    x = torch.relu(bn(torch.nn.functional.conv2d(x, w["down.conv.weight"], None, 2, 1), w, "down.bn"))
    x = torch.nn.functional.avg_pool2d(x, 2)
    x = x.mean((2, 3))
    return x @ w["fc.weight"].T + w["fc.bias"]


def make_cnn():
    g = torch.Generator().manual_seed(91011)

    def r(*shape, s=0.3):
        return torch.randn(*shape, generator=g) * s

    w = {"conv1.weight": r(8, 3, 3, 3), "block.conv_a.weight": r(8, 8, 3, 3, s=0.15), "block.conv_b.weight": r(8, 8, 3, 3, s=0.15),
         "down.conv.weight": r(16, 8, 3, 3, s=0.15), "fc.weight": r(10, 16), "fc.bias": r(10, s=0.1)}
    for p, c in (("bn1", 8), ("block.bn_a", 8), ("block.bn_b", 8), ("down.bn", 16)):
        w[p + ".weight"] = 1 + r(c, s=0.1)
        w[p + ".bias"] = r(c, s=0.1)
        w[p + ".running_mean"] = r(c, s=0.2)
        w[p + ".running_var"] = 0.5 + torch.rand(c, generator=g)
    img = torch.randint(0, 256, (4, 3, 16, 16), generator=g, dtype=torch.uint8)
    with torch.no_grad():
        logits = cnn_forward(w, img)
    save_safetensors(os.path.join(OUT, "cnn_tiny.safetensors"), w, {"format": "pt"})
    save_safetensors(os.path.join(OUT, "cnn_tiny_ref.safetensors"), {"images": img, "logits": logits})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_gpt2()
    make_llama()
    make_cnn()
    print("wrote", sorted(os.listdir(OUT)))
