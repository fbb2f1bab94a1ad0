#!/usr/bin/env bash
# The tempo-clock study of docs/QUALITY.md: two arms fine-tuned from the shipped model on the
# shipped corpus, one core each, then scored on the same 240 held-out clips and seeds.
#   bash scripts/tempo_study.sh WORK_DIR   (WORK_DIR holds corpus/ and cache/ of train_shipped.sh)
# Every stage resumes; rerun the same command after an interruption.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:?usage: tempo_study.sh WORK_DIR}"
shipped="$here/../src/maskgmt/pretrained/maskgmt-tiny"
export OMP_NUM_THREADS=1
arm() {  # arm NAME CORE CONFIG
  local start=(--resume)
  if [ ! -d "$work/$1/run" ]; then start=(--init "$shipped"); fi
  taskset -c "$2" python -m maskgmt train --data "$work/cache" --out "$work/$1/run" \
      --preset tiny --config "$3" --max-minutes 75 "${start[@]}" --no-progress \
      > "$work/$1.train.log" 2>&1
}
arm control 0 "$here/tempo_control.yaml" &
arm clock 1 "$here/tempo_clock.yaml" &
wait
export OMP_NUM_THREADS=2
clf=()
if [ -d "$work/classifier" ]; then clf=(--classifier "$work/classifier"); fi
for name in control clock; do
  [ -f "$work/$name/eval/metrics.json" ] || python -m maskgmt eval \
      --model "$work/$name/run/model" --split "$work/corpus/test.jsonl" --limit 240 \
      --seconds 3 --cache-dir "$work/eval_cache" --out "$work/$name/eval" --no-progress \
      ${clf[@]+"${clf[@]}"}
  # the second eval reuses the instrument classifier the first one trained
  if [ ${#clf[@]} -eq 0 ]; then clf=(--classifier "$work/$name/eval/instrument_classifier"); fi
done
python "$here/../bench/tempo_study.py" "$work/control/eval" "$work/clock/eval" \
    --out "$work/tempo_study.json"
