#!/usr/bin/env bash
# One short GPU check of the bench targets below: the `tecoa bench` table for ViT-B/32 at batch 256 and ViT-L/14 on CUDA.
# Run from the repository root with the package installed (pip install -e .); writes bench/gpu/*.json and bench/gpu/table.md.
# Targets (ViT-B/32, batch 256, K=2): S/((K+1)T) <= 1.3 and >= 2000 img/s for the TeCoA step.
set -euo pipefail
out=${OUT:-bench/gpu}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.csv"
run() { local name=$1; shift; tecoa bench --device cuda --json "$@" > "$out/$name.json"; }
# ViT-B/32, the paper's setting: batch 256, PGD-2 training attack, 1000 classes, PGD-10 evaluation; eager, then compiled
run vitb32_b256         --model ViT-B-32 --batch 256 --steps 2 --classes 1000 --eval-steps 10 --repeats 5 --warmup 2
run vitb32_b256_fp32atk --model ViT-B-32 --batch 256 --steps 2 --classes 1000 --eval-steps 10 --repeats 5 --warmup 2 --attack-precision fp32 --no-naive
run vitb32_b256_compile --model ViT-B-32 --batch 256 --steps 2 --classes 1000 --eval-steps 10 --repeats 5 --warmup 2 --compile --no-naive
# ViT-L/14 at batch 64
run vitl14_b64          --model ViT-L-14 --batch 64 --steps 2 --classes 1000 --eval-steps 10 --repeats 3 --warmup 1
python - "$out" <<'PY'
import json, sys, pathlib
from tecoa_nb.bench import bench_table
d = pathlib.Path(sys.argv[1]); rows = [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))]
t = bench_table(rows) + "\n\ncard: " + rows[0]["device_name"] + "\n"
(d/"table.md").write_text(t); print(t)
for r in rows:
    if r["model"] == "ViT-B-32" and r["batch"] == 256 and not r["compile"] and r["attack_precision"] != "fp32":
        ok = r["S/((K+1)T)"] <= 1.3 and r["step_img_s"] >= 2000
        print(f"ViT-B/32 b256: S/((K+1)T) = {r['S/((K+1)T)']:.2f}, {r['step_img_s']:.0f} img/s -> {'target met' if ok else 'target missed'}")
PY
