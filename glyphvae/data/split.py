"""Train/validation splits that keep every papyrus on one side.

Crops from one papyrus share a scribe, an ink and a paper colour. A split by file puts the
same hand on both sides and flatters the model; a split by papyrus (group) measures what a
user gets on a papyrus the model has never seen.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["split_indices"]


def split_indices(
    n: int,
    groups: Sequence[str | None] | None = None,
    val_fraction: float = 0.15,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n`` items into train and validation indices, by group when groups are known.

    Groups are shuffled with ``seed`` and moved to validation until it holds at least
    ``val_fraction`` of the items, so no group is on both sides. Without groups (or with a
    single group) the split is by item.

    Args:
        n: Number of items.
        groups: A group id per item (e.g. the papyrus TM number), or ``None``.
        val_fraction: Wanted share of items in validation, in ``[0, 1)``. ``0`` gives an
            empty validation set.
        seed: Seed for the shuffle; the same inputs always give the same split.

    Returns:
        ``(train_indices, val_indices)``, sorted ``int64`` arrays.

    Raises:
        ValueError: If ``val_fraction`` is out of range or ``groups`` has the wrong length.

    >>> tr, va = split_indices(6, ["a", "a", "b", "b", "c", "c"], val_fraction=0.3, seed=0)
    >>> len(tr), len(va)
    (4, 2)
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"Expected `val_fraction` in [0, 1). Received: {val_fraction!r}")
    if groups is not None and len(groups) != n:
        raise ValueError(f"Expected {n} group ids, one per item. Received {len(groups)}")
    all_idx = np.arange(n, dtype=np.int64)
    if n == 0 or val_fraction == 0.0:
        return all_idx, np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    target = max(1, round(val_fraction * n)) if n > 1 else 0

    names = [str(g) for g in groups if g not in (None, "")] if groups is not None else []
    known = groups is not None and len(names) == n
    unique = sorted(set(names)) if known else []
    if len(unique) >= 2:
        order = rng.permutation(len(unique))
        group_arr = np.asarray(names)
        chosen: list[str] = []
        count = 0
        for k in order:
            if count >= target or len(chosen) == len(unique) - 1:
                break
            g = unique[k]
            chosen.append(g)
            count += int(np.sum(group_arr == g))
        val_mask = np.isin(group_arr, chosen)
    else:
        if known and len(unique) == 1:
            warnings.warn(
                "All crops come from one papyrus (group); splitting by file instead, so "
                "validation figures will be optimistic.",
                UserWarning,
                stacklevel=2,
            )
        val_mask = np.zeros(n, dtype=bool)
        val_mask[rng.permutation(n)[:target]] = True
    return all_idx[~val_mask], all_idx[val_mask]
