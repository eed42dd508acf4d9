"""utils.negation: the negation-review corpus is deterministic, balanced, twin-built and its test
split holds out whole templates and word combinations."""

from __future__ import annotations

import sys
import types
from collections import Counter

import pytest
import torch

from utils import negation as ng

NB = "chapters/07_rnns/03_sentiment_with_order.ipynb"


@pytest.fixture(scope="module")
def train():
    return ng.make_reviews(400, seed=0)


@pytest.fixture(scope="module")
def test():
    return ng.make_reviews(400, seed=0, split="test")


def test_deterministic_by_seed(train):
    assert ng.make_reviews(400, seed=0) == train
    assert ng.make_reviews(400, seed=1) != train
    assert ng.make_reviews(400, seed=0, split="test") != train


def test_labels_balanced_and_subsets_present(train, test):
    for reviews in (train, test):
        assert Counter(label for _, label, _ in reviews) == {0: 200, 1: 200}
        assert Counter(m["subset"] for _, _, m in reviews) == {"plain": 200, "negation": 200}


def test_negation_twins_share_words_and_flip_label(train, test):
    for reviews in (train, test):
        for text, label, meta in reviews:
            twin_text, twin_label, twin_meta = reviews[meta["twin"]]
            assert twin_meta["twin"] == reviews.index((text, label, meta))
            assert twin_label == 1 - label
            if meta["subset"] == "negation":
                assert Counter(ng.tokenize(text)) == Counter(ng.tokenize(twin_text))
                assert text != twin_text


def test_count_vectors_identical_across_labels_on_negation_subset(train):
    # every word-count vector of the negation subset occurs equally often with each label
    by_counts: dict[tuple, Counter] = {}
    for text, label, meta in train:
        if meta["subset"] == "negation":
            key = tuple(sorted(Counter(ng.tokenize(text)).items()))
            by_counts.setdefault(key, Counter())[label] += 1
    assert by_counts and all(c[0] == c[1] for c in by_counts.values())


def test_heldout_templates_and_combos_never_in_train(train, test):
    train_templates = {m["template"] for _, _, m in train}
    assert not train_templates & set(ng.HELDOUT_TEMPLATES)
    assert {m["template"] for _, _, m in test} >= set(ng.HELDOUT_TEMPLATES)
    assert not {t for t, _, _ in train} & {t for t, _, _ in test}
    for text, _, _ in train:
        tokens = ng.tokenize(text)
        assert not any(ng.heldout_combo(a, b) for a, b in zip(tokens, tokens[1:])
                       if a in ng.INTENSIFIERS)
    for text, _, meta in test:
        tokens = ng.tokenize(text)
        pairs = [(a, b) for a, b in zip(tokens, tokens[1:]) if a in ng.INTENSIFIERS]
        assert any(ng.heldout_combo(a, b) for a, b in pairs) == (meta["heldout"] == "combo")


def test_test_vocabulary_seen_in_train(train, test):
    vocab = ng.Vocab([t for t, _, _ in ng.make_reviews(2000, seed=0)])
    assert all(1 not in vocab.encode(t) for t, _, _ in test)


def test_vocab_encode_pad_decode():
    vocab = ng.Vocab(["b a b", "c b"])
    assert vocab.itos == ["<pad>", "<unk>", "b", "a", "c"]
    assert vocab.encode("a zzz") == [3, 1]
    X = vocab.encode_padded(["a", "b c b"])
    assert X.dtype == torch.long and X.tolist() == [[3, 0, 0], [2, 4, 2]]
    assert vocab.decode(X[0]) == "a"


@pytest.mark.parametrize("kwargs", [dict(n=3, seed=0), dict(n=0, seed=0), dict(n=4, seed=-1),
                                    dict(n=4, seed=0, split="val"),
                                    dict(n=4, seed=0, negation_share=1.5)])
def test_bad_arguments_raise(kwargs):
    n = kwargs.pop("n")
    with pytest.raises(ValueError):
        ng.make_reviews(n, **kwargs)


def test_bad_inputs_to_helpers_raise():
    with pytest.raises(TypeError):
        ng.Vocab("a b c")
    with pytest.raises(TypeError):
        ng.tokenize(3)
    with pytest.raises(ValueError):
        ng.heldout_combo("very", "purple")


def test_notebook_vocab_matches_utils(monkeypatch):
    from tests.nbcode import definitions

    # the notebook imports keras for its last section; a stub keeps this test fast
    monkeypatch.setitem(sys.modules, "keras", types.ModuleType("keras"))
    Scratch = definitions(NB, ["Vocab"])["Vocab"]
    texts = [t for t, _, _ in ng.make_reviews(200, seed=3)]
    scratch, ours = Scratch(texts), ng.Vocab(texts)
    assert scratch.itos == ours.itos
    assert [scratch.encode(t) for t in texts[:20]] == [ours.encode(t) for t in texts[:20]]
