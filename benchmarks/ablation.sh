#!/usr/bin/env bash
# The paper's ablations on SyntheticPeople, one budget for all: every variant makes $STEPS H_A updates
# from the same H_S stage ($BASE, which also holds the frozen pose detector), then is evaluated on the
# same 300 held-out pairs. One command per variant:
#
#   bash benchmarks/ablation.sh baseline       # no semantic parsing: H_A on poses only, mask-style loss on pose masks
#   bash benchmarks/ablation.sh ts_pred        # two stages trained separately (semantic-aware style, face loss)
#   bash benchmarks/ablation.sh ts_gt          # ts_pred rendering onto the true target parsing (upper bound)
#   bash benchmarks/ablation.sh e2e            # H_A alone for $STEPS - $E2E_STEPS steps, then $E2E_STEPS joint (the method)
#   bash benchmarks/ablation.sh mask_style     # style loss over the whole person instead of per region
#   bash benchmarks/ablation.sh patch_style    # style loss on patches around the joints
#   bash benchmarks/ablation.sh no_face        # without the face adversarial loss D_F
#   bash benchmarks/ablation.sh table          # the markdown table of what has been run
#
# With no argument it runs them all. A variant whose folder already holds a pipeline is not retrained, nor
# re-evaluated when its metrics.json exists.
# BASE defaults to the embedded checkpoint's semantic stage (bash pretrained/train_spt_synthetic.sh).
set -euo pipefail
RUNS=${RUNS:-runs/ablation}
BASE=${BASE:-runs/embedded/semantic}
STEPS=${STEPS:-500}
E2E_STEPS=${E2E_STEPS:-200}
PAIRS=${PAIRS:-300}
COMMON=(--preset small --image_size 64 32 --search_size 64 32 --num_identities 300 --poses_per_identity 6
        --batch_size 8 --num_validation_pairs 6 --validation_steps 250 --checkpointing_steps 500 --seed 0)

train() {  # name, extra flags...
  local name=$1; shift
  if [ ! -f "$RUNS/$name/model_index.json" ]; then
    mkdir -p "$RUNS/$name"
    # The pseudo labels depend on the data only: reuse the base stage's index instead of searching again.
    cp -n "$BASE"/search_index_*.safetensors "$RUNS/$name/" 2>/dev/null || true
    accelerate launch train_accelerate.py --output_dir "$RUNS/$name" "${COMMON[@]}" "$@"
  fi
}

evaluate() {  # name, model folder, extra flags...
  local name=$1 model=$2; shift 2
  [ -f "$RUNS/eval/$name/metrics.json" ] && return
  python -m spt.evaluation --model "$model" --pairs "$PAIRS" --out "$RUNS/eval/$name" "$@"
}

table() {  # the markdown table, and $RUNS/eval/grid.png: source | truth | each variant, on the first pairs
  python - "$RUNS/eval" <<'PY'
import json, os, sys
import numpy as np
from PIL import Image
from spt.evaluation.runner import synthetic_pairs
root = sys.argv[1]
order = ["baseline", "ts_pred", "e2e", "ts_gt", "mask_style", "patch_style", "no_face"]
print("| variant | SSIM | mask-SSIM | PSNR | parsing mIoU | PCKh@0.5 |")
print("| --- | --- | --- | --- | --- | --- |")
done = [n for n in order if os.path.exists(os.path.join(root, n, "metrics.json"))]
for name in done:
    m = json.load(open(os.path.join(root, name, "metrics.json")))
    cell = lambda k: "n/a" if m.get(k) is None else f"{m[k]:.3f}"  # noqa: E731
    print(f"| {name} | {cell('ssim')} | {cell('mask_ssim')} | {cell('psnr')} | {cell('parsing_miou')} | {cell('pckh')} |")
if done:
    rows = []
    for pair in synthetic_pairs(Image.open(os.path.join(root, done[0], "images", "00000.png")).size[::-1], 6):
        tiles = [pair.source["image"], pair.target["image"]]
        tiles += [np.asarray(Image.open(os.path.join(root, n, "images", f"{pair.name}.png"))) for n in done]
        rows.append(np.concatenate(tiles, 1))
    grid = Image.fromarray(np.concatenate(rows, 0))
    grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST).save(os.path.join(root, "grid.png"))
    print(f"\n{root}/grid.png: source | truth | " + " | ".join(done))
PY
}

appearance() {  # name, extra flags: H_A alone for $STEPS steps from $BASE
  local name=$1; shift
  train "$name" --stage appearance --init_from "$BASE" --max_steps "$STEPS" "$@"
}

for variant in "${@:-baseline ts_pred ts_gt e2e mask_style patch_style no_face table}"; do
  for v in $variant; do
    case $v in
      baseline) appearance baseline --use_parsing false --style_kind mask
                evaluate baseline "$RUNS/baseline" ;;
      ts_pred) appearance ts_pred
               evaluate ts_pred "$RUNS/ts_pred" ;;
      ts_gt) appearance ts_pred
             evaluate ts_gt "$RUNS/ts_pred" --target_parsing truth ;;
      e2e) train e2e_start --stage appearance --init_from "$BASE" --max_steps "$((STEPS - E2E_STEPS))"
           train e2e --stage e2e --init_from "$RUNS/e2e_start" --max_steps "$E2E_STEPS" --learning_rate 5e-5 \
               --discriminator_learning_rate 5e-5
           evaluate e2e "$RUNS/e2e" ;;
      mask_style) appearance mask_style --style_kind mask
                  evaluate mask_style "$RUNS/mask_style" ;;
      patch_style) appearance patch_style --style_kind patch
                   evaluate patch_style "$RUNS/patch_style" ;;
      no_face) appearance no_face --face_loss false
               evaluate no_face "$RUNS/no_face" ;;
      table) table ;;
      *) echo "unknown variant $v: baseline ts_pred ts_gt e2e mask_style patch_style no_face table" >&2; exit 2 ;;
    esac
  done
done
