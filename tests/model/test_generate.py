"""generate(): prompts stay fixed, seeds repeat, steps and frames as asked, caches hold."""

from __future__ import annotations

import pytest
import torch

from maskgmt.model import MaskGmt, default_steps
from maskgmt.model.backbone import CodeBackbone

from .conftest import FakeTextEncoder, K, T, V, random_codes, text_inputs

CAPTIONS = ["slow piano", "fast drums and bass"]


@pytest.mark.parametrize("use_critic", [False, True])
def test_prompt_tokens_survive_generation(critic_model: MaskGmt, use_critic: bool) -> None:
    prompt = random_codes(2, seed=3)
    given = torch.rand(2, K, T, generator=torch.Generator().manual_seed(4)) < 0.4
    given[:, 0, :4] = True
    out = critic_model.generate(
        CAPTIONS, prompt=prompt, prompt_mask=given, use_token_critic=use_critic,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert out.shape == (2, K, T) and out.dtype == torch.long
    assert torch.equal(out[given], prompt[given])
    assert int(out.min()) >= 0 and int(out.max()) < V


def test_fully_given_level_costs_no_pass(model: MaskGmt) -> None:
    calls: list[int] = []
    hook = model.transformer.backbone.register_forward_hook(lambda *a: calls.append(1))
    prompt = random_codes(2)
    given = torch.zeros(2, K, T, dtype=torch.bool)
    given[:, 0] = True  # level 0 given (e.g. re-generating the upper levels of a clip)
    try:
        out = model.generate(CAPTIONS, prompt=prompt, prompt_mask=given, steps=3)
    finally:
        hook.remove()
    assert torch.equal(out[:, 0], prompt[:, 0])
    assert len(calls) == 3 * (K - 1)


def test_prefix_prompt_is_continued(model: MaskGmt) -> None:
    prefix = random_codes(2, seed=3, frames=6)
    out = model.generate(CAPTIONS, prompt=prefix, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, K, T)
    assert torch.equal(out[..., :6], prefix)


def test_seeded_generation_is_deterministic(critic_model: MaskGmt) -> None:
    def run(seed: int) -> torch.Tensor:
        return critic_model.generate(
            CAPTIONS, top_k=8, top_p=0.9, generator=torch.Generator().manual_seed(seed)
        )

    a, b, c = run(1), run(1), run(2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_steps_and_frames(model: MaskGmt) -> None:
    calls: list[int] = []
    hook = model.transformer.backbone.register_forward_hook(lambda *a: calls.append(1))
    try:
        out = model.generate(CAPTIONS, num_frames=9, steps=2)
        assert out.shape == (2, K, 9)
        assert len(calls) == 2 * K  # one int applies to every level
        calls.clear()
        model.generate(CAPTIONS)  # T = 16 frames: at least one token per step for every step
        assert len(calls) == sum(default_steps(K))
        calls.clear()
        model.generate(CAPTIONS, num_frames=3)  # 3 tokens a level: done after 3 steps at most
        assert len(calls) == sum(min(3, s) for s in default_steps(K))
    finally:
        hook.remove()
    # Many steps where the music is decided, few for each residual level.
    assert default_steps(8)[0] >= 8 and set(default_steps(8)[1:]) == {default_steps(8)[1]} <= {1, 2}
    assert default_steps(1) == default_steps(8)[:1]


def test_critic_pass_count(critic_model: MaskGmt) -> None:
    main: list[int] = []
    critic: list[int] = []
    h1 = critic_model.transformer.backbone.register_forward_hook(lambda *a: main.append(1))
    h2 = critic_model.token_critic.backbone.register_forward_hook(lambda *a: critic.append(1))
    try:
        critic_model.generate(CAPTIONS, steps=(4, 2, 1, 1))
    finally:
        h1.remove()
        h2.remove()
    assert len(main) == 8
    assert len(critic) == 3 + 1  # no critic pass on a level's last step: nothing left to re-mask


def test_text_is_encoded_once_per_call(
    model: MaskGmt, encoder: FakeTextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    contexts: list[int] = []
    original = CodeBackbone.text_context

    def counting(self, *args, **kwargs):
        contexts.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CodeBackbone, "text_context", counting)
    encoder.calls = 0
    model.generate(CAPTIONS, steps=3)
    assert encoder.calls == 1
    assert len(contexts) == 1  # cross-attention keys/values once for all steps and levels


def test_unconditional_and_progress_bar(model: MaskGmt, capsys: pytest.CaptureFixture) -> None:
    out = model.generate(steps=2, progress=True)
    assert out.shape == (1, K, T)
    assert "generate" in capsys.readouterr().err


def test_annealed_cfg_and_greedy_run(model: MaskGmt) -> None:
    emb, mask = text_inputs(2)
    kw = dict(min_cond_scale=1.0, temperature=0.0, choice_temperature=0.0)
    a = model.generate(text_embeds=emb, text_mask=mask, **kw)
    b = model.generate(text_embeds=emb, text_mask=mask, **kw)
    assert torch.equal(a, b)  # greedy decoding without re-masking noise needs no generator
