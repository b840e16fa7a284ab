#!/usr/bin/env bash
# Reproduces pretrained/spt-synthetic: the four stages on SyntheticPeople at 128x64 (Market-1501's size; H_S
# at 64x32, as the paper runs H_S at half size), chained through --init_from, then the held-out evaluation
# and the model card. On a 2-core CPU (bf16 autocast) the shipped checkpoint's run took 26 minutes from a cached
# pool to the model card (evaluation included); building the pool and its pseudo labels adds a few minutes.
#
#   bash pretrained/train_spt_synthetic.sh [OUT]
#   STEPS_SCALE=0.25 bash pretrained/train_spt_synthetic.sh out    # a quarter of every stage's steps
#
# The device is whatever Accelerate finds (CUDA when present, else the CPU). The pool (1,200 people x 6
# poses) and its pseudo labels are built once, in $RUNS/cache, and shared by the stages; every stage
# resumes from its latest checkpoint if the script is run again after a kill.
set -euo pipefail
OUT=${1:-pretrained/spt-synthetic}
RUNS=${RUNS:-runs/embedded}
SCALE=${STEPS_SCALE:-1}
steps() { python -c "import sys; print(max(1, round(float(sys.argv[1]) * $SCALE)))" "$1"; }
WORLD=${WORLD:-3d}
COMMON=(--preset small --world "$WORLD" --image_size ${IMAGE_SIZE:-128 64} --semantic_size ${SEMANTIC_SIZE:-64 32} --search_size 64 32
        --num_identities "${IDENTITIES:-1200}" --poses_per_identity 6 --num_validation_pairs 6
        --validation_steps 100000 --checkpointing_steps 100 --seed "${SEED:-0}" --cache_dir "$RUNS/cache"
        --mixed_precision "${MIXED_PRECISION:-bf16}" --lr_scheduler linear --resume_from_checkpoint latest
        --min_detector_pckh "${MIN_DETECTOR_PCKH:-0.7}")
train() { accelerate launch --config_file accelerate_config.yaml --num_cpu_threads_per_process "$(nproc)" train_accelerate.py "$@" "${COMMON[@]}"; }
done_() { [ -f "$1/README.md" ]; }  # a stage whose pipeline and card are written is not run again
done_ "$RUNS/pose" || train --stage pose_detector --output_dir "$RUNS/pose" --max_steps "$(steps 2000)" \
    --batch_size 16 --learning_rate 1e-3 --heatmap_foreground 10
done_ "$RUNS/semantic" || train --stage semantic --init_from "$RUNS/pose" --output_dir "$RUNS/semantic" \
    --max_steps "$(steps 1500)" --batch_size 16
done_ "$RUNS/appearance" || train --stage appearance --init_from "$RUNS/semantic" --output_dir "$RUNS/appearance" \
    --max_steps "$(steps 500)" --batch_size "${BATCH_SIZE:-6}"
done_ "$RUNS/e2e" || train --stage e2e --init_from "$RUNS/appearance" --output_dir "$RUNS/e2e" \
    --max_steps "$(steps 80)" --batch_size "${BATCH_SIZE:-6}"
mkdir -p "$OUT"
python -c "
import sys
from spt.pipeline import SPTPipeline
SPTPipeline.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[2])
" "$RUNS/e2e" "$OUT"
cp "$RUNS/e2e/train_config.json" "$RUNS/e2e/pose_detector_eval.json" "$OUT/"  # the card states both
# The held-out benchmark, then the model card with its table.
python -m spt.evaluation --model "$OUT" --pairs 300 --world "$WORLD" --out "$RUNS/eval"
python pretrained/write_card.py "$OUT" "$RUNS/eval"
