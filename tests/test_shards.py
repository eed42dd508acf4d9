"""Tests of utils.shards: shard files and index, the stream's order, workers, ranks, resuming."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from utils import shards

NOTEBOOK = "chapters/11_data_at_scale/02_tokenize_shard_stream.ipynb"


def _docs(n_docs: int = 7, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, 1000, size=rng.integers(5, 60)) for _ in range(n_docs)]


def _positions(folder, n: int) -> None:
    """A folder whose token at global position i is i: a window's first token names it."""
    shards.write_shards([np.arange(n)], folder, tokens_per_shard=97, dtype=np.uint32)


def test_write_shards_round_trip(tmp_path):
    docs = _docs()
    paths = shards.write_shards(docs, tmp_path, tokens_per_shard=50, eot=0)
    index = shards.read_index(tmp_path)
    expected = np.concatenate([np.append(d, 0) for d in docs])
    got = np.concatenate([np.fromfile(p, dtype=np.uint16) for p in paths])
    np.testing.assert_array_equal(got, expected)
    assert [s["tokens"] for s in index["shards"]][:-1] == [50] * (len(paths) - 1)
    assert index["total_tokens"] == len(expected) and index["dtype"] == "uint16"
    assert index["eot"] == 0
    assert not list(tmp_path.glob("*.tmp"))


def test_rewrite_removes_stale_shards(tmp_path):
    shards.write_shards([np.arange(500)], tmp_path, tokens_per_shard=50)
    paths = shards.write_shards([np.arange(120)], tmp_path, tokens_per_shard=50)
    assert sorted(p.name for p in tmp_path.glob("shard-*.bin")) == [p.name for p in paths]
    assert len(paths) == 3


def test_id_too_large_for_dtype(tmp_path):
    with pytest.raises(ValueError, match="does not fit uint8.*uint32"):
        shards.write_shards([[1, 2, 300]], tmp_path, tokens_per_shard=10, dtype=np.uint8)
    with pytest.raises(ValueError, match="does not fit"):
        shards.write_shards([[1, -2]], tmp_path, tokens_per_shard=10)
    with pytest.raises(ValueError, match="eot=70000"):
        shards.write_shards([[1]], tmp_path, tokens_per_shard=10, eot=70000)
    with pytest.raises(TypeError, match="integer"):
        shards.write_shards([[1.5]], tmp_path, tokens_per_shard=10)
    with pytest.raises(TypeError, match="not a string"):
        shards.write_shards("hello", tmp_path, tokens_per_shard=10)
    with pytest.raises(ValueError, match="tokens_per_shard"):
        shards.write_shards([[1]], tmp_path, tokens_per_shard=0)


def test_read_index_checks_files(tmp_path):
    with pytest.raises(ValueError, match="no index.json"):
        shards.read_index(tmp_path)
    paths = shards.write_shards([np.arange(100)], tmp_path, tokens_per_shard=40)
    paths[1].write_bytes(b"\0" * 3)
    with pytest.raises(ValueError, match="shard-00001.bin has 3 bytes"):
        shards.read_index(tmp_path)


def test_epoch_yields_each_window_once_and_shuffles(tmp_path):
    _positions(tmp_path, 1000)
    stream = shards.ShardStream(tmp_path, block_size=8, seed=3, epochs=2)
    items = list(stream)
    per = stream.items_per_epoch
    assert len(items) == 2 * per
    for x, y in items:
        assert x.dtype == torch.int64 and x.shape == (8,)
        assert torch.equal(y, x + 1)  # targets are the next tokens
    firsts = [[int(x[0]) for x, _ in items[e * per:(e + 1) * per]] for e in range(2)]
    assert len(set(firsts[0])) == per and set(firsts[0]) == set(firsts[1])
    assert firsts[0] != firsts[1]              # a new order each epoch
    assert firsts[0] != sorted(firsts[0])      # shuffled
    plain = shards.ShardStream(tmp_path, block_size=8, shuffle=False, epochs=1)
    assert [int(x[0]) for x, _ in plain] == sorted(firsts[0])


def test_windows_stay_inside_a_shard(tmp_path):
    _positions(tmp_path, 1000)
    stream = shards.ShardStream(tmp_path, block_size=8, epochs=1)
    for x, y in stream:
        window = torch.cat([x, y[-1:]])
        assert int(window[0]) // 97 == int(window[-1]) // 97


def test_seed_changes_order_and_is_deterministic(tmp_path):
    _positions(tmp_path, 1000)
    a = [int(x[0]) for x, _ in shards.ShardStream(tmp_path, 8, seed=1, epochs=1)]
    b = [int(x[0]) for x, _ in shards.ShardStream(tmp_path, 8, seed=1, epochs=1)]
    c = [int(x[0]) for x, _ in shards.ShardStream(tmp_path, 8, seed=2, epochs=1)]
    assert a == b and a != c


