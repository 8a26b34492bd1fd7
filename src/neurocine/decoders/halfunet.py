"""HalfUNet: decode images (movie frames) from embedding vectors.

Two architectures, chosen by the latent size (the original design's rule):

* :class:`UNetDecoderOnly` (``latent_dim < 1024``): the latent is projected to a small
  feature map and upsampled by 5 blocks (x2 each); every block concatenates a *skip*
  tensor made by a learned projection of the latent at that block's scale, as the
  decoder half of a UNet would concatenate encoder features. Native up to 64x128 at
  full width; any size works.
* :class:`ComplexLargeUNetDecoderOnly` (``latent_dim >= 1024``): an RRDB trunk
  (residual-in-residual dense blocks, ESRGAN) at low resolution, 5 PixelShuffle x2
  upsampling stages each followed by channel attention (squeeze-excitation, RCAN style),
  and an edge / high-frequency head whose output is added to the main image. Native up
  to 128x256.

Both return exactly ``output_shape`` for any size: they generate at the next multiple of
32 and resize bilinearly when the requested size is not one. Output is always
``(B, C, H, W)`` (also for one channel). The output is linear (unbounded); training with
``loss_fn='bce'`` applies a sigmoid.

Example:
    >>> import torch
    >>> dec = HalfUNetDecoder(input_dim=32, output_channels=1, output_shape=(64, 128))
    >>> dec(torch.randn(4, 32)).shape
    torch.Size([4, 1, 64, 128])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from neurocine.settings import DEFAULT

#: The settings table's ``reconstruction.output_shape``: what every decoder here outputs unless told.
OUTPUT_SHAPE = tuple(DEFAULT.reconstruction.output_shape)

COMPLEX_THRESHOLD = 1024
N_UPSAMPLE = 5


def _base_shape(output_shape: tuple[int, int], n_up: int = N_UPSAMPLE) -> tuple[int, int]:
    f = 2 ** n_up
    return max(1, math.ceil(output_shape[0] / f)), max(1, math.ceil(output_shape[1] / f))


def _fit(x: torch.Tensor, output_shape: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(output_shape):
        return x
    return F.interpolate(x, size=output_shape, mode="bilinear", align_corners=False)


def _maybe_checkpoint(module: nn.Module, enabled: bool, *args):
    if enabled and module.training and torch.is_grad_enabled():
        return checkpoint(module, *args, use_reentrant=False)
    return module(*args)


class _UpBlock(nn.Module):
    """x2 nearest upsampling, conv, concat skip, two conv-GroupNorm-SiLU."""

    def __init__(self, c_in: int, c_skip: int, c_out: int):
        super().__init__()
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1))
        self.body = nn.Sequential(
            nn.Conv2d(c_out + c_skip, c_out, 3, padding=1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU())

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        return self.body(torch.cat([x, skip], dim=1))


class UNetDecoderOnly(nn.Module):
    """Decoder half of a UNet driven by a latent vector.

    Args:
        latent_dim: Input vector size.
        output_channels: Image channels C.
        output_shape: ``(H, W)``.
        width: Channels at the lowest resolution (halved per block, at least 16).
        skip_channels: Channels of each latent skip projection.
        gradient_checkpointing: Recompute block activations in backward to save memory.
    """

    def __init__(self, latent_dim: int, output_channels: int = 1, output_shape=OUTPUT_SHAPE, width: int = 256,
                 skip_channels: int = 8, gradient_checkpointing: bool = False):
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.base = _base_shape(self.output_shape)
        self.gradient_checkpointing = gradient_checkpointing
        widths = [max(16, width // 2 ** i) for i in range(N_UPSAMPLE + 1)]
        h0, w0 = self.base
        self.stem = nn.Sequential(nn.Linear(latent_dim, widths[0] * h0 * w0), nn.SiLU())
        self.skip_shapes = []
        skips = []
        for i in range(N_UPSAMPLE):
            h, w = h0 * 2 ** (i + 1), w0 * 2 ** (i + 1)
            hs, ws = min(h, 16), min(w, 32)  # the projection is small; upsampled to (h, w)
            self.skip_shapes.append((hs, ws, h, w))
            skips.append(nn.Linear(latent_dim, skip_channels * hs * ws))
        self.skips = nn.ModuleList(skips)
        self.skip_channels = skip_channels
        self.blocks = nn.ModuleList(_UpBlock(widths[i], skip_channels, widths[i + 1]) for i in range(N_UPSAMPLE))
        self.head = nn.Conv2d(widths[-1], output_channels, 1)
        self.widths = widths

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        B = z.shape[0]
        x = self.stem(z).view(B, self.widths[0], *self.base)
        for block, proj, (hs, ws, h, w) in zip(self.blocks, self.skips, self.skip_shapes):
            skip = proj(z).view(B, self.skip_channels, hs, ws)
            if (hs, ws) != (h, w):
                skip = F.interpolate(skip, size=(h, w), mode="bilinear", align_corners=False)
            x = _maybe_checkpoint(block, self.gradient_checkpointing, x, skip)
        return _fit(self.head(x), self.output_shape)


class _DenseBlock(nn.Module):
    """Residual dense block (5 convs, growth ``g``), scaled residual."""

    def __init__(self, c: int, g: int = 32):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c + i * g, g if i < 4 else c, 3, padding=1) for i in range(5))
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x):
        feats = [x]
        for i, conv in enumerate(self.convs):
            out = conv(torch.cat(feats, dim=1))
            if i < 4:
                feats.append(self.act(out))
        return x + 0.2 * out


class RRDB(nn.Module):
    """Residual-in-residual dense block (ESRGAN): three dense blocks and a scaled skip."""

    def __init__(self, c: int, g: int = 32):
        super().__init__()
        self.blocks = nn.Sequential(_DenseBlock(c, g), _DenseBlock(c, g), _DenseBlock(c, g))

    def forward(self, x):
        return x + 0.2 * self.blocks(x)


class ChannelAttention(nn.Module):
    """Squeeze-excitation channel attention (RCAN)."""

    def __init__(self, c: int, reduction: int = 8):
        super().__init__()
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, max(4, c // reduction), 1), nn.ReLU(inplace=True),
                                nn.Conv2d(max(4, c // reduction), c, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x)


class _ShuffleUp(nn.Module):
    """conv -> PixelShuffle(2) -> LeakyReLU -> conv -> channel attention, residual."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(c_in, 4 * c_out, 3, padding=1), nn.PixelShuffle(2),
                                nn.LeakyReLU(0.2, inplace=True))
        self.refine = nn.Sequential(nn.Conv2d(c_out, c_out, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
                                    nn.Conv2d(c_out, c_out, 3, padding=1), ChannelAttention(c_out))

    def forward(self, x):
        x = self.up(x)
        return x + self.refine(x)


class ComplexLargeUNetDecoderOnly(nn.Module):
    """RRDB trunk + PixelShuffle upsampling with channel attention + edge head.

    Args:
        latent_dim: Input vector size.
        output_channels: Image channels C.
        output_shape: ``(H, W)``.
        width: Trunk channels.
        n_rrdb: RRDB blocks in the trunk.
        gradient_checkpointing: Recompute trunk and stage activations in backward.
    """

    def __init__(self, latent_dim: int, output_channels: int = 1, output_shape=OUTPUT_SHAPE, width: int = 64,
                 n_rrdb: int = 2, gradient_checkpointing: bool = False):
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.base = _base_shape(self.output_shape)
        self.gradient_checkpointing = gradient_checkpointing
        h0, w0 = self.base
        self.width = width
        self.stem = nn.Sequential(nn.Linear(latent_dim, width * h0 * w0), nn.LeakyReLU(0.2))
        self.trunk = nn.Sequential(*[RRDB(width) for _ in range(n_rrdb)])
        self.trunk_conv = nn.Conv2d(width, width, 3, padding=1)
        chans = [width, width, 48, 32, 32, 16]
        self.stages = nn.ModuleList(_ShuffleUp(chans[i], chans[i + 1]) for i in range(N_UPSAMPLE))
        self.to_image = nn.Sequential(nn.Conv2d(chans[-1], chans[-1], 3, padding=1), nn.LeakyReLU(0.2),
                                      nn.Conv2d(chans[-1], output_channels, 3, padding=1))
        self.edge_head = nn.Sequential(nn.Conv2d(chans[-1], chans[-1], 3, padding=1), nn.LeakyReLU(0.2),
                                       nn.Conv2d(chans[-1], output_channels, 3, padding=1))
        nn.init.zeros_(self.edge_head[-1].weight)  # starts as a no-op, learns the high frequencies
        nn.init.zeros_(self.edge_head[-1].bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.stem(z).view(z.shape[0], self.width, *self.base)
        x = x + self.trunk_conv(_maybe_checkpoint(self.trunk, self.gradient_checkpointing, x))
        for stage in self.stages:
            x = _maybe_checkpoint(stage, self.gradient_checkpointing, x)
        return _fit(self.to_image(x) + self.edge_head(x), self.output_shape)


class HalfUNetDecoder(nn.Module):
    """Embedding ``(B, input_dim)`` -> image ``(B, output_channels, H, W)``.

    Args:
        input_dim: Embedding dimension.
        output_channels: 1 (grayscale) or 3 (RGB).
        output_shape: ``(H, W)`` of the output, any size.
        latent_dim: Internal latent size (None -> ``input_dim``); ``< 1024`` selects
            :class:`UNetDecoderOnly`, ``>= 1024`` :class:`ComplexLargeUNetDecoderOnly`.
        gradient_checkpointing: Trade compute for activation memory.
    """

    def __init__(self, input_dim: int, output_channels: int = 1, output_shape=OUTPUT_SHAPE,
                 latent_dim: int | None = None,
                 gradient_checkpointing: bool = False):
        super().__init__()
        if input_dim < 1:
            raise ValueError(f"input_dim must be >= 1, got {input_dim}")
        if output_channels < 1:
            raise ValueError(f"output_channels must be >= 1, got {output_channels}")
        if len(output_shape) != 2 or min(output_shape) < 1:
            raise ValueError(f"output_shape must be (H, W) with H, W >= 1, got {output_shape}")
        self.input_dim = int(input_dim)
        self.output_channels = int(output_channels)
        self.output_shape = (int(output_shape[0]), int(output_shape[1]))
        self.latent_dim = int(latent_dim if latent_dim is not None else input_dim)
        self.project = nn.Sequential(nn.Linear(self.input_dim, self.latent_dim), nn.LayerNorm(self.latent_dim),
                                     nn.SiLU())
        if self.latent_dim >= COMPLEX_THRESHOLD:
            self.decoder = ComplexLargeUNetDecoderOnly(self.latent_dim, self.output_channels, self.output_shape,
                                                       gradient_checkpointing=gradient_checkpointing)
        else:
            self.decoder = UNetDecoderOnly(self.latent_dim, self.output_channels, self.output_shape,
                                           gradient_checkpointing=gradient_checkpointing)

    @property
    def architecture(self) -> str:
        return type(self.decoder).__name__

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        if embedding.ndim != 2 or embedding.shape[1] != self.input_dim:
            raise ValueError(f"expected embeddings of shape (batch, {self.input_dim}), got {tuple(embedding.shape)}")
        return self.decoder(self.project(embedding))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
