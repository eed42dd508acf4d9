"""Tests of utils.bpe: round trips, determinism, agreement with `tokenizers` and with notebook 8.2."""

from __future__ import annotations

import json

import pytest

from utils import bpe

NOTEBOOK = "chapters/08_embeddings_tokenization/02_bpe_from_scratch.ipynb"

# A small corpus with code, prose, contractions, digits, Unicode letters and numbers, emoji,
# odd whitespace (tabs, NBSP, form feed, a non-whitespace control) and ties between pairs.
CORPUS = "".join([
    "def area(self, r):\n    return 3.14159 * r ** 2\n\n" * 6,
    "class Circle:\n\tdef __init__(self, r):\n\t\tself.r = r  # radius\n" * 5,
    "It's what they'll say: we've done it, I'm sure, you'd agree. DON'T shout!\n" * 4,
    "banana bandana cabana banana 12345 67 x² ½ Ⅻ\u00a0naïve café\x0cend\x1cmark\n" * 3,
    "中文分词很重要。中文分词 😀😀 🎉 مرحبا بالعالم Привет мир\r\n" * 3,
    "   \n\n  trailing   spaces   \n",
])
VARIED = [
    "",
    " ",
    "hello world",
    "  leading and trailing  ",
    "naïve café, Ünïcödé — “quotes” and ‘apostrophes’",
    "中文、日本語、한국어 😀👍🏽👨‍👩‍👧 🇫🇷",
    "tabs\tand\nnewlines\r\n\x00 nul \x7f del \ufeff bom",
    "x² + y² = z²; ½ ¾; Ⅻ; ١٢٣",
    "it's they're we've I'm you'll he'd 'S",
    "e\u0301 combining accent, \U0001F600 astral, \ud7ff edge",
]


def _lib_train(text: str, vocab_size: int, min_frequency: int = 2):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([text], trainer)
    return tok


def _lib_merges(tok) -> list[tuple[str, str]]:
    raw = json.loads(tok.to_str())["model"]["merges"]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in raw]


@pytest.fixture(scope="module")
def trained() -> bpe.Tokenizer:
    return bpe.train(CORPUS, 400)


def test_bytes_to_unicode_is_a_printable_bijection():
    table = bpe.bytes_to_unicode()
    assert sorted(table) == list(range(256))
    assert len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("a")] == "a"
    assert all(c.isprintable() and not c.isspace() for c in table.values())


def test_pretokenize_matches_library_byte_level():
    pre_tokenizers = pytest.importorskip("tokenizers.pre_tokenizers")
    lib = pre_tokenizers.ByteLevel(add_prefix_space=False)
    chars = bpe.bytes_to_unicode()
    for text in [CORPUS, *VARIED]:
        ours = ["".join(chars[b] for b in c.encode("utf-8")) for c in bpe.pretokenize(text)]
        theirs = [piece for piece, _ in lib.pre_tokenize_str(text)]
        assert ours == theirs, text


def test_pretokenize_covers_the_text():
    for text in VARIED:
        assert "".join(bpe.pretokenize(text)) == text


def test_round_trip_on_varied_text(trained):
    for text in [CORPUS, *VARIED]:
        assert trained.decode(trained.encode(text)) == text


def test_training_is_deterministic(trained):
    again = bpe.train(CORPUS, 400)
    assert again.merges == trained.merges and again.vocab == trained.vocab
    lines = CORPUS.splitlines(keepends=True)
    assert bpe.train(lines, 400).merges == bpe.train(list(reversed(lines)), 400).merges


def test_vocab_size_and_greedy_prefix(trained):
    assert trained.vocab_size == 400 == len(trained.vocab)
    assert sorted(trained.vocab.values()) == list(range(400))
    smaller = bpe.train(CORPUS, 300)
    assert smaller.merges == trained.merges[:len(smaller.merges)]


def test_merges_equal_library(trained):
    lib = _lib_train(CORPUS, 400)
    assert trained.merges == _lib_merges(lib)
    assert trained.vocab == lib.get_vocab()


