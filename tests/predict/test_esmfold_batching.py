"""Length-sorted packing and chunk-size choice (pure functions, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.predict._batching import auto_chunk_size, pack_by_tokens, smaller_chunks


@pytest.mark.parametrize("budget", [1, 100, 1000, 5000])
def test_every_index_once_within_budget(budget):
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 900, size=200).tolist()
    batches = pack_by_tokens(lengths, budget, max_batch=16)
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * longest <= budget
        assert len(batch) <= 16
        assert [lengths[i] for i in batch] == sorted(lengths[i] for i in batch)


def test_groups_never_mix_chunk_sizes():
    lengths = [500, 510, 520, 530, 1100, 1200]
    batches = pack_by_tokens(lengths, 10_000, group=auto_chunk_size)
    assert batches == [[0, 1], [2, 3], [4, 5]]
    for batch in batches:
        assert len({auto_chunk_size(lengths[i]) for i in batch}) == 1


def test_chunk_ladder():
    assert auto_chunk_size(512) is None and auto_chunk_size(513) == 128
    assert smaller_chunks(16) == [] and smaller_chunks(128) == [64, 32, 16]
    with pytest.raises(ValueError):
        pack_by_tokens([1], 0)


@pytest.mark.parametrize("max_padding", [0.0, 0.05, 0.25])
def test_padding_limit_holds_and_packs_equal_lengths(max_padding):
    rng = np.random.default_rng(1)
    lengths = rng.integers(30, 800, size=300).tolist()
    batches = pack_by_tokens(lengths, 8192, max_batch=64, max_padding=max_padding)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        members = [lengths[i] for i in batch]
        assert len(batch) * max(members) ** 2 <= (1 + max_padding) * sum(n**2 for n in members) + 1e-9
    equal = pack_by_tokens([100] * 10, 1000, max_padding=0.0)
    assert equal == [list(range(10))], "equal lengths have no padding and share a batch"


def test_padding_limit_separates_a_short_sequence_from_long_ones():
    # the CPU case measured in the module docstring: 30 padded to 108 costs 13x its pair work
    assert pack_by_tokens([30, 108, 105], 1024) == [[0, 2, 1]]
    assert pack_by_tokens([30, 108, 105], 1024, max_padding=0.05) == [[0], [2, 1]]
    with pytest.raises(ValueError, match="max_padding"):
        pack_by_tokens([1], 10, max_padding=-0.1)
