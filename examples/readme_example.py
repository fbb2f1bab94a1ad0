"""The README quick start, as a script: build the model, one training loss, one generation."""

import torch

from maskgmt import MaskGmt, MaskGmtTransformer, TokenCritic

transformer = MaskGmtTransformer(
    num_tokens=1024, seq_len=750, dim=512, n_q=8, depth=2, dim_head=64, heads=8, ff_mult=4
)
critic = TokenCritic(num_tokens=1024, seq_len=750, dim=512, depth=6)
model = MaskGmt(
    transformer=transformer, cond_drop_prob=0.25, token_critic=critic, self_token_critic=False
)

texts = ["I have a pencil", "I have a pen"]
music = torch.ones(2, 8, 750).long()
loss = model(music_ids=music, texts=texts)  # training loss, a scalar
loss.backward()
codes = model.generate(texts=texts, cond_scale=3.0)  # LongTensor [2, 8, 750], values in [0, 1024)

assert codes.shape == (2, 8, 750) and codes.dtype == torch.long
assert int(codes.min()) >= 0 and int(codes.max()) < 1024
print(f"loss {loss.item():.3f}; generated codes {tuple(codes.shape)}")
