#!/usr/bin/env bash
# Train the shipped PFN sizes on a GPU in resumable chunks (issue 5).
#
#   bash benchmarks/gpu_train.sh start  CHUNK_SECONDS TOTAL_SECONDS   # profile, then train
#   bash benchmarks/gpu_train.sh resume CHUNK_SECONDS                 # continue carried runs
#
# "start" times the training step of each size (benchmarks/pfn_train_speed.py), sets each
# run's total steps so that it ends after about TOTAL_SECONDS of training at the measured
# rate, and trains "base" and "small" side by side on the one GPU for CHUNK_SECONDS.
# "resume" unpacks the checkpoints carried in .gpu_ckpt/ and continues both runs.
# Either way the run directories are packed into $OUT as 15 MiB parts (ckpt.tar.part-*):
# untar them into runs/ to resume elsewhere or to export the weights.
set -euo pipefail
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_MEM_FRACTION=0.45
phase=$1; chunk=$2; total=${3:-0}
out=${OUT:-out}; mkdir -p "$out" runs
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
if [ "$phase" = start ]; then
  python3 benchmarks/pfn_train_speed.py --configs small,base,paper --dtypes bfloat16 \
    --batch 512 --steps 20 --out runs/speed.json | tail -6
  read -r base_steps small_steps < <(python3 - "$total" <<'PY'
import json, sys
rate = {r["config"]: r["curves_per_s"] for r in json.load(open("runs/speed.json"))}
total = float(sys.argv[1])
# side by side, each run gets about 70% of its solo rate (measured on the first chunk)
print(int(0.7 * rate["base"] * total / 512), int(0.7 * rate["small"] * total / 512))
PY
)
  echo "planned steps: base $base_steps, small $small_steps"
  common="--batch-size 512 --dtype bfloat16 --checkpoint-every 1000 --no-progress"
  python3 -m scalebayes train-pfn --config base --steps "$base_steps" --lr 3e-4 $common \
    --out runs/base --max-seconds "$chunk" > runs/base.out 2>&1 &
  python3 -m scalebayes train-pfn --config small --steps "$small_steps" --lr 1e-3 $common \
    --out runs/small --max-seconds "$chunk" > runs/small.out 2>&1 &
else
  cat .gpu_ckpt/ckpt.tar.part-* | tar -C runs -xf -
  for name in base small; do
    python3 -m scalebayes train-pfn --config $name --steps 1 --out runs/$name --resume \
      --no-progress --max-seconds "$chunk" > runs/$name.out 2>&1 &
  done
fi
wait
tail -n 3 runs/base.out runs/small.out runs/base/log.jsonl runs/small/log.jsonl
cp runs/speed.json "$out/" 2>/dev/null || true
tar -C runs -cf - base/checkpoint base/log.jsonl small/checkpoint small/log.jsonl \
  | split -b 15m - "$out/ckpt.tar.part-"
ls -la "$out"
