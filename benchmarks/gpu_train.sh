#!/usr/bin/env bash
# One prepared GPU command: size the schedule, train, export the averaged weights, evaluate.
#
#   bash benchmarks/gpu_train.sh SECONDS [train-pfn options ...]
#   e.g. OUT=$OUT bash benchmarks/gpu_train.sh 420 --config base --prior mixture
#        OUT=$OUT bash benchmarks/gpu_train.sh 420 --config base --prior mixture --init-from DIR
#
# 1. a 60-step probe measures the step rate after compilation (skipped when STEPS is set);
# 2. `scalebayes train-pfn` runs a cosine schedule sized to end after about SECONDS of
#    training (or STEPS steps), keeping an EMA of the weights (EMA, default 0.999);
# 3. the EMA weights are exported to $OUT/weights in the form that ships (WEIGHTS_DTYPE:
#    float32, 15.2 MB for base in one file, or bfloat16, half that, with the float32 export
#    in $OUT/weights-f32 beside it; step 4 evaluates $OUT/weights; meta.json records the JAX
#    version and the device);
# 4. benchmarks/pfn_eval.py scores them on held-out prior curves, the NSL-PFN splits and the
#    far splits and prints the table ($OUT/eval.md), and benchmarks/far_synthetic.py asks the
#    far question of synthetic LLM-like curves beside the shipped far model (appended to
#    $OUT/eval.md; the point fits' rows are in docs/results/far.md); $OUT also gets
#    log.jsonl and a PNG of the training curve (8 files at most in all: a device call returns
#    no more);
# 5. the prior generators alone are timed at the run's batch and their share of the run's
#    training step is appended to $OUT/eval.md (SHARE=0 skips it).
# The probe and the main run share one compiled step through the command line's persistent
# compilation cache (in $RUN.jax-cache unless SCALEBAYES_CACHE_DIR says otherwise): the
# step's program does not depend on the run's length, so the main run does not compile again
# (on the H100, compiling the base config's step took 47 s).
# Measured on one H200 (2026-12-04, base, mixture prior, batch 512): probe 95 s (35.7 s of it
# the prior borders, most of the rest the step's compile), training 18,400-19,600 curves/s,
# step 4's evaluation 258 s and far_synthetic 31 s, and step 5 did not finish in the 595 s
# left (its three generators compile): give a 595 s call SECONDS of about 200 with SHARE=0, or
# EVAL=0 (evaluate on the CPU afterwards) and SECONDS of about 380 (step 5 included, with
# about a minute to spare, before the export drew 20,000 prior curves for its tail scales:
# about 40 s more on the H200, less with the run's compilation cache, which it now reads).
# The next run (plan of 2026-12-06; bfloat16 keeps a fourth model within the 32 MiB cap):
#   OUT=$OUT EVAL=0 WEIGHTS_DTYPE=bfloat16 bash benchmarks/gpu_train.sh 360 --config base \
#     --prior mixture --lr 3e-4
# then here (FILES: the returned folder): .venv/bin/python benchmarks/pfn_eval.py --models
# FILES/weights,nslpfn-base,mixture-tiny --point-fits m1,m2,m3,m4,bnsl and
# .venv/bin/python benchmarks/far_synthetic.py --models FILES/weights,mixture-tiny --fits ""
# Environment: OUT (results, default out/gpu), RUN (run directory, default runs/gpu),
# SHARE (0 skips step 5),
# BATCH (512), DTYPE (bfloat16), EMA (0.999), STEPS (skip the probe), EVAL (0 skips step 4),
# M4 (1 adds the M4 point fit's row to step 4's table: float64 fits of every curve, device time
# better spent training; its row, measured on the CPU, is in the README).
# WEIGHTS_DTYPE (float32 or bfloat16: the exported weights' storage; bfloat16 moved
# nslpfn-base's RMSLE by up to 0.0001 on the NSL-PFN splits and 0.0012 on far10, its LL by up
# to 0.004, docs/results/pfn.md: compare both forms on the CPU before choosing).
# $OUT/weights is the only copy that outlives the session: runs/ and $OUT are not in git and a
# new session starts from a fresh checkout (the 2026-12-04 H200 weights were lost that way).
# Commit it in the same session: cp -r $OUT/weights scalebayes/pfn/weights/NAME && git add ...
# Dry-run on a CPU: ALLOW_CPU=1 STEPS=4 BATCH=8 DTYPE=float32 PYTHON=.venv/bin/python \
#   bash benchmarks/gpu_train.sh 60 --config tiny
# Deadline (a device command is killed at 600 s): DEADLINE (570) is when the script should be
# done, seconds from its start; RESERVE (60) the seconds kept for the export after training.
# After the probe, training gets min(SECONDS, what is left before DEADLINE - RESERVE), its
# steps sized to that; it may run on past it to finish the schedule (a slow first step) but
# is stopped (Ctrl-C, keeping the last checkpoint) at DEADLINE - RESERVE; steps 4 and 5 run
# only if time is left (so a killed call never loses the trained weights). Exit status 3:
# training was stopped before its last step, at --max-seconds or by the hard stop (the
# weights are exported all the same, and evaluated if time is left).
# Every call starts a fresh run in $RUN (a warm machine's earlier run is removed; salvage it
# first if the earlier call was killed:
#   python3 -c "from scalebayes.pfn import export_weights; export_weights('runs/gpu/checkpoint', '$OUT/weights', storage_dtype='bfloat16')")
set -euo pipefail
seconds=${1:?usage: gpu_train.sh SECONDS [train-pfn options]}
shift
out=${OUT:-out/gpu}
run=${RUN:-runs/gpu}
batch=${BATCH:-512}
deadline=${DEADLINE:-570}
reserve=${RESERVE:-60}
export PYTHONUNBUFFERED=1
export SCALEBAYES_CACHE_DIR="${SCALEBAYES_CACHE_DIR-$run.jax-cache}"
py=${PYTHON:-python3}
stamp() { echo "[gpu_train.sh at ${SECONDS} s] $*"; }
mkdir -p "$out" "$(dirname "$run")"
rm -rf "$run" "$run.probe"  # a fresh run: never export an earlier call's weights
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # benchmarks/ import scalebayes from here
# a JAX that fell back to the CPU would spend the whole call training there (ALLOW_CPU=1 for
# the dry run)
"$py" -c "import jax, equinox, optax; print('jax', jax.__version__, 'equinox', equinox.__version__, 'optax', optax.__version__, jax.devices())
if jax.default_backend() == 'cpu' and '${ALLOW_CPU:-0}' != '1':
    raise SystemExit('gpu_train.sh: JAX sees no GPU (backend cpu); set ALLOW_CPU=1 for a CPU dry run')"
