"""A small CIFAR-style ResNet (He et al., 2016), built in notebook 6.2 and reused by later
chapters (compression, interpretability, transfer).

``ResNet(in_channels=3, num_classes=6, widths=(16, 32, 64), blocks=(1, 1, 1))``: a 3x3 stem
(``stem_stride=2`` halves the input first, a cheap option for 32x32 and larger images),
one stage per width (the first block of every stage after the first halves the resolution),
each stage a stack of :class:`BasicBlock`, then global average pooling and a linear head.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus a shortcut; a 1x1 conv-BN projection when shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}: use a positive int")
        if stride not in (1, 2):
            raise ValueError(f"stride={stride!r}: use 1 or 2")
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(F(x) + shortcut(x))."""
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """Stem, stages of BasicBlocks, global average pooling, linear classifier."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10,
                 widths: Sequence[int] = (16, 32, 64), blocks: Sequence[int] = (1, 1, 1),
                 stem_stride: int = 1) -> None:
        super().__init__()
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels={in_channels!r}: use a positive int (3 for RGB)")
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes={num_classes!r}: use an int >= 2")
        widths, blocks = tuple(widths), tuple(blocks)
        if not widths or len(widths) != len(blocks):
            raise ValueError(f"widths={widths} and blocks={blocks}: give one block count per width")
        if any(b < 1 for b in blocks):
            raise ValueError(f"blocks={blocks}: every stage needs at least one block")
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride={stem_stride!r}: use 1 (CIFAR-style) or 2 (halve "
                             "the input first, for larger images)")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages, width = [], widths[0]
        for i, (w, b) in enumerate(zip(widths, blocks)):
            stage = [BasicBlock(width, w, stride=1 if i == 0 else 2)]
            stage += [BasicBlock(w, w) for _ in range(b - 1)]
            stages.append(nn.Sequential(*stage))
            width = w
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled features before the classifier, (batch, widths[-1])."""
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, (batch, num_classes)."""
        return self.fc(self.features(x))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
