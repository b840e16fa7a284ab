#!/usr/bin/env bash
# Reproduces pretrained/spt-synthetic: the four stages on SyntheticPeople at 64x32, chained through
# --init_from. About 40 minutes on a 2-core CPU; pass a different output folder as $1.
set -euo pipefail
OUT=${1:-pretrained/spt-synthetic}
RUNS=${RUNS:-runs/embedded}
COMMON=(--preset small --image_size 64 32 --search_size 64 32 --num_identities 300 --poses_per_identity 6
        --batch_size 8 --num_validation_pairs 6 --validation_steps 250 --checkpointing_steps 500 --seed 0)
accelerate launch train_accelerate.py --stage pose_detector --output_dir "$RUNS/pose" --max_steps 1500 \
    --learning_rate 1e-3 "${COMMON[@]}"
accelerate launch train_accelerate.py --stage semantic --init_from "$RUNS/pose" --output_dir "$RUNS/semantic" \
    --max_steps 1500 "${COMMON[@]}"
accelerate launch train_accelerate.py --stage appearance --init_from "$RUNS/semantic" --output_dir "$RUNS/appearance" \
    --max_steps 1500 "${COMMON[@]}"
accelerate launch train_accelerate.py --stage e2e --init_from "$RUNS/appearance" --output_dir "$RUNS/e2e" \
    --max_steps 400 --learning_rate 5e-5 --discriminator_learning_rate 5e-5 "${COMMON[@]}"
mkdir -p "$OUT"
python -c "
import sys
from spt.pipeline import SPTPipeline
SPTPipeline.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[2])
" "$RUNS/e2e" "$OUT"
# The held-out benchmark, then the model card with its table.
python -m spt.evaluation --model "$OUT" --pairs 300 --out "$RUNS/eval"
python pretrained/write_card.py "$OUT" "$RUNS"
