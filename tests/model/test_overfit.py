"""End to end: a tiny model memorizes 4 caption -> codes pairs and generate() reproduces them."""

from __future__ import annotations

import torch

from maskgmt.model import MaskGmt

from .conftest import FakeTextEncoder, random_codes, tiny_critic, tiny_transformer

CAPTIONS = ["slow piano in C major", "fast violin melody", "soft flute in a minor", "loud brass"]


def test_overfit_four_captions_then_swap_captions() -> None:
    torch.manual_seed(0)
    encoder = FakeTextEncoder()
    model = MaskGmt(
        transformer=tiny_transformer(dim=64, dim_head=16),  # dim 64, 2 layers, K=4, V=32, T=16
        token_critic=tiny_critic(),
        text_encoder=encoder,
    )
    codes = random_codes(4, seed=1)
    reps = 8  # the 4 pairs repeated: each full-batch step sees many (level, mask) draws of each
    emb, mask = encoder.encode(CAPTIONS * reps)
    batch_codes = codes.repeat(reps, 1, 1)
    steps = 250
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / steps)  # decay: stable end
    model.train()
    first = None
    for _ in range(steps):
        out = model.compute_loss(batch_codes, text_embeds=emb, text_mask=mask)
        first = first if first is not None else out
        opt.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    model.eval()
    assert out.critic_loss < 0.5 * first.critic_loss

    gen = torch.Generator().manual_seed(0)
    made = model.generate(CAPTIONS, generator=gen, use_token_critic=False)  # default CFG 3
    acc = (made == codes).float().mean().item()
    assert acc >= 0.95, f"token accuracy {acc:.3f}"

    swapped = model.generate(CAPTIONS[::-1], generator=gen, use_token_critic=False)
    swap_acc = (swapped == codes.flip(0)).float().mean().item()
    assert swap_acc >= 0.95, f"swapped captions: token accuracy {swap_acc:.3f}"

    # bfloat16 autocast (the fast CPU option) decodes the trained model just as well.
    in_bf16 = model.generate(
        CAPTIONS, generator=gen, use_token_critic=False, compute_dtype=torch.bfloat16
    )
    assert (in_bf16 == codes).float().mean().item() >= 0.95

    by_critic = model.generate(CAPTIONS, generator=gen)  # default: re-mask by the critic
    assert (by_critic == codes).float().mean().item() >= 0.9
