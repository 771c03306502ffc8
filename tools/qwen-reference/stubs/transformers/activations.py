"""Activation lookup table (the names Qwen2.5-VL configurations use)."""

import torch.nn as nn


class _Table(dict):
    def __getitem__(self, key):
        return super().__getitem__(key)()


ACT2FN = _Table(
    silu=nn.SiLU,
    swish=nn.SiLU,
    gelu=nn.GELU,
    relu=nn.ReLU,
    quick_gelu=lambda: _QuickGELU(),
)


class _QuickGELU(nn.Module):
    def forward(self, x):
        import torch

        return x * torch.sigmoid(1.702 * x)
