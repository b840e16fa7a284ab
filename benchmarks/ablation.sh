#!/usr/bin/env bash
# The paper's ablations on SyntheticPeople, one budget and one learning-rate schedule (linear decay) for all:
# every variant makes $STEPS H_A updates from the same H_S stage ($BASE, which also holds the frozen pose
# detector), once per seed in $SEEDS, then is evaluated on the same 300 held-out pairs. One command per variant:
#
#   bash benchmarks/ablation.sh baseline       # no semantic parsing: H_A on poses only, mask-style loss on pose masks
#   bash benchmarks/ablation.sh ts_pred        # two stages trained separately (semantic-aware style, face loss)
#   bash benchmarks/ablation.sh ts_gt          # ts_pred rendering onto the true target parsing (upper bound)
#   bash benchmarks/ablation.sh e2e            # H_A alone for $STEPS - $E2E_STEPS steps, then $E2E_STEPS joint (the method)
#   bash benchmarks/ablation.sh ceiling        # NOT SPT: H_A trained with the true target image (paired supervision)
#   bash benchmarks/ablation.sh mask_style     # style loss over the whole person instead of per region
#   bash benchmarks/ablation.sh patch_style    # style loss on patches around the joints
#   bash benchmarks/ablation.sh no_face        # without the face adversarial loss D_F
#   bash benchmarks/ablation.sh table          # the markdown table (mean ± std over seeds) of what has been run
#
# With no argument it runs them all. A variant whose folder already holds a pipeline is not retrained, nor
# re-evaluated when its metrics.json exists. BASE defaults to the embedded checkpoint's semantic stage
# (bash pretrained/train_spt_synthetic.sh), whose pool cache ($CACHE) the variants reuse.
set -euo pipefail
RUNS=${RUNS:-runs/ablation}
BASE=${BASE:-runs/embedded/semantic}
CACHE=${CACHE:-$(dirname "$BASE")/cache}
SEEDS=${SEEDS:-0 1 2}
STEPS=${STEPS:-1000}
E2E_STEPS=${E2E_STEPS:-250}
PAIRS=${PAIRS:-300}
COMMON=(--preset small --image_size ${IMAGE_SIZE:-128 64} --search_size 64 32 --num_identities "${IDENTITIES:-2000}"
        --poses_per_identity 6 --batch_size "${BATCH_SIZE:-16}" --num_validation_pairs 6 --validation_steps 100000
        --checkpointing_steps 100000 --cache_dir "$CACHE" --mixed_precision "${MIXED_PRECISION:-bf16}"
        --lr_scheduler linear)
SEED=0

train() {  # name, extra flags... (into $RUNS/seed$SEED/name)
  local name=$1; shift
  if [ ! -f "$RUNS/seed$SEED/$name/model_index.json" ]; then
    accelerate launch --config_file accelerate_config.yaml --num_cpu_threads_per_process "$(nproc)" train_accelerate.py \
        --output_dir "$RUNS/seed$SEED/$name" --seed "$SEED" "${COMMON[@]}" "$@"
  fi
}

evaluate() {  # name, model folder, extra flags...
  local name=$1 model=$2; shift 2
  [ -f "$RUNS/eval/seed$SEED/$name/metrics.json" ] && return
  # The variants are compared with each other: the model-free baselines are in the embedded model's card.
  python -m spt.evaluation --model "$model" --pairs "$PAIRS" --out "$RUNS/eval/seed$SEED/$name" --baselines "$@"
}

table() {  # the markdown table (mean ± std over the seeds run), and $RUNS/eval/grid.png from the first seed
  python - "$RUNS/eval" <<'PY'
import glob, json, os, sys
import numpy as np
from PIL import Image
from spt.evaluation.runner import synthetic_pairs
root = sys.argv[1]
order = ["baseline", "ts_pred", "e2e", "ts_gt", "mask_style", "patch_style", "no_face", "ceiling"]
labels = {"ceiling": "ceiling (not SPT: paired supervision)"}
keys = ["ssim", "mask_ssim", "psnr", "lpips", "fid", "parsing_miou", "pckh", "pose_pckh"]
print("| variant | seeds | SSIM | mask-SSIM | PSNR | LPIPS | FID | parsing mIoU | PCKh@0.5 (ours) | PCKh@0.5 (BlazePose) |")
print("|---" * (len(keys) + 2) + "|")
done = []
for name in order:
    runs = sorted(glob.glob(os.path.join(root, "seed*", name, "metrics.json")))
    if not runs:
        continue
    done.append((name, os.path.dirname(runs[0])))
    metrics = [json.load(open(r)) for r in runs]
    def cell(k):
        values = [m[k] for m in metrics if isinstance(m.get(k), float)]
        if not values:
            return "n/a"
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"
    print(f"| {labels.get(name, name)} | {len(runs)} | " + " | ".join(cell(k) for k in keys) + " |")
if done:
    rows = []
    first = os.path.join(done[0][1], "images", "00000.png")
    for pair in synthetic_pairs(Image.open(first).size[::-1], 6):
        tiles = [pair.source["image"], pair.target["image"]]
        tiles += [np.asarray(Image.open(os.path.join(d, "images", f"{pair.name}.png"))) for _, d in done]
        rows.append(np.concatenate(tiles, 1))
    grid = Image.fromarray(np.concatenate(rows, 0))
    grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST).save(os.path.join(root, "grid.png"))
    print(f"\n{root}/grid.png: source | truth | " + " | ".join(n for n, _ in done))
PY
}

appearance() {  # name, extra flags: H_A alone for $STEPS steps from $BASE
  local name=$1; shift
  train "$name" --stage appearance --init_from "$BASE" --max_steps "$STEPS" "$@"
}

variant() {
  local R="$RUNS/seed$SEED"
  case $1 in
    baseline) appearance baseline --use_parsing false --style_kind mask
              evaluate baseline "$R/baseline" ;;
    ts_pred) appearance ts_pred
             evaluate ts_pred "$R/ts_pred" ;;
    ts_gt) appearance ts_pred
           evaluate ts_gt "$R/ts_pred" --target_parsing truth ;;
    e2e) train e2e_start --stage appearance --init_from "$BASE" --max_steps "$((STEPS - E2E_STEPS))"
         train e2e --stage e2e --init_from "$R/e2e_start" --max_steps "$E2E_STEPS"
         evaluate e2e "$R/e2e" ;;
    ceiling) appearance ceiling --supervision paired
             evaluate ceiling "$R/ceiling" ;;
    mask_style) appearance mask_style --style_kind mask
                evaluate mask_style "$R/mask_style" ;;
    patch_style) appearance patch_style --style_kind patch
                 evaluate patch_style "$R/patch_style" ;;
    no_face) appearance no_face --face_loss false
             evaluate no_face "$R/no_face" ;;
    *) echo "unknown variant $1: baseline ts_pred ts_gt e2e ceiling mask_style patch_style no_face table" >&2; exit 2 ;;
  esac
}

for v in ${@:-baseline ts_pred ts_gt e2e ceiling mask_style patch_style no_face table}; do
  if [ "$v" = table ]; then table; continue; fi
  for SEED in $SEEDS; do variant "$v"; done
done
