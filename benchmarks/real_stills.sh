#!/usr/bin/env bash
# The truth-free checks on real stills of people that ship in packages (never in this repository, never for
# training): scikit-image's astronaut and camera, Debian opencv-doc's messi5 and basketball1/2, ultralytics'
# bus.jpg, Debian labelme-examples' VOC stills 2011_000003 (two men crouching) and 2011_000006 (three women
# seated). Gathers them into $STILLS (default /tmp/spt-stills), then runs the evaluation on them with each
# photo in the Space's 12 gallery poses, for the model and the model-free baselines.
#
#   bash benchmarks/real_stills.sh [model folder] [output folder]
set -euo pipefail
MODEL=${1:-pretrained/spt-synthetic}
OUT=${2:-eval/real_stills}
STILLS=${STILLS:-/tmp/spt-stills}
mkdir -p "$STILLS"
python - "$STILLS" <<'PY'
import sys
from PIL import Image
from skimage import data
Image.fromarray(data.astronaut()).save(f"{sys.argv[1]}/astronaut.png")
Image.fromarray(data.camera()).convert("RGB").save(f"{sys.argv[1]}/camera.png")
PY
DOC=/usr/share/doc/opencv-doc/examples/data
if [ ! -f "$DOC/messi5.jpg" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q opencv-doc >/dev/null 2>&1 || echo "opencv-doc not installed: messi5 and basketball skipped" >&2
fi
for f in messi5.jpg basketball1.png basketball2.png; do [ -f "$DOC/$f" ] && cp "$DOC/$f" "$STILLS/"; done
if [ ! -f "$STILLS/bus.jpg" ]; then
  tmp=$(mktemp -d)
  if pip download -q --no-deps ultralytics -d "$tmp" >/dev/null 2>&1; then
    python -c "import sys, zipfile, glob; z = zipfile.ZipFile(glob.glob(sys.argv[1] + '/ultralytics-*.whl')[0]); open(sys.argv[2], 'wb').write(z.read('ultralytics/assets/bus.jpg'))" "$tmp" "$STILLS/bus.jpg"
  else
    echo "ultralytics could not be downloaded: bus.jpg skipped" >&2
  fi
  rm -rf "$tmp"
fi
LABELME=/usr/share/doc/labelme-examples/examples/instance_segmentation/data_annotated
if [ ! -d "$LABELME" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q labelme-examples >/dev/null 2>&1 || echo "labelme-examples not installed: its stills skipped" >&2
fi
for f in 2011_000003.jpg 2011_000006.jpg; do [ -f "$LABELME/$f" ] && cp "$LABELME/$f" "$STILLS/labelme_$f"; done
ls "$STILLS"
python -m spt.evaluation --model "$MODEL" --photos "$STILLS" --targets "${TARGETS:-gallery}" --out "$OUT"
