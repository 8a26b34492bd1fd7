"""Many sessions' encoders as one set of grouped convolutions.

A multi-session model has one CEBRA encoder per session (their input sizes differ). Run
one after the other, each is a handful of small kernels, so the cost per step grows with
the session count even when each session's work is tiny. :class:`GroupedEncoders` runs
all sessions at once: each layer's weights are stacked over sessions (the first layer's
zero-padded to the largest neuron count, a block-diagonal weight) and applied as one
grouped ``conv1d`` (``groups = sessions``); the batch rows of each session are padded to
the largest session's row count. The weights stay the per-session encoders' own
parameters (stacked anew each step, differentiably), so optimiser state, checkpoints and
``transform`` are unchanged and the result equals the session-by-session forward up to
float rounding.

Supported: CEBRA's convolutional offset models (``Conv1d``, ``GELU``, skip blocks, the
final normalisation), e.g. ``offset10-model``; :func:`supports` says whether a model is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _layers(encoder: nn.Module) -> list[nn.Module] | None:
    net = getattr(encoder, "net", None)
    if not isinstance(net, nn.Sequential):
        return None
    return list(net)


def supports(encoders) -> bool:
    """True when every encoder (of a MultiSessionEncoder, or a list) is a stack this module
    can group."""
    from cebra.models.layers import _Norm, _Skip

    def ok(layer):
        if isinstance(layer, (nn.Conv1d,)):
            return layer.stride == (1,) and layer.padding == (0,) and layer.dilation == (1,) and layer.groups == 1
        if isinstance(layer, nn.GELU) or type(layer).__name__ in ("Squeeze", "_Norm"):
            return True
        if isinstance(layer, _Skip):
            return all(ok(m) for m in layer.module)
        return False

    encoders = list(getattr(encoders, "encoders", encoders))
    layers = [_layers(e) for e in encoders]
    if any(lay is None for lay in layers) or len(encoders) < 2:
        return False
    shapes = [[type(x).__name__ for x in lay] for lay in layers]
    return all(s == shapes[0] for s in shapes) and all(ok(x) for x in layers[0]) and \
        isinstance(layers[0][-2], _Norm)


def _grouped_conv(x: torch.Tensor, convs: list[nn.Conv1d], in_channels: int) -> torch.Tensor:
    """``x`` ``(M, S * in_channels, W)`` through each session's conv as one grouped conv."""
    weights = [F.pad(c.weight, (0, 0, 0, in_channels - c.weight.shape[1])) for c in convs]
    weight = torch.cat(weights, 0)
    bias = torch.cat([c.bias for c in convs], 0) if convs[0].bias is not None else None
    return F.conv1d(x, weight, bias, groups=len(convs))


def grouped_forward(encoders, windows: list[torch.Tensor]) -> list[torch.Tensor]:
    """Embed each session's windows ``(M_s, N_s, W)`` with its own encoder, all at once.

    Args:
        encoders: The sessions' encoders (a MultiSessionEncoder or a list), one per window.

    Returns:
        ``[(M_s, D), ...]``, as ``[encoders[s](windows[s]) for s]`` would.
    """
    from cebra.models.layers import _Skip

    S = len(windows)
    rows = max(w.shape[0] for w in windows)
    n_max = max(w.shape[1] for w in windows)
    W = windows[0].shape[2]
    x = windows[0].new_zeros((rows, S, n_max, W))
    for s, w in enumerate(windows):
        x[:w.shape[0], s, :w.shape[1]] = w
    x = x.reshape(rows, S * n_max, W)
    layers = [_layers(e) for e in getattr(encoders, "encoders", encoders)]
    channels = n_max
    for depth, layer in enumerate(layers[0]):
        if isinstance(layer, nn.Conv1d):
            x = _grouped_conv(x, [lay[depth] for lay in layers], channels)
            channels = layer.out_channels
        elif isinstance(layer, nn.GELU):
            x = F.gelu(x)
        elif isinstance(layer, _Skip):
            inner = x
            for k, sub in enumerate(layer.module):
                if isinstance(sub, nn.Conv1d):
                    inner = _grouped_conv(inner, [lay[depth].module[k] for lay in layers], channels)
                else:
                    inner = F.gelu(inner)
            x = x[..., layer.crop] + inner
        elif type(layer).__name__ == "_Norm":
            x = x.reshape(rows, S, channels, -1)
            x = x / torch.norm(x, dim=2, keepdim=True)
        # Squeeze: handled below
    x = x.reshape(rows, S, channels, -1)[..., 0]
    return [x[:w.shape[0], s] for s, w in enumerate(windows)]




#: ``grouped_sessions: auto`` groups on CUDA devices from this many sessions on, where
#: per-session kernel launches are the overhead (not measured: no GPU was available). On a
#: CPU it never groups: a whole training step measured 1.12x / 0.92x / 0.85x / 1.11x at
#: 4 / 16 / 64 / 256 sessions (bench/bench_many_sessions.py), no consistent gain.
AUTO_MIN_SESSIONS = 16
__all__ = ["grouped_forward", "supports", "AUTO_MIN_SESSIONS"]