# one-off python -c calls (export, plot) read the run's compiled programs too
py_cached=("$py")
if [ -n "$SCALEBAYES_CACHE_DIR" ]; then
  py_cached=(env JAX_COMPILATION_CACHE_DIR="$SCALEBAYES_CACHE_DIR"
    JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 "$py")
fi
common=(--batch-size "$batch" --dtype "${DTYPE:-bfloat16}" --ema-decay "${EMA:-0.999}" --no-progress "$@")
steps=${STEPS:-}
if [ -z "$steps" ]; then
  stamp "probe"
  timeout -s INT -k 10 $(( deadline - reserve - 60 )) \
    "$py" -m scalebayes train-pfn --steps 60 --checkpoint-every 20 --out "$run.probe" \
    "${common[@]}" || { stamp "the probe did not finish: nothing trained"; exit 3; }
fi
# the training time: SECONDS, or less if the probe left less before the deadline
left=$(( deadline - reserve - SECONDS ))
train_s=$(( seconds < left - 20 ? seconds : left - 20 ))
if [ "$train_s" -lt 20 ]; then stamp "only $left s left before the deadline: no time to train"; exit 3; fi
if [ "$train_s" != "$seconds" ]; then stamp "training for $train_s s, not $seconds: the deadline"; fi
if [ -z "$steps" ]; then
  steps=$("$py" - "$run.probe/log.jsonl" "$train_s" "$batch" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
rate = records[-1]["curves_per_s"]  # the last interval: compiled, steady
print(max(1, int(0.95 * float(sys.argv[2]) * rate / int(sys.argv[3]))))
PY
)
  echo "probe: $(tail -n 1 "$run.probe/log.jsonl"); planned steps: $steps"
fi
stamp "train $steps steps"
every=$(( steps / 10 > 0 ? steps / 10 : 1 ))
# --max-seconds is read at checkpoints only (every tenth of the run), so it is set a tenth of
# the training time before the hard stop at DEADLINE - RESERVE (Ctrl-C, which keeps the last
# checkpoint). A failed or stopped run still exports its last checkpoint: whatever trained
# comes back.
left=$(( deadline - reserve - SECONDS ))
train_rc=0
timeout -s INT -k 15 "$left" "$py" -m scalebayes train-pfn --steps "$steps" \
  --checkpoint-every "$every" --max-seconds $(( left - train_s / 10 - 5 )) --out "$run" \
  "${common[@]}" || train_rc=$?
