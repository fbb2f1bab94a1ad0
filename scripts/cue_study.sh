#!/usr/bin/env bash
# The caption-cue study of docs/QUALITY.md: three arms fine-tuned from the shipped model on the
# shipped corpus (control, + tempo clock, + clock and key cue), one thread each, then scored on
# the same 240 held-out clips and seeds.
#   bash scripts/cue_study.sh WORK_DIR   (WORK_DIR holds corpus/ and cache/ of train_shipped.sh)
# Every stage resumes; rerun the same command after an interruption.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:?usage: cue_study.sh WORK_DIR}"
shipped="$here/../src/maskgmt/pretrained/maskgmt-tiny"
arms=(control clock both)
export OMP_NUM_THREADS=1
arm() {  # arm NAME
  local start=(--resume)
  if [ ! -d "$work/$1/run" ]; then start=(--init "$shipped"); fi
  python -m maskgmt train --data "$work/cache" --out "$work/$1/run" --preset tiny \
      --config "$here/cues_$1.yaml" --max-minutes 90 "${start[@]}" --no-progress \
      > "$work/$1.train.log" 2>&1
}
for name in "${arms[@]}"; do arm "$name" & done
wait
export OMP_NUM_THREADS=2
clf=()
if [ -d "$work/classifier" ]; then clf=(--classifier "$work/classifier"); fi
for name in "${arms[@]}"; do
  [ -f "$work/$name/eval/metrics.json" ] || python -m maskgmt eval \
      --model "$work/$name/run/model" --split "$work/corpus/test.jsonl" --limit 240 \
      --seconds 3 --cache-dir "$work/eval_cache" --out "$work/$name/eval" --no-progress \
      ${clf[@]+"${clf[@]}"}
  # later evals reuse the instrument classifier the first one trained
  if [ ${#clf[@]} -eq 0 ]; then clf=(--classifier "$work/$name/eval/instrument_classifier"); fi
done
for name in clock both; do
  python "$here/../bench/cue_study.py" "$work/control/eval" "$work/$name/eval" \
      --out "$work/cue_study_$name.json"
done
