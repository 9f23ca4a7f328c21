"""Which operation's bits depend on which kernel switch: the smoke TinyCLIP pretraining, traced op by op.

Runs the smoke pretraining (10 steps) once per variant, each in a fresh process with one kernel switch changed
(an environment variable read when torch loads, or oneDNN switched off), and compares with the default run:
the seeded initialisation's hash, the final weights' hash, and the first ATen operation of the first training
step whose output differs. Prints a table and writes bench/bitwise_probe.json (with this machine's `kernel_env`).

    python bench/bitwise_probe.py            # about 10 s a variant on 2 cores
"""
import hashlib, json, os, subprocess, sys
from pathlib import Path

VARIANTS = [
    {"name": "default"},
    {"name": "OMP_NUM_THREADS=1 (torch's threads pinned)", "env": {"OMP_NUM_THREADS": "1"}},
    {"name": "MKL_ENABLE_INSTRUCTIONS=AVX2", "env": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}},
    {"name": "MKL_CBWR=COMPATIBLE", "env": {"MKL_CBWR": "COMPATIBLE"}},
    {"name": "MKL_CBWR=AVX2", "env": {"MKL_CBWR": "AVX2"}},
    {"name": "MKL_CBWR=AVX512", "env": {"MKL_CBWR": "AVX512"}},
    {"name": "ONEDNN_MAX_CPU_ISA=AVX512_CORE", "env": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}},
    {"name": "ONEDNN_MAX_CPU_ISA=AVX2", "env": {"ONEDNN_MAX_CPU_ISA": "AVX2"}},
    {"name": "torch.backends.mkldnn off", "mkldnn": False},
    {"name": "ATEN_CPU_CAPABILITY=avx2", "env": {"ATEN_CPU_CAPABILITY": "avx2"}},
    {"name": "ATEN_CPU_CAPABILITY=default", "env": {"ATEN_CPU_CAPABILITY": "default"}},
]

def one(variant:dict) -> dict:
    "In this process (its environment already set): the hashes and the op-by-op trace of the first step."
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten
    if variant.get("mkldnn") is False: torch.backends.mkldnn.enabled = False
    from tecoa_nb import pretrain as P
    from tecoa_nb.core import kernel_env
    st = P.tinyclip_settings(profile="smoke")
    h = lambda t: hashlib.sha1(t.detach().numpy(force=True).tobytes()).hexdigest()[:12]

    class Trace(TorchDispatchMode):
        def __init__(self): super().__init__(); self.ops = []
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            ts = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor) and t.dtype.is_floating_point and t.numel()]
            if ts: self.ops.append([str(func), [h(t) for t in ts], list(ts[0].shape)])
            return out

    kw = dict(batch_size=st["batch_size"], lr=st["lr"], weight_decay=st["weight_decay"], warmup=st["warmup"], seed=st["seed"],
              progress=False, threads=st["threads"])
    with Trace() as tr: P.train_tinyclip(st["model"], steps=1, **kw)
    b, _ = P.train_tinyclip(st["model"], steps=st["steps"], **kw)
    return {"init": P.state_sha256(P.seeded_init_state(st)), "final": P.state_sha256(b.model.state_dict()), "ops": tr.ops,
            "kernels": kernel_env()}

def main():
    rows, base = [], None
    for v in VARIANTS:
        env = {**os.environ, **v.get("env", {})}
        r = subprocess.run([sys.executable, __file__, "--one", json.dumps(v)], capture_output=True, text=True, env=env)
        if r.returncode: print(f"{v['name']}: failed\n{r.stderr[-800:]}"); continue
        d = json.loads(r.stdout.strip().splitlines()[-1]); base = base or d
        first = next((i for i, (a, b) in enumerate(zip(base["ops"], d["ops"])) if a[1] != b[1]), None)
        rows.append({"variant": v["name"], "aten_capability": d["kernels"]["aten_capability"], "init_same": d["init"] == base["init"],
                     "weights_same": d["final"] == base["final"],
                     "first_differing_op": None if first is None else {"op": d["ops"][first][0], "shape": d["ops"][first][2],
                                                                       "position": first, "of": len(d["ops"])}})
        f = rows[-1]["first_differing_op"]
        where = "-" if f is None else "{op} {shape} (op {position} of {of})".format(**f)
        print(f"{v['name']:<44} init {'same' if rows[-1]['init_same'] else 'OTHER':<5} weights {'same' if rows[-1]['weights_same'] else 'OTHER':<5} "
              f"first differing op: {where}", flush=True)
    out = Path(__file__).with_name("bitwise_probe.json")
    out.write_text(json.dumps({"machine": base["kernels"], "smoke_pretraining": rows}, indent=1) + "\n")
    print(f"wrote {out}")

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--one": print(json.dumps(one(json.loads(sys.argv[2]))))
    else: main()