if [ "$train_rc" = 124 ]; then train_rc=3; stamp "stopped at the deadline"; fi
if [ "$train_rc" != 0 ]; then stamp "train-pfn exited $train_rc; exporting its last checkpoint"; fi
# a clean stop at --max-seconds exits 0 short of the schedule's end: said, and exit 3 at the end
short=$("$py" - "$run" <<'PY' || true
import json, pathlib, sys
for name in ("checkpoint", "checkpoint.old"):
    path = pathlib.Path(sys.argv[1]) / name / "meta.json"
    if path.exists():
        meta = json.loads(path.read_text())
        done, planned = meta["step"], meta["train_config"]["steps"]
        print(f"{done} of {planned}" if done < planned else "")
        break
PY
)
if [ -n "$short" ]; then stamp "training stopped at step $short (the deadline)"; fi
cp "$run/log.jsonl" "$out/log.jsonl" || true
if [ ! -f "$run/checkpoint/meta.json" ] && [ ! -f "$run/checkpoint.old/meta.json" ]; then
  stamp "no checkpoint to export"; exit "$train_rc"
fi
stamp "export"
# bfloat16: the float32 export comes back too ($OUT/weights-f32), so that the CPU evaluation
# can choose the form (bfloat16 moved far10's RMSLE by 0.0012 on nslpfn-base)
"${py_cached[@]}" - "$run/checkpoint" "$out" "${WEIGHTS_DTYPE:-float32}" <<'PY'
import sys
import jax
from scalebayes.pfn import PFN, export_weights
checkpoint, out, dtype = sys.argv[1:]
where = {"jax": jax.__version__, "device": jax.devices()[0].device_kind}
if dtype == "bfloat16":
    full = export_weights(checkpoint, f"{out}/weights-f32", **where)
    print("exported", full, "and", PFN.load(full).save(f"{out}/weights", storage_dtype=dtype))
else:
    print("exported", export_weights(checkpoint, f"{out}/weights", storage_dtype=dtype, **where))
PY
"${py_cached[@]}" benchmarks/plot_training.py "$run/log.jsonl" "$out/training_curve.png"
if [ "$train_rc" != 0 ]; then exit "$train_rc"; fi
if [ $(( deadline - SECONDS )) -lt 300 ] && [ "${EVAL:-1}" != 0 ]; then
  stamp "skipping the evaluation: $(( deadline - SECONDS )) s left (evaluate on the CPU)"
elif [ "${EVAL:-1}" != 0 ]; then
  stamp "evaluate"
  m4=()
  if [ "${M4:-0}" != 0 ]; then m4=(--m4); fi
  "$py" benchmarks/pfn_eval.py --models "$out/weights" ${m4[@]+"${m4[@]}"} --out "$out"
  "$py" benchmarks/far_synthetic.py --models "$out/weights,mixture-tiny" --fits "" \
    | tee -a "$out/eval.md"  # appended: at most 8 files come back from a device call
fi
if [ "${SHARE:-1}" != 0 ] && [ $(( deadline - SECONDS )) -lt 30 ]; then
  stamp "skipping the generators' timing: $(( deadline - SECONDS )) s left"
elif [ "${SHARE:-1}" != 0 ]; then
  stamp "time the prior generators"
  # the prior generator's share of this run's training step (issue: at most a quarter)
  if ! timeout -k 5 $(( deadline - SECONDS )) "$py" benchmarks/pfn_train_speed.py --prior-only \
    --configs tiny --priors nslpfn,scalefree,mixture --batch "$batch" --steps 10 \
    --out "$run.prior.json" > /dev/null; then
    stamp "the generators' timing did not finish before the deadline"
  else
  "$py" - "$run/log.jsonl" "$run.prior.json" <<'PY' | tee -a "$out/eval.md"
import json, sys
last = [json.loads(line) for line in open(sys.argv[1])][-1]
rows = json.load(open(sys.argv[2]))
batch = rows[0]["batch"]
step_ms = 1e3 * batch / last["curves_per_s"]
print(f"\ntraining step, batch {batch} (last logged interval, prior drawn inside): {step_ms:.2f} ms")
print("| prior | generator alone, ms per batch | share of this run's step |\n|---|---|---|")
for r in rows:
    print(f"| {r['prior']} | {r['prior_ms']:.2f} | {r['prior_ms'] / step_ms:.2f} |")
PY
  fi
fi
stamp "done"
ls -la "$out" "$out/weights"
if [ -n "$short" ]; then exit 3; fi
