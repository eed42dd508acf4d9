"""utils.seq2seq: the generated tasks are deterministic, valid and split as documented."""

from __future__ import annotations

import datetime as dt

import pytest
import torch

from utils import seq2seq as S

NOTEBOOK = "chapters/09_attention_transformers/02_encoder_decoder_transformer.ipynb"


def test_dates_deterministic_and_seed_dependent():
    assert S.dates(50, seed=3) == S.dates(50, seed=3)
    assert S.dates(50, seed=3) != S.dates(50, seed=4)
    assert S.dates(50, seed=3, split="test") != S.dates(50, seed=3, split="train")


def test_dates_targets_are_iso_dates_that_datetime_agrees_with():
    for split in ("train", "test"):
        for src, tgt in S.dates(400, seed=0, split=split):
            date = dt.date.fromisoformat(tgt)
            assert date.isoformat() == tgt
            assert S.FIRST_YEAR <= date.year <= S.LAST_YEAR
            assert str(date.year) in src and str(date.day) in src
            assert S.MONTHS[date.month - 1][:3] in src
            assert any(S.format_date(date, f) == src for f in range(len(S.DATE_FORMATS)))


def test_weekday_formats_name_the_right_weekday():
    assert S.format_date(dt.date(2021, 3, 5), 2) == "Friday, March 5, 2021"
    assert S.format_date(dt.date(2021, 3, 5), 6) == "Fri 5 Mar 2021"


def _format_index(src: str, tgt: str) -> int:
    date = dt.date.fromisoformat(tgt)
    return next(f for f in range(len(S.DATE_FORMATS)) if S.format_date(date, f) == src)


def test_held_out_split_never_overlaps_train():
    train, test = S.dates(3000, seed=0), S.dates(1000, seed=0, split="test")
    train_pairs = {(_format_index(s, t), int(t[5:7])) for s, t in train}
    test_pairs = {(_format_index(s, t), int(t[5:7])) for s, t in test}
    assert not train_pairs & test_pairs
    assert not {s for s, _ in train} & {s for s, _ in test}
    assert len(test_pairs) == 12  # every month is held out in exactly one format
    # every format and every month still appears in training
    assert {f for f, _ in train_pairs} == set(range(len(S.DATE_FORMATS)))
    assert {m for _, m in train_pairs} == set(range(1, 13))


def test_addition_and_reversal():
    for src, tgt in S.addition(200, seed=1, digits=3):
        a, b = src.split("+")
        assert int(a) + int(b) == int(tgt) and max(len(a), len(b)) <= 3
    assert S.addition(20, seed=1) == S.addition(20, seed=1)
    for src, tgt in S.reversal(200, seed=1, length=5):
        assert tgt == src[::-1] and 1 <= len(src) <= 5 and src.isalpha()
    assert S.reversal(20, seed=1) != S.reversal(20, seed=2)


@pytest.mark.parametrize("call", [
    lambda: S.dates(0, seed=0), lambda: S.dates(5, seed=0, split="val"),
    lambda: S.addition(5, seed=0, digits=0), lambda: S.reversal(5, seed=0, length=0),
    lambda: S.Vocab("abc").encode("abd"), lambda: S.Vocab("abc").encode_batch("ab"),
    lambda: S.Vocab("abc").encode_batch(["abc"], length=2), lambda: S.is_held_out(99, 1),
])
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_vocab_round_trip_and_padding():
    vocab = S.Vocab(S.DATE_ALPHABET)
    texts = [s for pair in S.dates(50, seed=0) for s in pair]
    assert all(vocab.decode(vocab.encode(t, bos=True, eos=True)) == t for t in texts)
    batch = vocab.encode_batch(["ab", "abcd"], bos=True, eos=True)
    assert batch.dtype == torch.long and batch.shape == (2, 6)
    assert batch[0].tolist()[:1] == [S.Vocab.BOS] and batch[0, -2:].tolist() == [0, 0]
    assert batch[0, 3].item() == S.Vocab.EOS
    assert vocab.encode_batch(["ab"], length=7).shape == (1, 7)


def test_notebook_vocab_equals_utils_vocab():
    from tests.nbcode import definitions
    scratch = definitions(NOTEBOOK, ["CharVocab"])["CharVocab"](S.DATE_ALPHABET)
    vocab = S.Vocab(S.DATE_ALPHABET)
    texts = ["March 5, 2021", "2021-03-05", "Fri 5 Mar 2021"]
    for kwargs in (dict(), dict(bos=True, eos=True)):
        assert torch.equal(scratch.encode_batch(texts, **kwargs),
                           vocab.encode_batch(texts, **kwargs))