def test_encode_matches_library_ids(trained):
    lib = _lib_train(CORPUS, 400)
    for text in [CORPUS, *VARIED]:
        assert trained.encode(text) == lib.encode(text).ids, text


def test_min_frequency_stops_training():
    tok = bpe.train("ab ab cd", 1000, min_frequency=2)
    assert tok.merges == [("a", "b")]
    assert bpe.train("ab ab cd", 1000, min_frequency=3).merges == []
    assert _lib_merges(_lib_train("ab ab cd", 1000, 2)) == tok.merges


def test_ties_go_to_smallest_ids():
    # ("b", "an") and ("an", "a") both occur 4 times; "b" has the smaller id.
    tok = bpe.train("banana bandana cabana banana", 300)
    assert tok.merges[:2] == [("a", "n"), ("b", "an")]


def test_special_tokens():
    text = "first doc<|endoftext|>second doc<|endoftext|>"
    tok = bpe.train(text * 3, 300, special_tokens=["<|endoftext|>"])
    assert tok.vocab["<|endoftext|>"] == 0
    ids = tok.encode(text)
    assert ids.count(0) == 2 and tok.decode(ids) == text
    assert all("endoftext" not in a + b for a, b in tok.merges)


def test_decode_accepts_numpy_ints_and_replaces_broken_utf8(trained):
    np = pytest.importorskip("numpy")
    ids = trained.encode("😀")
    assert trained.decode(np.array(ids)) == "😀"
    first_byte = trained.vocab[bpe.bytes_to_unicode()["😀".encode()[0]]]
    assert trained.decode([first_byte]) == "\ufffd"


def test_save_load_round_trip(tmp_path, trained):
    path = trained.save(tmp_path / "sub" / "bpe.json")
    assert [p.name for p in path.parent.iterdir()] == ["bpe.json"]  # no temporary file left
    loaded = bpe.load(path)
    assert loaded.merges == trained.merges and loaded.vocab == trained.vocab
    assert loaded.encode(CORPUS) == trained.encode(CORPUS)
    special = bpe.train("a b a b<|endoftext|>", 300, special_tokens=["<|endoftext|>"])
    assert bpe.Tokenizer.load(special.save(tmp_path / "s.json")).special_tokens == ["<|endoftext|>"]


@pytest.mark.parametrize("kwargs", [
    dict(vocab_size=100),
    dict(vocab_size=256, special_tokens=["<|endoftext|>"]),
    dict(vocab_size=300, min_frequency=0),
    dict(vocab_size=300, special_tokens=["a"]),
    dict(vocab_size=300, special_tokens=["<s>", "<s>"]),
    dict(vocab_size=300, special_tokens=[""]),
])
def test_bad_train_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        bpe.train("some text", **kwargs)


def test_bad_types_raise_type_error(trained):
    with pytest.raises(TypeError):
        bpe.train("text", 300.0)
    with pytest.raises(TypeError):
        bpe.train(b"bytes", 300)
    with pytest.raises(TypeError):
        bpe.train("text", 300, special_tokens="<s>")
    with pytest.raises(TypeError):
        trained.encode(b"bytes")
    with pytest.raises(TypeError):
        trained.decode(["a"])


def test_bad_ids_and_files_raise_value_error(tmp_path, trained):
    with pytest.raises(ValueError):
        trained.decode([trained.vocab_size])
    with pytest.raises(ValueError):
        trained.decode([-1])
    with pytest.raises(ValueError):
        bpe.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError):
        bpe.load(tmp_path / "bad.json")
    with pytest.raises(ValueError):
        bpe.Tokenizer([("ab", "c")])  # "ab" was never built


def test_notebook_naive_trainer_matches():
    from tests.nbcode import definitions

    train_naive = definitions(NOTEBOOK, ["train_naive"])["train_naive"]
    text = CORPUS * 2
    naive = train_naive(text, 120)
    assert naive == bpe.train(text, 256 + 120).merges
    assert len(naive) == 120
