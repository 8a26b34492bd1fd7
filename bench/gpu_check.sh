#!/usr/bin/env bash
# The GPU check any session runs when a device is lent (never part of CI):
#   bash bench/gpu_check.sh [OUT]
# One line per check: PASS / FAIL / SKIP <name>: <measured, or why skipped>. Exits 1 if any
# check failed. On a machine without CUDA every GPU check says SKIP with its reason.
#
# Checks: the CUDA device; a fit in fp32 and with bf16 autocast; grouped encoders vs the
# per-session loop (16 and 64 sessions); a model trained on CUDA loaded on the CPU; nccl
# all-reduce over the GPUs present (torchrun, one process per GPU); allen_gpu.yaml for a
# few hundred steps on simulated sessions (train + frame ID); the same training under
# torchrun with nccl; the cuda-marked tests; the many-sessions bench on the GPU.
#
# PYTHON (default: the repo's .venv, else python3) must import neurocine and its dependencies.
set -u
OUT="${1:-${OUT:-/tmp/neurocine_gpu_check}}"
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${PYTHON:-}" ] && [ -x "$HERE/../.venv/bin/python" ]; then PYTHON="$HERE/../.venv/bin/python"; fi
PY="${PYTHON:-python3}"
if ! "$PY" -c "import torch, neurocine" 2>/dev/null; then
  echo "FAIL setup: $PY cannot import torch and neurocine (make install, or set PYTHON)"; exit 1
fi
mkdir -p "$OUT"
failed=0
run() {  # run one check; its line is printed by the check itself
  "$@" || failed=1
}
has_cuda=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
ngpu=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)

for c in cuda fp32 bf16 grouped cpu_load; do
  run "$PY" "$HERE/gpu_check.py" "$c" --out "$OUT"
done
if [ "$has_cuda" = 1 ]; then
  run "$PY" -m torch.distributed.run --standalone --nproc_per_node="$ngpu" "$HERE/gpu_check.py" nccl --out "$OUT"
else
  echo "SKIP nccl: no CUDA device (nccl needs GPUs)"
fi

# allen_gpu.yaml on simulated sessions: a few hundred steps, then frame ID
if [ "$has_cuda" = 1 ]; then
  data="$OUT/sim"
  [ -d "$data" ] || "$PY" -m neurocine simulate --out "$data" --sessions 4 --frame-size 32 64 >/dev/null 2>"$OUT/simulate.err" \
    || { echo "FAIL allen_gpu: simulate: $(tail -1 "$OUT/simulate.err")"; failed=1; }
  t0=$(date +%s)
  if "$PY" -m neurocine train --config allen_gpu --data_dir "$data" --out "$OUT/allen_gpu" --quiet \
       --set model.max_iterations=300 --set training.validate_every=100 --set training.label_free_model=false \
       >"$OUT/allen_gpu.log" 2>&1 \
     && "$PY" -m neurocine decode-frames "$OUT/allen_gpu" --quiet >>"$OUT/allen_gpu.log" 2>&1; then
    line=$(grep -m1 "accuracy within 1 s" "$OUT/allen_gpu.log" | sed 's/^decode-frames: //')
    echo "PASS allen_gpu: 300 steps of allen_gpu.yaml (batch 2048, bf16) on 4 simulated sessions in $(( $(date +%s) - t0 )) s; $line"
  else
    echo "FAIL allen_gpu: $(grep -v '^\s*$' "$OUT/allen_gpu.log" | tail -1)"; failed=1
  fi
  t0=$(date +%s)
  if "$PY" -m torch.distributed.run --standalone --nproc_per_node="$ngpu" -m neurocine train --config allen_gpu \
       --data_dir "$data" --out "$OUT/torchrun" --quiet --set model.max_iterations=200 \
       --set training.validate_every=100 --set training.label_free_model=false >"$OUT/torchrun.log" 2>&1; then
    how=$([ "$ngpu" -gt 1 ] && echo "$ngpu processes with nccl" || echo "1 process (one GPU: no process group to form; nccl itself is checked above)")
    echo "PASS torchrun: neurocine train under torchrun, $how, 200 steps in $(( $(date +%s) - t0 )) s"
  else
    echo "FAIL torchrun: $(grep -v '^\s*$' "$OUT/torchrun.log" | tail -1)"; failed=1
  fi
  if "$PY" -m pytest -q -p no:cacheprovider -m cuda "$HERE/../tests/test_cuda.py" >"$OUT/pytest_cuda.log" 2>&1; then
    echo "PASS cuda_tests: $(tail -1 "$OUT/pytest_cuda.log")"
  else
    echo "FAIL cuda_tests: $(tail -1 "$OUT/pytest_cuda.log")"; failed=1
  fi
  if "$PY" "$HERE/bench_many_sessions.py" --device cuda --steps 10 --quadratic-max 256 >"$OUT/many_sessions.log" 2>&1; then
    echo "PASS many_sessions: $(grep 'per-session throughput 256/4' "$OUT/many_sessions.log") on the GPU (table in $OUT/many_sessions.log)"
  else
    echo "FAIL many_sessions: $(tail -1 "$OUT/many_sessions.log")"; failed=1
  fi
else
  for c in allen_gpu torchrun cuda_tests many_sessions; do
    echo "SKIP $c: no CUDA device (torch.cuda.is_available() is False)"
  done
  run "$PY" "$HERE/gpu_check.py" cpu_reference --out "$OUT"
fi
exit $failed
