#!/usr/bin/env python3
"""lazybk against PyTorch eager on the same machine, in the same run (issue 15's table):
an embedding lookup at GPT-2's vocabulary, a 3x3 conv2d of a ResNet stage, the forwards of
the three example models (examples/08_gpt2.c, 09_llama.c, 10_cnn.c on their tiny
checkpoints) and greedy decoding with a KV cache, at 1 and 2 threads.

lazybk's side is build/bench/libbench_models.so (benchmarks/models/*.c: the examples'
own model code, built -O2 without -march as users build lazybk), called through ctypes;
PyTorch's side is the same models written in torch (tools/make_model_fixtures.py) on the
same weights. The two alternate, five rounds a case, each round the median of its own
repetitions; the line gives the medians and their ratio (below 1: lazybk is faster).
Run by `make bench` with Debian's interpreter; without python3-torch it says so and stops."""
import ctypes
import math
import os
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.chdir(ROOT)
try:
    import torch
except ImportError:
    print("bench_torch: skipped: PyTorch is not installed (apt-get install python3-torch, then /usr/bin/python3 benchmarks/bench_torch.py)")
    sys.exit(0)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_model_fixtures as mf  # noqa: E402

LIB = ctypes.CDLL(os.path.join(ROOT, "build", "bench", "libbench_models.so"))
for fn in ("bench_gpt2_forward", "bench_gpt2_decode", "bench_llama_forward", "bench_cnn_forward", "bench_embedding", "bench_conv2d",
           "bench_embedding_memcpy"):
    getattr(LIB, fn).restype = ctypes.c_double
REPS, ROUNDS, T = 15, 5, 32


def timed(fn, reps=REPS):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def gpt2_decode_torch(w, cfg, steps):
    """Greedy decoding with a KV cache, one token a step, as a user writes it in torch."""
    H, D, P = cfg["n_head"], cfg["d"], cfg["n_ctx"]
    hd = D // H
    caches = [(torch.zeros(H, P, hd), torch.zeros(H, P, hd)) for _ in range(cfg["n_layer"])]

    def step(tok, pos):
        x = w["wte.weight"][tok:tok + 1] + w["wpe.weight"][pos:pos + 1]
        for i in range(cfg["n_layer"]):
            p = "h.%d." % i
            kc, vc = caches[i]
            a = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
            q, k, v = (t.reshape(1, H, hd).transpose(0, 1) for t in (a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]).split(D, -1))
            kc[:, pos:pos + 1] = k
            vc[:, pos:pos + 1] = v
            s = torch.softmax(q @ kc[:, :pos + 1].transpose(-1, -2) / math.sqrt(hd), -1)
            x = x + (s @ vc[:, :pos + 1]).transpose(0, 1).reshape(1, D) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            m = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
            h = torch.nn.functional.gelu(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
            x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        x = torch.nn.functional.layer_norm(x, (D,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
        return int((x @ w["wte.weight"].T)[0].argmax())

    tok = step(1, 0)
    t0 = time.perf_counter()
    for s in range(steps):
        tok = step(tok, 1 + s)
    return (time.perf_counter() - t0) * 1e3 / steps


def main():
    torch.manual_seed(0)
    g2, g2meta = mf.load_safetensors("examples/data/gpt2_tiny.safetensors")
    g2cfg = dict(vocab=g2["wte.weight"].shape[0], n_ctx=g2["wpe.weight"].shape[0], d=g2["wte.weight"].shape[1],
                 n_head=int(g2meta["n_head"]), n_layer=sum(1 for k in g2 if k.endswith("ln_1.weight")))
    ll, llmeta = mf.load_safetensors("examples/data/llama_tiny.safetensors")
    llw = {k: v.float() for k, v in ll.items()}
    llcfg = dict(d=ll["model.embed_tokens.weight"].shape[1], n_head=int(llmeta["n_head"]), n_kv_head=int(llmeta["n_kv_head"]),
                 n_layer=sum(1 for k in ll if k.endswith("input_layernorm.weight")), theta=float(llmeta["rope_theta"]),
                 eps=float(llmeta["rms_norm_eps"]))
    cw, _ = mf.load_safetensors("examples/data/cnn_tiny.safetensors")
    cref, _ = mf.load_safetensors("examples/data/cnn_tiny_ref.safetensors")
    table = torch.rand(50257, 768) * 2 - 1
    ids = torch.randint(0, 50257, (128,))
    x = torch.rand(1, 64, 56, 56) * 2 - 1
    cw3 = torch.rand(64, 64, 3, 3) * 2 - 1
    cb = torch.rand(64) * 2 - 1
    g2ids = [(i * 7 + 3) % g2cfg["vocab"] for i in range(T)]
    llids = [(i * 5 + 1) % ll["model.embed_tokens.weight"].shape[0] for i in range(T)]
    cases = [
        ("P11 embedding 128 ids of 50257x768", lambda th: LIB.bench_embedding(th, REPS),
         lambda: timed(lambda: torch.nn.functional.embedding(ids, table))),
        ("P12 conv2d 3x3 64->64 56x56", lambda th: LIB.bench_conv2d(th, REPS),
         lambda: timed(lambda: torch.nn.functional.conv2d(x, cw3, cb, padding=1))),
        ("P13 gpt2-tiny forward, %d tokens" % T, lambda th: LIB.bench_gpt2_forward(th, T, REPS),
         lambda: timed(lambda: mf.gpt2_forward(g2, g2cfg, g2ids))),
        ("P14 llama-tiny forward, %d tokens" % T, lambda th: LIB.bench_llama_forward(th, T, REPS),
         lambda: timed(lambda: mf.llama_forward(llw, llcfg, llids))),
        ("P15 cnn-tiny forward, 4 u8 images", lambda th: LIB.bench_cnn_forward(th, REPS),
         lambda: timed(lambda: mf.cnn_forward(cw, cref["images"]))),
        ("P16 gpt2-tiny decode, 64 tokens (per token)", lambda th: LIB.bench_gpt2_decode(th, 64, 5),
         lambda: statistics.median(gpt2_decode_torch(g2, g2cfg, 64) for _ in range(5))),
    ]
    print("lazybk vs PyTorch %s eager — %s — medians of %d rounds, alternated" % (torch.__version__, time.strftime("%Y-%m-%d"), ROUNDS))
    with torch.no_grad():
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for name, lbk, tch in cases:
                a, b = [], []
                for _ in range(ROUNDS):
                    a.append(lbk(threads))
                    b.append(tch())
                if min(a) < 0:
                    print("%s: lazybk's side failed" % name)
                    continue
                ml, mt = statistics.median(a), statistics.median(b)
                label = name if threads == 1 else name.replace(" ", " (2 threads) ", 1)
                print("%-50s lazybk %9.3f ms | PyTorch eager %9.3f ms  ratio %.2f" % (label, ml, mt, ml / mt))
                if name.startswith("P11"):   # the physical limit: memcpy of the same rows, alternated with lazybk
                    a, c = [], []
                    for _ in range(ROUNDS):
                        a.append(lbk(threads))
                        c.append(LIB.bench_embedding_memcpy(REPS))
                    ml, mc = statistics.median(a), statistics.median(c)
                    print("%-50s lazybk %9.3f ms | memcpy of the rows %7.3f ms  ratio %.2f" % ("P11 physical limit" if threads == 1 else "P11 (2 threads) physical limit", ml, mc, ml / mc))


if __name__ == "__main__":
    main()
