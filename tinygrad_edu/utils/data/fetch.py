"""Fetchers: how one batch is built from a dataset, the same in the main process and in a
worker process.

- map-style datasets: the sampler gives the batch's indices; the fetcher asks the dataset for
  those samples and collates them (or, on the fast path, asks `dataset.get_batch(indices)` for
  the whole batch at once);
- iterable-style datasets: the fetcher takes the next `batch_size` samples from the dataset's
  iterator and collates them; it raises StopIteration when the iterator is used up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .dataset import IterableDataset


class MapFetcher:
    """Batches of a map-style dataset, by index."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable[[Any], Any],
                 use_get_batch: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.get_batch = getattr(dataset, "get_batch", None) if use_get_batch else None

    def fetch(self, indices: Any) -> Any:
        if not self.auto_collation:  # batch_size=None: `indices` is one index, no batching
            return self.collate_fn(self.dataset[indices])
        if self.get_batch is not None:  # the fast path: the whole batch in one indexing op
            batch = self.get_batch(np.asarray(indices, dtype=np.int64))
            if batch is not NotImplemented:
                return batch
            self.get_batch = None  # the dataset said no: fetch sample by sample from now on
        return self.collate_fn([self.dataset[i] for i in indices])


class IterableFetcher:
    """Batches of an iterable-style dataset: the next samples of its iterator."""

    def __init__(self, dataset: Iterable[Any], auto_collation: bool,
                 collate_fn: Callable[[Any], Any], drop_last: bool) -> None:
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, indices: Any) -> Any:
        """`indices` only says how many samples the batch has (a list of Nones)."""
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        samples = []
        for _ in indices:
            try:
                samples.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not samples or (self.drop_last and len(samples) < len(indices)):
            raise StopIteration
        return self.collate_fn(samples)


def make_fetcher(dataset: Any, auto_collation: bool, collate_fn: Callable[[Any], Any],
                 drop_last: bool, use_get_batch: bool) -> MapFetcher | IterableFetcher:
    """The fetcher for `dataset`: by index for map-style datasets, by iteration otherwise."""
    if isinstance(dataset, IterableDataset):
        return IterableFetcher(dataset, auto_collation, collate_fn, drop_last)
    return MapFetcher(dataset, auto_collation, collate_fn, use_get_batch)
