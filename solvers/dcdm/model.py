"""The DCDM network: a small residual U-Net mapping a residual field to a search direction.

Kaneda et al. (arXiv 2205.10763, Sec. 3.3): 3x3(x3) convolutions, 16 channels, pooling /
upsampling with residual skips. Here, for ``levels`` = L:

    h_0 = act(conv_in(r));  h_l = block_l(h_l) with h_{l+1} = avgpool2(h_l)   (l < L)
    block(h) = h + conv(act(conv(h)))                                         (residual block)
    going up: h_l = act(conv_up_l(upsample(h_{l+1}) + h_l));  q = conv_out(h_0)

The convolutions have no bias, so the net is positively homogeneous (net(c r) = c net(r), c > 0)
and maps 0 to 0; ``forward`` scales each input to unit RMS (numerics only) and the line search
fixes the scale of q. (With biases and unit-norm inputs, whose entries are ~1/sqrt(N), the
biases dominate and training sits at the trivial minimum loss = 1: q uncorrelated with b.)
Boundary (Dirichlet) nodes carry zeros in; the callers mask the output to the interior. Any grid
size works (padded to a multiple of 2^(L-1) and cropped): "transfer to a larger grid".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Architecture:
    """What a model file must match: dimension, width, depth and activation."""

    dim: int = 2
    channels: int = 16
    levels: int = 4
    activation: str = "relu"

    def asdict(self) -> dict:
        return asdict(self)


_ACT = {"relu": nn.ReLU, "identity": nn.Identity, "prelu": nn.PReLU}


def _conv(dim: int, cin: int, cout: int) -> nn.Module:
    return (nn.Conv2d if dim == 2 else nn.Conv3d)(cin, cout, 3, padding=1, bias=False)


class _Block(nn.Module):
    """h + conv(act(conv(h)))."""

    def __init__(self, dim: int, c: int, act: str):
        super().__init__()
        self.c1, self.c2 = _conv(dim, c, c), _conv(dim, c, c)
        self.act = _ACT[act]()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.c2(self.act(self.c1(h)))


class DCDMNet(nn.Module):
    """Residual U-Net, 2D or 3D (see the module docstring). Input/output ``(B, 1, *shape)``."""

    def __init__(self, arch: Architecture):
        super().__init__()
        if arch.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {arch.dim}")
        if arch.activation not in _ACT:
            raise ValueError(f"activation must be one of {sorted(_ACT)}, got {arch.activation!r}")
        d, c = arch.dim, arch.channels
        self.arch = arch
        self.conv_in = _conv(d, 1, c)
        self.blocks = nn.ModuleList(_Block(d, c, arch.activation) for _ in range(arch.levels))
        self.ups = nn.ModuleList(_conv(d, c, c) for _ in range(arch.levels - 1))
        self.conv_out = _conv(d, c, 1)
        self.act = _ACT[arch.activation]()

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        shape = r.shape[2:]
        rms = r.flatten(1).pow(2).mean(1).sqrt().clamp_min(1e-30)
        r = r / rms.view(-1, *([1] * (r.dim() - 1)))
        m = 2 ** (self.arch.levels - 1)
        pad = []
        for n in reversed(shape):                 # F.pad wants the last dimension first
            pad += [0, (-n) % m]
        x = F.pad(r, pad) if any(pad) else r
        pool = F.avg_pool2d if self.arch.dim == 2 else F.avg_pool3d
        h = self.act(self.conv_in(x))
        skips = []
        for level, block in enumerate(self.blocks):
            h = block(h)
            if level < self.arch.levels - 1:
                skips.append(h)
                h = pool(h, 2)
        for level in reversed(range(self.arch.levels - 1)):
            h = F.interpolate(h, scale_factor=2, mode="nearest") + skips[level]
            h = self.act(self.ups[level](h))
        q = self.conv_out(h)
        return q[(...,) + tuple(slice(0, n) for n in shape)] * rms.view(-1, *([1] * (q.dim() - 1)))


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def flops(arch: Architecture, shape: tuple[int, ...]) -> float:
    """Multiply-adds x 2 of one forward pass on a grid of ``shape`` (convolutions only)."""
    k = 3 ** arch.dim
    c = arch.channels
    m = 2 ** (arch.levels - 1)
    n0 = 1.0
    for n in shape:
        n0 *= n + (-n) % m
    total = 2 * k * n0 * (1 * c + c * 1)                  # conv_in + conv_out
    for level in range(arch.levels):
        n = n0 / (2 ** arch.dim) ** level
        total += 2 * k * n * c * c * 2                     # the block's two convolutions
        if level < arch.levels - 1:
            total += 2 * k * n * c * c                     # conv_up at this level
    return total
