"""Tests of utils.dedup: normalisation, exact keys, MinHash accuracy, LSH recall, errors, seeds,
and agreement with the from-scratch code of notebook 11.1."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from utils import dedup

NOTEBOOK = "chapters/11_data_at_scale/01_collect_clean_dedup.ipynb"


def _words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"w{rng.randrange(10_000)}" for _ in range(n)]


def _edited(words: list[str], rate: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"x{rng.randrange(10**6)}" if rng.random() < rate else w for w in words]


def _exact(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


# ---------------------------------------------------------------------------- normalize / keys
def test_normalize_line_endings_spaces_blank_lines_and_nfkc():
    messy = "\ufb01le = \uff21   \r\n\r\n\r\n\r\nx\t\r\ny\rz\n\n"
    assert dedup.normalize(messy) == "file = A\n\nx\ny\nz"
    assert dedup.normalize(messy, form="NFC").startswith("\ufb01le = \uff21\n")


def test_normalize_is_idempotent_and_keeps_indentation():
    text = "def f():\n    return 1   \n\n\n\n    # end"
    once = dedup.normalize(text)
    assert dedup.normalize(once) == once
    assert "    return 1\n\n    # end" in once


def test_exact_key_ignores_trivial_differences_only():
    a = "line one\nline two\n"
    assert dedup.exact_key(a) == dedup.exact_key("line one  \r\nline two\r\n\r\n")
    assert dedup.exact_key(a) != dedup.exact_key("line one\nline 2\n")
    assert len(dedup.exact_key(a)) == 32 and int(dedup.exact_key(a), 16) >= 0


# ---------------------------------------------------------------------------- shingles
def test_shingles_are_word_kgrams():
    assert dedup.shingles("a b  c\nd e f", k=5) == {"a b c d e", "b c d e f"}
    assert dedup.shingles("a b", k=5) == {"a b"}
    assert dedup.shingles(" \n ", k=5) == set()
    assert len(dedup.shingles(" ".join(_words(50, 0)), k=3)) <= 48


# ---------------------------------------------------------------------------- MinHash
def test_minhash_estimate_within_binomial_error():
    base = _words(600, 1)
    hasher = dedup.MinHasher(num_perm=256, seed=3)
    errors = []
    for i, rate in enumerate([0.0, 0.02, 0.05, 0.1, 0.2, 0.4]):
        a, b = dedup.shingles(" ".join(base), 3), dedup.shingles(" ".join(_edited(base, rate, i)), 3)
        j = _exact(a, b)
        est = dedup.MinHasher.jaccard(hasher.signature(a), hasher.signature(b))
        sigma = math.sqrt(j * (1 - j) / 256)
        assert abs(est - j) <= 4 * sigma + 1 / 256, (rate, j, est)
        errors.append(abs(est - j))
    assert max(errors) < 0.1


def test_minhash_signature_properties_and_determinism():
    s = dedup.shingles(" ".join(_words(100, 2)), 5)
    sig = dedup.MinHasher(64, seed=7).signature(s)
    assert sig.shape == (64,) and sig.dtype == np.uint64 and (sig < dedup.PRIME).all()
    np.testing.assert_array_equal(sig, dedup.MinHasher(64, seed=7).signature(set(sorted(s))))
    assert not np.array_equal(sig, dedup.MinHasher(64, seed=8).signature(s))
    assert dedup.MinHasher.jaccard(sig, sig) == 1.0


def test_minhash_disjoint_sets_estimate_near_zero():
    h = dedup.MinHasher(128, seed=0)
    a = {f"a{i}" for i in range(300)}
    b = {f"b{i}" for i in range(300)}
    assert dedup.MinHasher.jaccard(h.signature(a), h.signature(b)) < 0.05


# ---------------------------------------------------------------------------- LSH
def test_lsh_threshold_probability_and_candidates():
    lsh = dedup.LSH(bands=4, rows=2)
    assert lsh.threshold() == pytest.approx(0.5)
    assert lsh.probability(1.0) == pytest.approx(1.0) and lsh.probability(0.0) == pytest.approx(0.0)
    same = np.arange(8, dtype=np.uint64)
    other = same.copy()
    other[:2] += 100  # band 0 differs, bands 1..3 agree
    far = same + 1000
    lsh.add("a", same)
    lsh.add("b", other)
    lsh.add("c", far)
    assert lsh.candidates() == {("a", "b")}


def test_near_duplicate_pairs_finds_planted_copies():
    rng = random.Random(5)
    originals = [_words(300, 100 + i) for i in range(20)]
    docs = [" ".join(w) for w in originals]
    planted = {}
    for i in range(0, 20, 2):  # a 2%-edited copy of every other document
        planted[i] = len(docs)
        docs.append(" ".join(_edited(originals[i], 0.02, rng.randrange(10**6))))
    pairs = dedup.near_duplicate_pairs(docs, threshold=0.7, seed=0)
    found = {(i, j) for i, j, _ in pairs}
    assert found == {(i, j) for i, j in planted.items()}
    assert all(0.7 <= est <= 1.0 for _, _, est in pairs)
    assert pairs == dedup.near_duplicate_pairs(docs, threshold=0.7, seed=0)


def test_choose_bands_hits_target():
    b, r = dedup.choose_bands(128, 0.8)
    assert b * r <= 128
    assert dedup.LSH(b, r).probability(0.8) >= 0.9
    assert dedup.LSH(128 // (r + 1), r + 1).probability(0.8) < 0.9


# ---------------------------------------------------------------------------- quality
def test_quality_reasons():
    good = "\n".join(f"line {i}: some useful words here" for i in range(20))
    assert dedup.quality_ok(good) == (True, "ok")
    assert dedup.quality_ok("tiny")[1].startswith("too short")
    assert dedup.quality_ok(good + "\n" + "x" * 2000)[1].startswith("line too long")
    assert dedup.quality_ok("#" * 150 + " " + "- " * 100)[1].startswith("too little alphanumeric")
    assert dedup.quality_ok("same line again\n" * 30)[1].startswith("too many repeated lines")
    assert dedup.quality_ok("tiny", min_chars=2) == (True, "ok")


# ---------------------------------------------------------------------------- errors
def test_errors_name_the_bad_value():
    with pytest.raises(TypeError, match="decode bytes"):
        dedup.normalize(b"bytes")
    with pytest.raises(ValueError, match="form"):
        dedup.normalize("x", form="NFD")
    with pytest.raises(ValueError, match="k must be a positive int"):
        dedup.shingles("a b c", k=0)
    with pytest.raises(ValueError, match="num_perm"):
        dedup.MinHasher(num_perm=0)
    with pytest.raises(ValueError, match="empty shingle set"):
        dedup.MinHasher(8).signature(set())
    with pytest.raises(TypeError, match="not one str"):
        dedup.MinHasher(8).signature("a b c")
    with pytest.raises(ValueError, match="equal"):
        dedup.MinHasher.jaccard(np.zeros(4), np.zeros(5))
    lsh = dedup.LSH(4, 4)
    with pytest.raises(ValueError, match="too short"):
        lsh.add(0, np.zeros(8, dtype=np.uint64))
    lsh.add(0, np.zeros(16, dtype=np.uint64))
    with pytest.raises(ValueError, match="already added"):
        lsh.add(0, np.zeros(16, dtype=np.uint64))
    with pytest.raises(ValueError, match="bands"):
        dedup.LSH(0, 4)
    with pytest.raises(ValueError, match="exceeds num_perm"):
        dedup.near_duplicate_pairs(["a b"], bands=20, rows=20)
    with pytest.raises(TypeError, match="list of str"):
        dedup.near_duplicate_pairs("a b c")
    with pytest.raises(ValueError, match="threshold"):
        dedup.near_duplicate_pairs(["a"], threshold=1.5)
    with pytest.raises(TypeError, match="unknown quality limits"):
        dedup.quality_ok("text", min_words=3)
    with pytest.raises(ValueError, match="min_chars"):
        dedup.quality_ok("text", min_chars=-1)


# ---------------------------------------------------------------------------- notebook agreement
@pytest.fixture(scope="module")
def scratch():
    from tests.nbcode import definitions

    return definitions(NOTEBOOK, ["normalize_text", "word_shingles", "minhash_signature",
                                  "BandedLSH", "PRIME"])


def test_notebook_scratch_matches_utils(scratch):
    assert scratch["PRIME"] == dedup.PRIME
    texts = ["\ufb01rst  \r\nline\n\n\n\nend ", " ".join(_words(80, 9)),
             " ".join(_edited(_words(80, 9), 0.1, 1))]
    lsh_ours, lsh_lib = scratch["BandedLSH"](8, 4), dedup.LSH(8, 4)
    for i, text in enumerate(texts):
        assert scratch["normalize_text"](text) == dedup.normalize(text)
        sh = scratch["word_shingles"](text)
        assert sh == dedup.shingles(text)
        sig = scratch["minhash_signature"](sh, num_perm=32, seed=4)
        np.testing.assert_array_equal(sig, dedup.MinHasher(32, seed=4).signature(sh))
        lsh_ours.add(i, sig)
        lsh_lib.add(i, sig)
    assert lsh_ours.candidates() == lsh_lib.candidates()
