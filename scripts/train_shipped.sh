#!/usr/bin/env bash
# Rebuild the shipped model (src/maskgmt/pretrained/): corpus -> codec -> token cache -> train ->
# eval. Every stage resumes where it stopped; rerun the same command after an interruption.
#   bash scripts/train_shipped.sh WORK_DIR [MINUTES]
# On 2 CPU cores, pin the training to one core and keep working on the other:
#   THREADS=1 CORES=1 bash scripts/train_shipped.sh /work/ship 45
# With a GPU, raise MINUTES and the preset sizes in scripts/shipped.yaml.
# To continue the shipped model rather than start from nothing (its codec, its weights, a fresh
# optimizer and schedule from CONFIG):
#   CODEC_FROM=src/maskgmt/pretrained/maskgmt-tiny/codec INIT=src/maskgmt/pretrained/maskgmt-tiny \
#   CONFIG=scripts/shipped_continue.yaml bash scripts/train_shipped.sh /work/ship2 90
# The third (shipped) version continued the second the same way with
# CONFIG=scripts/cues_partial_gentle.yaml (tempo clock, partial captions, peak lr 3e-4, 10k steps).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:?usage: train_shipped.sh WORK_DIR [MINUTES]}"
minutes="${2:-45}"
pin=()
if [ -n "${CORES:-}" ]; then pin=(taskset -c "$CORES"); fi
export OMP_NUM_THREADS="${THREADS:-2}"
mkdir -p "$work"

# 1. 5600 clips of 10 s from 1400 scores of all three music21 collections, split by piece.
python -m maskgmt corpus build --out "$work/corpus" --clips 5600 --seconds 10 --seed 0 \
    --no-progress
# 2. The spectral codec: 1024 codes x 8 levels, k-means on 40k train frames, equal bin weights
#    (the default since 2026-12-04; the shipped third version's codec has mel weights, and
#    CODEC_FROM copies a codec as it is).
if [ -n "${CODEC_FROM:-}" ] && [ ! -e "$work/codec" ]; then cp -r "$CODEC_FROM" "$work/codec"; fi
[ -f "$work/codec/spectral_codec.json" ] || python -m maskgmt codec fit \
    "$work/corpus/train.jsonl" --out "$work/codec" --codebook-size 1024 --seed 0 --no-progress
# 3. Tokens and MiniLM caption embeddings of the train split.
python -m maskgmt prepare "$work/corpus/train.jsonl" --codec "$work/codec" --out "$work/cache" \
    --text-encoder minilm --no-progress
# A run resumes from its newest checkpoint; INIT starts a new one from that model's weights.
start=(--resume)
if [ -n "${INIT:-}" ] && [ ! -d "$work/run" ]; then start=(--init "$INIT"); fi
# 4. The tiny preset plus scripts/shipped.yaml, for MINUTES (resumes from the last checkpoint).
"${pin[@]}" python -m maskgmt train --data "$work/cache" --out "$work/run" \
    --preset tiny --config "${CONFIG:-$here/shipped.yaml}" --max-minutes "$minutes" \
    "${start[@]}" --no-progress
# 5. 240 held-out test clips, one 3 s window and two (6 s), with the shuffled-caption control.
"${pin[@]}" python -m maskgmt eval --model "$work/run/model" --split "$work/corpus/test.jsonl" \
    --limit 240 --seconds 6 --cache-dir "$work/eval_cache" --out "$work/eval" --no-progress
