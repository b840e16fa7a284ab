#!/usr/bin/env bash
# Reproduces pretrained/spt-synthetic: the four stages on SyntheticPeople's 3D world at 128x64 (Market-1501's
# size; H_S at 64x32, as the paper runs H_S at half size), chained through --init_from, then a second round of
# H_A and joint training, then an H_S trained with its thin parts weighted (--weights.thin_parts 2) and one more
# joint round with it, the held-out evaluation and the model card. H_S takes f_j(S_s) as an input (the small
# preset) and trains with its own cycle (--weights.semantic_cycle 1). On this 2-core CPU (bf16 autocast) the
# shipped checkpoint's stages add up to about 80 minutes from an empty cache to the model card (the 3D pool of
# 1,200 people x 6 poses renders in about 3.5 minutes and its pseudo-label search takes about 2; README).
#
#   bash pretrained/train_spt_synthetic.sh [OUT]
#   WORLD=2d MORE=0 STEPS_SCALE=0.8 bash pretrained/train_spt_synthetic.sh out  # the previous checkpoint's world
#                                                      # and steps (with today's filled-scene H_A)
#   STEPS_SCALE=0.25 bash pretrained/train_spt_synthetic.sh out  # a quarter of every stage's steps
#   THIN=0 bash pretrained/train_spt_synthetic.sh out  # without the last two stages (the uniform-CE default)
#
# The device is whatever Accelerate finds (CUDA when present, else the CPU). The pool and its pseudo labels are
# built once, in $RUNS/cache, and shared by the stages; every stage resumes from its latest checkpoint if the
# script is run again after a kill, and a stage whose model card is written is not run again.
set -euo pipefail
OUT=${1:-pretrained/spt-synthetic}
RUNS=${RUNS:-runs/embedded}
SCALE=${STEPS_SCALE:-1}
steps() { python -c "import sys; print(max(1, round(float(sys.argv[1]) * $SCALE)))" "$1"; }
WORLD=${WORLD:-3d}
COMMON=(--preset small --world "$WORLD" --weights.semantic_cycle 1 --image_size ${IMAGE_SIZE:-128 64} --semantic_size ${SEMANTIC_SIZE:-64 32} --search_size 64 32
        --num_identities "${IDENTITIES:-1200}" --poses_per_identity 6 --num_validation_pairs 6
        --validation_steps 100000 --checkpointing_steps 100 --seed "${SEED:-0}" --cache_dir "$RUNS/cache"
        --mixed_precision "${MIXED_PRECISION:-bf16}" --lr_scheduler linear --resume_from_checkpoint latest
        --min_detector_pckh "${MIN_DETECTOR_PCKH:-0.7}")
train() { accelerate launch --config_file accelerate_config.yaml --num_cpu_threads_per_process "$(nproc)" train_accelerate.py "$@" "${COMMON[@]}"; }
done_() { [ -f "$1/README.md" ]; }  # a stage whose pipeline and card are written is not run again
done_ "$RUNS/pose" || train --stage pose_detector --output_dir "$RUNS/pose" --max_steps "$(steps 2500)" \
    --batch_size 16 --learning_rate 1e-3 --heatmap_foreground 10
done_ "$RUNS/semantic" || train --stage semantic --init_from "$RUNS/pose" --output_dir "$RUNS/semantic" \
    --max_steps "$(steps 1875)" --batch_size 16
done_ "$RUNS/appearance" || train --stage appearance --init_from "$RUNS/semantic" --output_dir "$RUNS/appearance" \
    --max_steps "$(steps 625)" --batch_size "${BATCH_SIZE:-6}"
done_ "$RUNS/e2e" || train --stage e2e --init_from "$RUNS/appearance" --output_dir "$RUNS/e2e" \
    --max_steps "$(steps 100)" --batch_size "${BATCH_SIZE:-6}"
LAST="$RUNS/e2e"
if [ "${MORE:-1}" = 1 ]; then  # a second round of H_A and joint training (each restarts its learning rate)
  done_ "$RUNS/appearance_more" || train --stage appearance --init_from "$RUNS/e2e" --output_dir "$RUNS/appearance_more" \
      --max_steps "$(steps 400)" --batch_size "${BATCH_SIZE:-6}"
  done_ "$RUNS/e2e_more" || train --stage e2e --init_from "$RUNS/appearance_more" --output_dir "$RUNS/e2e_more" \
      --max_steps "$(steps 160)" --batch_size "${BATCH_SIZE:-6}"
  LAST="$RUNS/e2e_more"
fi
if [ "${THIN:-1}" = 1 ]; then  # H_S trained again with its thin parts weighted, then one joint round with this H_A
  done_ "$RUNS/semantic_thin" || train --stage semantic --init_from "$RUNS/pose" --output_dir "$RUNS/semantic_thin" \
      --max_steps "$(steps 1875)" --batch_size 16 --weights.thin_parts 2
  if [ ! -d "$RUNS/e2e_thin_init" ]; then  # $LAST (with its discriminators) wearing the new H_S
    cp -r "$LAST" "$RUNS/e2e_thin_init.tmp"
    rm -rf "$RUNS/e2e_thin_init.tmp"/{checkpoint-*,README.md,logs,samples,semantic_generator}
    cp -r "$RUNS/semantic_thin/semantic_generator" "$RUNS/e2e_thin_init.tmp/"
    mv "$RUNS/e2e_thin_init.tmp" "$RUNS/e2e_thin_init"
  fi
  done_ "$RUNS/e2e_thin" || train --stage e2e --init_from "$RUNS/e2e_thin_init" --output_dir "$RUNS/e2e_thin" \
      --max_steps "$(steps 160)" --batch_size "${BATCH_SIZE:-6}" --weights.thin_parts 2
  LAST="$RUNS/e2e_thin"
fi
mkdir -p "$OUT"
python -c "
import sys
from spt.pipeline import SPTPipeline
SPTPipeline.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[2])
" "$LAST" "$OUT"
cp "$LAST/train_config.json" "$LAST/pose_detector_eval.json" "$OUT/"  # the card states both
# The held-out benchmark, then the model card with its table.
python -m spt.evaluation --model "$OUT" --pairs 300 --world "$WORLD" --out "$RUNS/eval"
FIGURE=()  # the README's figure is the embedded model's only
[ "$OUT" = pretrained/spt-synthetic ] && FIGURE=(--figure docs/images/embedded_eval_grid.png)
python pretrained/write_card.py "$OUT" "$RUNS/eval" "${FIGURE[@]}"
