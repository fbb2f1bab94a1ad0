"""Three-way guidance, measured before it is built: the null text AND a negative caption.

`generate(negative_texts=...)` replaces CFG's unconditional branch by the negative caption. This
bench keeps the null text as the unconditional branch and adds the negative caption as a second
contrast on the guided levels (a 3B pass):

    logits = guide(cond, null, cond_scale) + NEG_SCALE * (cond - negative)

It patches the decoding loop in this process only (no library change), then runs
`bench/decode_study.py` with the given arguments; `--neg-scale` sets NEG_SCALE. With the
decode study's `"negative": "other_mode"` setting the negative is the caption with major and
minor swapped:

    python bench/mode_guidance.py --neg-scale 1.0 -- \
        --model src/maskgmt/pretrained/maskgmt-tiny \
        --split test.jsonl --out decode --variant base='{}' \
        --variant neg3='{"negative": "other_mode"}'
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

import maskgmt.model.generate as generate_module
from maskgmt.model.cues import with_unconditional
from maskgmt.model.decode_inputs import TextContexts, _null_text, _stack_padded, text_contexts
from maskgmt.model.sampling import guide

sys.path.insert(0, str(Path(__file__).resolve().parent))
import decode_study  # noqa: E402

NEG_SCALE = 1.0
_plain_step_logits = generate_module._step_logits


def _three_way_contexts(model, plan, inputs) -> TextContexts:
    """Guided rows: cond, null, negative (3B); without a negative, the library's contexts."""
    if not plan.guided or inputs.negative is None:
        return text_contexts(model, plan, inputs)
    emb, tmask, cues = inputs.emb, inputs.text_mask, inputs.cues
    two_emb, two_mask = _stack_padded(emb, tmask, *_null_text(model, emb.shape[0]))
    three_emb, three_mask = _stack_padded(two_emb, two_mask, *inputs.negative)
    three_cues = None
    if cues is not None:
        two = with_unconditional(cues)  # (2B, 3): the caption's cues, then none
        three_cues = torch.cat([two, two[len(cues) :]])  # the negative branch has none either
    guided = model.transformer.text_context(three_emb, three_mask, three_cues)
    critic = text_contexts(model, plan, inputs).critic if plan.use_critic else None
    return TextContexts(guided, guided.rows(emb.shape[0]), critic)


def _three_way_step_logits(model, plan, x, frames, text, level, step):
    """On guided levels with a 3B context: CFG against the null text plus NEG_SCALE times the
    contrast against the negative caption."""
    if not plan.guided_at(level) or text.batch_size != 3 * x.shape[0]:
        return _plain_step_logits(model, plan, x, frames, text, level, step)
    rows = generate_module._logits_at(model, x.repeat(3, 1, 1), frames.repeat(3, 1), text, level)
    cond, null, negative = rows.chunk(3)
    logits = guide(cond, null, plan.scale_at(step, plan.steps[level]))
    return logits + NEG_SCALE * (cond - negative)


def main() -> None:
    global NEG_SCALE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neg-scale", type=float, default=1.0)
    parser.add_argument("study", nargs=argparse.REMAINDER, help="-- then decode_study arguments")
    args = parser.parse_args()
    NEG_SCALE = args.neg_scale
    generate_module.text_contexts = _three_way_contexts
    generate_module._step_logits = _three_way_step_logits
    study = args.study[1:] if args.study[:1] == ["--"] else args.study
    sys.argv = ["decode_study.py", *study]
    decode_study.main()


if __name__ == "__main__":
    main()
