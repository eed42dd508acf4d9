"""Token shards on disk and a resumable stream over them, as taught in notebook 11.2.

* ``write_shards(docs, folder, tokens_per_shard=...)`` concatenates tokenized documents (an
  optional end-of-text id after each), cuts the stream into binary files of
  ``tokens_per_shard`` tokens (``shard-00000.bin``, ...) and writes ``index.json`` (names, token
  counts, dtype), every file atomically (a temporary file, then a rename);
* ``read_index(folder)`` reads and checks that index;
* ``ShardStream`` is a ``torch.utils.data.IterableDataset`` that reads windows of
  ``block_size + 1`` tokens through ``np.memmap`` and yields ``(x, y)`` (or batches of them).

The order of one epoch is fixed by ``(seed, epoch)``: the shard order is a permutation drawn
from ``default_rng([seed, epoch])`` and each shard's windows are permuted by
``default_rng([seed, epoch, shard])``. Ranks take every ``world_size``-th window of that order
(the remainder is dropped so every rank sees as many); a rank's items (windows, or batches of
``batch_size`` windows) are numbered by a position that runs on across epochs, and DataLoader
worker ``w`` of ``n`` yields positions ``start + w, start + w + n, ...``, so the loader's output
is the same for any number of workers. ``state_dict()`` records that position and
``load_state_dict()`` resumes from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from utils.checkpoint import write_bytes_atomic

__all__ = ["INDEX_NAME", "ShardStream", "read_index", "write_shards"]

INDEX_NAME = "index.json"
FORMAT = "zero-to-large token shards"
FORMAT_VERSION = 1


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype {dtype!r} is not a NumPy dtype; use np.uint16 or np.uint32") from None
    if dt.kind not in "ui":
        raise TypeError(f"dtype {dt} is not an integer type; token ids need np.uint16 or np.uint32")
    return dt


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def write_shards(token_ids_iterable_of_docs: Iterable[Any], folder: str | Path, *,
                 tokens_per_shard: int, dtype: Any = np.uint16,
                 eot: int | None = None) -> list[Path]:
    """Write documents' token ids as binary shards of ``tokens_per_shard`` tokens (the last may
    be shorter) plus ``index.json``; return the shard paths (none for no tokens, as an empty
    partition of a parallel job gives). ``eot`` is appended after each document. Re-writing a
    folder replaces its index; shards it no longer lists are removed."""
    tokens_per_shard = _positive_int("tokens_per_shard", tokens_per_shard)
    dt = _check_dtype(dtype)
    info = np.iinfo(dt)
    if eot is not None:
        if isinstance(eot, bool) or not isinstance(eot, (int, np.integer)):
            raise TypeError(f"eot must be an int token id or None, got {eot!r}")
        if not info.min <= eot <= info.max:
            raise ValueError(f"eot={eot} does not fit {dt} ({info.min}..{info.max}); "
                             f"use a wider dtype such as np.uint32")
    if isinstance(token_ids_iterable_of_docs, (str, bytes)):
        raise TypeError("pass an iterable of documents (each a sequence of token ids), not a "
                        "string; tokenize the text first")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    buffer = np.empty(tokens_per_shard, dtype=dt)
    filled = 0
    shards: list[dict[str, Any]] = []

    def flush(n: int) -> None:
        name = f"shard-{len(shards):05d}.bin"
        write_bytes_atomic(folder / name, buffer[:n].tobytes())
        shards.append({"name": name, "tokens": int(n)})

    for d, doc in enumerate(token_ids_iterable_of_docs):
        ids = np.asarray(doc)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "ui"):
            raise TypeError(f"document {d} is not a 1-D sequence of integer token ids "
                            f"(got dtype {ids.dtype}, shape {ids.shape})")
        if ids.size:
            low, high = int(ids.min()), int(ids.max())
            if low < info.min or high > info.max:
                bad = low if low < info.min else high
                raise ValueError(f"document {d} holds token id {bad}, which does not fit {dt} "
                                 f"({info.min}..{info.max}); pass dtype=np.uint32")
        if eot is not None:
            ids = np.append(ids.astype(dt, copy=False), np.array([eot], dtype=dt))
        ids = ids.astype(dt, copy=False)
        while ids.size:
            take = min(tokens_per_shard - filled, ids.size)
            buffer[filled:filled + take] = ids[:take]
            filled += take
            ids = ids[take:]
            if filled == tokens_per_shard:
                flush(filled)
                filled = 0
    if filled:
        flush(filled)

    index = {"format": FORMAT, "version": FORMAT_VERSION, "dtype": dt.name, "eot": eot,
             "tokens_per_shard": tokens_per_shard,
             "total_tokens": sum(s["tokens"] for s in shards), "shards": shards}
    write_bytes_atomic(folder / INDEX_NAME, json.dumps(index, indent=1).encode("utf-8"))
    keep = {s["name"] for s in shards}
    for old in folder.glob("shard-*.bin"):
        if old.name not in keep:
            old.unlink()
    return [folder / s["name"] for s in shards]


def read_index(folder: str | Path) -> dict[str, Any]:
    """The index of a shard folder written by ``write_shards``, checked against the files."""
    folder = Path(folder)
    path = folder / INDEX_NAME
    if not path.is_file():
        raise ValueError(f"no {INDEX_NAME} in {folder}; write the shards with write_shards first")
    index = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(index, dict) or index.get("format") != FORMAT \
            or index.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a version-{FORMAT_VERSION} index from utils.shards; "
                         f"re-write the folder with write_shards")
    itemsize = np.dtype(index["dtype"]).itemsize
    for shard in index["shards"]:
        file = folder / shard["name"]
        expected = shard["tokens"] * itemsize
        if not file.is_file() or file.stat().st_size != expected:
            size = file.stat().st_size if file.is_file() else "no"
            raise ValueError(f"shard {file.name} has {size} bytes, the index says {expected}; "
                             f"re-write the folder with write_shards")
    return index


class ShardStream(IterableDataset):
    """Windows of ``block_size + 1`` tokens from a shard folder as ``(x, y)`` pairs (or
    ``(B, T)`` batches), shuffled per epoch from ``seed``, split across ranks and DataLoader
    workers, resumable with ``state_dict``/``load_state_dict``; ``epochs=None`` runs forever."""

    def __init__(self, folder: str | Path, block_size: int, *, batch_size: int | None = None,
                 seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1,
                 epochs: int | None = None) -> None:
        super().__init__()
        self.block_size = _positive_int("block_size", block_size)
        self.batch_size = None if batch_size is None else _positive_int("batch_size", batch_size)
        self.world_size = _positive_int("world_size", world_size)
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
                or not 0 <= rank < self.world_size:
            raise ValueError(f"rank={rank!r} must be an int in 0..{self.world_size - 1} "
                             f"(world_size={self.world_size})")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative int")
        self.epochs = None if epochs is None else _positive_int("epochs", epochs)
        self.rank, self.seed, self.shuffle = int(rank), int(seed), bool(shuffle)
        self.folder = Path(folder)
        index = read_index(self.folder)
        self.dtype = np.dtype(index["dtype"])
        self.files = [self.folder / s["name"] for s in index["shards"]]
        self.windows_per_shard = [max(0, (s["tokens"] - 1) // self.block_size)
                                  for s in index["shards"]]
        #: windows in one epoch over all ranks, and the share of each rank
        self.windows_per_epoch = sum(self.windows_per_shard)
        self.windows_per_rank = self.windows_per_epoch // self.world_size
        #: items (windows, or batches) this rank yields per epoch
        self.items_per_epoch = (self.windows_per_rank if self.batch_size is None
                                else self.windows_per_rank // self.batch_size)
        if self.items_per_epoch == 0:
            raise ValueError(f"{self.folder} holds {self.windows_per_epoch} windows of "
                             f"{self.block_size + 1} tokens, too few for world_size="
                             f"{self.world_size} and batch_size={self.batch_size}; write more "
                             f"tokens or use a smaller block_size/batch_size")
        self._start = 0
        self._position = 0

    # ------------------------------------------------------------------ the order
    def epoch_order(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """All windows of ``epoch`` in order, over all ranks: (shard index, start token)."""
        n = len(self.files)
        shard_order = (np.random.default_rng([self.seed, epoch]).permutation(n)
                       if self.shuffle else np.arange(n))
        shard_ids, starts = [], []
        for s in shard_order:
            k = self.windows_per_shard[s]
            perm = (np.random.default_rng([self.seed, epoch, int(s)]).permutation(k)
                    if self.shuffle else np.arange(k))
            shard_ids.append(np.full(k, s, dtype=np.int64))
            starts.append(perm.astype(np.int64) * self.block_size)
        return np.concatenate(shard_ids), np.concatenate(starts)

    def _rank_order(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        shard_ids, starts = self.epoch_order(epoch)
        take = slice(self.rank, self.world_size * self.windows_per_rank, self.world_size)
        return shard_ids[take], starts[take]

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        maps = [np.memmap(f, dtype=self.dtype, mode="r") for f in self.files]
        span = self.block_size + 1
        per = self.items_per_epoch
        end = None if self.epochs is None else self.epochs * per
        position = self._start + worker
        cached_epoch, order = -1, (np.empty(0), np.empty(0))
        while end is None or position < end:
            epoch, item = divmod(position, per)
            if epoch != cached_epoch:
                cached_epoch, order = epoch, self._rank_order(epoch)
            shard_ids, starts = order
            if self.batch_size is None:
                s, a = shard_ids[item], starts[item]
                window = torch.from_numpy(maps[s][a:a + span].astype(np.int64))
                x, y = window[:-1], window[1:]
            else:
                lo = item * self.batch_size
                rows = [maps[s][a:a + span] for s, a in
                        zip(shard_ids[lo:lo + self.batch_size], starts[lo:lo + self.batch_size])]
                batch = torch.from_numpy(np.stack(rows).astype(np.int64))
                x, y = batch[:, :-1], batch[:, 1:]
            if info is None:
                self._position = position + 1
            yield x, y
            position += n_workers

    # ------------------------------------------------------------------ resuming
    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """The position to resume from: items consumed since the last ``load_state_dict``
        (counted here when iterated in this process; pass ``consumed`` when a DataLoader with
        workers did the iterating), plus the settings a resume must share."""
        if consumed is None:
            position = self._position
        else:
            if isinstance(consumed, bool) or not isinstance(consumed, (int, np.integer)) \
                    or consumed < 0:
                raise ValueError(f"consumed={consumed!r} must be a non-negative int: the number "
                                 f"of items taken from the loader since the last resume")
            position = self._start + int(consumed)
        return {"position": position, "epoch": position // self.items_per_epoch,
                "seed": self.seed, "shuffle": self.shuffle, "block_size": self.block_size,
                "batch_size": self.batch_size, "rank": self.rank, "world_size": self.world_size,
                "windows_per_epoch": self.windows_per_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume: the next iteration starts at ``state['position']``."""
        if not isinstance(state, dict) or "position" not in state:
            raise TypeError(f"state must be a dict from ShardStream.state_dict(), got {state!r}")
        for key in ("seed", "shuffle", "block_size", "batch_size", "world_size",
                    "windows_per_epoch"):
            if key in state and state[key] != getattr(self, key):
                raise ValueError(f"the state was saved with {key}={state[key]!r} but this stream "
                                 f"has {key}={getattr(self, key)!r}; build the stream with the "
                                 f"same settings and data to resume")
        position = state["position"]
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) \
                or position < 0:
            raise ValueError(f"state['position']={position!r} must be a non-negative int")
        self._start = self._position = int(position)

    def set_epoch(self, epoch: int) -> None:
        """Start the next iteration at the beginning of ``epoch`` (as ``DistributedSampler``)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch={epoch!r} must be a non-negative int")
        self._start = self._position = int(epoch) * self.items_per_epoch
