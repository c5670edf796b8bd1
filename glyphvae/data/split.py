"""Train/validation splits that keep every papyrus on one side, the same side for every letter.

Crops from one papyrus share a scribe, an ink and a paper colour. A split by file puts the
same hand on both sides and flatters the model; a split by papyrus (group) measures what a
user gets on a papyrus the model has never seen.

Each group goes to validation when a hash of ``(seed, group id)`` falls below
``val_fraction``. The decision depends on the group alone, not on which other groups are
present, so with the same seed a papyrus held out of the epsilon model is also held out of
the alpha model and of the letter classifier: evaluation on held-out papyri is honest across
all of them.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["group_score", "split_indices"]


def group_score(group: str, seed: int = 0) -> float:
    """A stable pseudo-random number in ``[0, 1)`` for a group id and a seed.

    >>> group_score("1011", 0) == group_score("1011", 0)
    True
    """
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_indices(
    n: int,
    groups: Sequence[str | None] | None = None,
    val_fraction: float = 0.15,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n`` items into train and validation indices, by group when groups are known.

    A group (e.g. a papyrus) is held out when :func:`group_score` of its id is below
    ``val_fraction``; so the held-out share is ``val_fraction`` on average and each group's
    side does not depend on the other groups. At least one group goes to each side when
    there are two or more. Without groups, every item is its own group. With a single
    group, the split falls back to items (with a warning).

    Args:
        n: Number of items.
        groups: A group id per item (e.g. the papyrus TM number), or ``None``.
        val_fraction: Expected share of groups in validation, in ``[0, 1)``. ``0`` gives an
            empty validation set.
        seed: Seed of the hash; the same seed always gives the same sides.

    Returns:
        ``(train_indices, val_indices)``, sorted ``int64`` arrays.

    Raises:
        ValueError: If ``val_fraction`` is out of range or ``groups`` has the wrong length.

    >>> groups = ["a", "a", "b", "b", "c", "c"]
    >>> train, val = split_indices(6, groups, val_fraction=0.3, seed=0)
    >>> sorted({groups[i] for i in train}), sorted({groups[i] for i in val})
    (['b', 'c'], ['a'])
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"Expected `val_fraction` in [0, 1). Received: {val_fraction!r}")
    if groups is not None and len(groups) != n:
        raise ValueError(f"Expected {n} group ids, one per item. Received {len(groups)}")
    all_idx = np.arange(n, dtype=np.int64)
    if n < 2 or val_fraction == 0.0:
        return all_idx, np.empty(0, dtype=np.int64)

    known = groups is not None and all(g not in (None, "") for g in groups)
    names = [str(g) for g in groups] if known and groups is not None else [str(i) for i in all_idx]
    unique = sorted(set(names))
    if len(unique) == 1:
        warnings.warn(
            "All crops come from one papyrus (group); splitting by file instead, so "
            "validation figures will be optimistic.",
            UserWarning,
            stacklevel=2,
        )
        names, unique = [str(i) for i in all_idx], [str(i) for i in all_idx]
    scores = {g: group_score(g, seed) for g in unique}
    held = {g for g, s in scores.items() if s < val_fraction}
    if not held:  # tiny sets: hold out the lowest-scoring group
        held = {min(unique, key=scores.__getitem__)}
    if len(held) == len(unique):  # keep at least one group for training
        held.discard(max(unique, key=scores.__getitem__))
    val_mask = np.fromiter((g in held for g in names), dtype=bool, count=n)
    return all_idx[~val_mask], all_idx[val_mask]