def test_batches(tmp_path):
    _positions(tmp_path, 1000)
    items = [int(x[0]) for x, _ in shards.ShardStream(tmp_path, 8, seed=0, epochs=1)]
    stream = shards.ShardStream(tmp_path, 8, batch_size=5, seed=0, epochs=1)
    batches = list(stream)
    assert len(batches) == len(items) // 5
    assert batches[0][0].shape == (5, 8) and batches[0][1].shape == (5, 8)
    assert [int(v) for x, _ in batches for v in x[:, 0]] == items[:5 * len(batches)]


def test_ranks_partition_the_epoch(tmp_path):
    _positions(tmp_path, 1000)
    full = shards.ShardStream(tmp_path, 8, seed=0, epochs=1)
    per_rank = [[int(x[0]) for x, _ in shards.ShardStream(tmp_path, 8, seed=0, rank=r,
                                                            world_size=3, epochs=1)]
                for r in range(3)]
    assert len({len(p) for p in per_rank}) == 1          # equal shares
    seen = list(itertools.chain(*per_rank))
    assert len(seen) == len(set(seen)) == 3 * (full.windows_per_epoch // 3)
    with pytest.raises(ValueError, match="rank=3"):
        shards.ShardStream(tmp_path, 8, rank=3, world_size=3)


def test_dataloader_workers_give_the_same_sequence(tmp_path):
    _positions(tmp_path, 600)
    stream = shards.ShardStream(tmp_path, 8, batch_size=4, seed=5, epochs=1)
    alone = [x for x, _ in stream]
    loader = DataLoader(stream, batch_size=None, num_workers=2)
    together = [x for x, _ in loader]
    assert len(together) == len(alone)
    assert all(torch.equal(a, b) for a, b in zip(alone, together))


def test_resume_matches_uninterrupted(tmp_path):
    _positions(tmp_path, 1000)
    make = lambda: shards.ShardStream(tmp_path, 8, batch_size=3, seed=7)  # noqa: E731
    reference = [x for x, _ in itertools.islice(make(), 100)]   # crosses an epoch boundary
    first = make()
    k = 37
    for _ in itertools.islice(first, k):
        pass
    state = json.loads(json.dumps(first.state_dict()))           # survives a JSON file
    assert state["position"] == k
    resumed = make()
    resumed.load_state_dict(state)
    rest = [x for x, _ in itertools.islice(resumed, 100 - k)]
    assert len(rest) == 100 - k
    assert all(torch.equal(a, b) for a, b in zip(reference[k:], rest))
    assert first.state_dict(consumed=5)["position"] == 5
    other = shards.ShardStream(tmp_path, 8, batch_size=4, seed=7)
    with pytest.raises(ValueError, match="batch_size=3"):
        other.load_state_dict(state)


def test_resume_with_workers(tmp_path):
    _positions(tmp_path, 600)
    stream = shards.ShardStream(tmp_path, 8, batch_size=2, seed=1, epochs=2)
    reference = [x for x, _ in stream]
    stream = shards.ShardStream(tmp_path, 8, batch_size=2, seed=1, epochs=2)
    stream.load_state_dict(stream.state_dict(consumed=11))
    rest = [x for x, _ in DataLoader(stream, batch_size=None, num_workers=2)]
    assert len(rest) == len(reference) - 11
    assert all(torch.equal(a, b) for a, b in zip(reference[11:], rest))


def test_empty_input_writes_an_empty_index(tmp_path):
    assert shards.write_shards([[], []], tmp_path, tokens_per_shard=8) == []
    index = shards.read_index(tmp_path)
    assert index["shards"] == [] and index["total_tokens"] == 0
    with pytest.raises(ValueError, match="too few"):
        shards.ShardStream(tmp_path, block_size=4)


def test_too_few_tokens(tmp_path):
    shards.write_shards([np.arange(5)], tmp_path, tokens_per_shard=5)
    with pytest.raises(ValueError, match="too few"):
        shards.ShardStream(tmp_path, block_size=8)


def test_notebook_scratch_stream_matches_utils(tmp_path):
    from tests.nbcode import definitions
    Scratch = definitions(NOTEBOOK, ["WindowStream"])["WindowStream"]
    _positions(tmp_path, 1000)
    for epoch in (0, 1):
        ours = [x for x, _ in Scratch(tmp_path, block_size=8, seed=4, epoch=epoch)]
        stream = shards.ShardStream(tmp_path, 8, seed=4)
        stream.set_epoch(epoch)
        theirs = [x for x, _ in itertools.islice(stream, stream.items_per_epoch)]
        assert len(ours) == len(theirs)
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
