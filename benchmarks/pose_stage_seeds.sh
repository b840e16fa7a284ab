#!/usr/bin/env bash
# The pose_detector stage across seeds, with the recipe before the fix (plain MSE: --heatmap_foreground 0) and
# the current one, as pretrained/train_spt_synthetic.sh runs it (128x64, batch 16, lr 1e-3, bf16, 1,200 people
# x 6 poses). Prints seed x (final heatmap loss, PCKh@0.5 on 256 held-out validation people) from each run's
# pose_detector_eval.json.
#
#   bash benchmarks/pose_stage_seeds.sh [RUNS]      SEEDS="0 1 2" OLD_STEPS=700 NEW_STEPS=2000
set -euo pipefail
RUNS=${1:-runs/pose_seeds}
SEEDS=${SEEDS:-0 1 2}
COMMON=(--stage pose_detector --preset small --image_size 128 64 --search_size 64 32 --num_identities 1200
        --poses_per_identity 6 --batch_size 16 --learning_rate 1e-3 --mixed_precision bf16 --lr_scheduler linear
        --validation_steps 100000 --checkpointing_steps 100000 --cache_dir "${CACHE:-$RUNS/cache}" --min_detector_pckh 0)
for seed in $SEEDS; do
  for recipe in old new; do
    out="$RUNS/$recipe-seed$seed"
    [ -f "$out/pose_detector_eval.json" ] && continue
    if [ "$recipe" = old ]; then flags=(--heatmap_foreground 0 --max_steps "${OLD_STEPS:-700}")
    else flags=(--heatmap_foreground 10 --max_steps "${NEW_STEPS:-2000}"); fi
    accelerate launch --config_file accelerate_config.yaml --num_cpu_threads_per_process "$(nproc)" \
        train_accelerate.py "${COMMON[@]}" "${flags[@]}" --seed "$seed" --output_dir "$out"
  done
done
python - "$RUNS" <<'PY'
import glob, json, os, sys
print("| recipe | seed | steps | final heatmap loss | PCKh@0.5, 256 held-out people |\n| --- | --- | --- | --- | --- |")
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*-seed*", "pose_detector_eval.json"))):
    recipe, seed = os.path.basename(os.path.dirname(path)).split("-seed")
    report = json.load(open(path))
    config = json.load(open(os.path.join(os.path.dirname(path), "train_config.json")))
    label = ("before: plain MSE" if config["heatmap_foreground"] == 0
             else f"now: joints weighted x(1 + {config['heatmap_foreground']:g} P)")
    print(f"| {label} | {seed} | {config['max_steps']} | {report['final_losses'].get('heatmap', float('nan')):.5f} | "
          f"{report['pckh']:.3f} |")
PY
