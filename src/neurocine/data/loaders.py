"""Loaders over a split: the original design's batch-4 DataLoader and the on-device fast path."""

from __future__ import annotations

import torch

from neurocine.data.splits import SplitData


class SplitDataset(torch.utils.data.Dataset):
    """Map-style dataset over one :class:`SplitData`: item ``i`` is
    ``(neural (N,) float32, time () float32)``, as the original design's DataLoader yields."""

    def __init__(self, data: SplitData):
        self.neural = torch.from_numpy(data.neural)
        self.time = torch.from_numpy(data.time)

    def __len__(self) -> int:
        return self.neural.shape[0]

    def __getitem__(self, i):
        return self.neural[i], self.time[i]


def make_dataloader(data: SplitData, batch_size: int = 4, shuffle: bool = False, seed: int = 0,
                    num_workers: int = 0) -> torch.utils.data.DataLoader:
    """The original design's per-session DataLoader: batches of ``(neural [B, N], time [B])``.

    Convenient for inspection; training uses :class:`TensorSampler`, which is much faster.
    """
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(SplitDataset(data), batch_size=batch_size, shuffle=shuffle,
                                       generator=g, num_workers=num_workers)


class TensorSampler:
    """Fast path: one session split kept as a single tensor on ``device``; batches are
    drawn by sampling indices on the device (no per-item Python).

    Example:
        >>> import numpy as np
        >>> from neurocine.data import SplitData, TensorSampler
        >>> z = np.zeros(100, dtype=np.int64)
        >>> d = SplitData("s", np.ones((100, 7), np.float32), np.linspace(0, 1, 100, dtype=np.float32),
        ...               np.arange(100), z, {}, z, (7,))
        >>> neural, time, idx = TensorSampler(d).sample(32)
        >>> tuple(neural.shape), tuple(time.shape)
        ((32, 7), (32,))
    """

    def __init__(self, data: SplitData, device: str | torch.device = "cpu", seed: int = 0):
        self.device = torch.device(device)
        self.neural = torch.as_tensor(data.neural, device=self.device)
        self.time = torch.as_tensor(data.time, device=self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def __len__(self) -> int:
        return self.neural.shape[0]

    def sample(self, batch_size: int):
        """``(neural [B, N], time [B], index [B])`` drawn uniformly with replacement."""
        idx = torch.randint(len(self), (batch_size,), device=self.device, generator=self.generator)
        return self.neural[idx], self.time[idx], idx

    def batches(self, batch_size: int):
        """Iterate the whole split once in order, ``batch_size`` rows at a time."""
        for start in range(0, len(self), batch_size):
            yield self.neural[start:start + batch_size], self.time[start:start + batch_size]


__all__ = ["SplitDataset", "make_dataloader", "TensorSampler"]
