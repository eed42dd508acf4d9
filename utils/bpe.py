"""Byte-level byte-pair encoding (BPE), GPT-2 style, as taught in notebook 8.2.

* ``pretokenize(text)`` splits text into chunks with the same rules as the GPT-2 regex that
  ``tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)`` uses;
* ``bytes_to_unicode()`` maps each of the 256 bytes to a printable character (the library's map),
  so merges print and compare as strings (``"Ġ"`` is the space byte);
* ``train(text, vocab_size)`` learns merges with incremental pair counts and breaks ties like
  the ``tokenizers`` trainer (highest count, then the smallest pair of token ids);
* ``Tokenizer`` encodes, decodes (exact round trip for any text), saves and loads (JSON).

Token ids: special tokens first, then the 256 bytes in the order of their printable characters,
then one id per merge, as in ``tokenizers``.
"""

from __future__ import annotations

import heapq
import json
import operator
import os
import re
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

__all__ = ["Tokenizer", "bytes_to_unicode", "load", "pretokenize", "train"]

FORMAT_VERSION = 1


# ------------------------------------------------------------------ bytes <-> printable characters
@lru_cache(maxsize=None)
def bytes_to_unicode() -> dict[int, str]:
    """Map each byte 0..255 to a printable character: printable Latin-1 bytes map to themselves,
    the others to 256, 257, ... in byte order (GPT-2's and the library's table)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@lru_cache(maxsize=None)
def _byte_rank() -> bytes:
    """A ``bytes.translate`` table sending each byte to its base token id (the rank of its
    printable character), so ``raw.translate(table)`` lists the ids of a chunk's bytes."""
    chars = bytes_to_unicode()
    order = sorted(range(256), key=lambda b: chars[b])
    rank = [0] * 256
    for i, b in enumerate(order):
        rank[b] = i
    return bytes(rank)


# ------------------------------------------------------------------ the GPT-2 pre-tokenizer
#: Code points past this hold no letters, numbers or spaces (tags, variation selectors and
#: private use only), so the character classes stop here.
_LAST_CLASSIFIED = 0x3FFFF


def _classes() -> dict[str, str]:
    """Regex character-class bodies for letters (L*), numbers (N*) and Oniguruma's ``\\s``
    (tab..CR, NEL, Zs, Zl, Zp), built in one pass over ``unicodedata``."""
    category = unicodedata.category
    label = {"L": "L", "N": "N", "Z": "S"}
    spans: dict[str, list[str]] = {"L": [], "N": [], "S": []}
    start, current = 0, None
    for cp in range(_LAST_CLASSIFIED + 2):
        if cp <= _LAST_CLASSIFIED:
            kind = "S" if 9 <= cp <= 13 or cp == 0x85 else label.get(category(chr(cp))[0])
        else:
            kind = None
        if kind != current:
            if current is not None:
                first, last = re.escape(chr(start)), re.escape(chr(cp - 1))
                spans[current].append(first if start == cp - 1 else f"{first}-{last}")
            start, current = cp, kind
    return {k: "".join(v) for k, v in spans.items()}


@lru_cache(maxsize=None)
def _pattern() -> re.Pattern[str]:
    r"""The GPT-2 split regex ``'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
    \s+(?!\S)|\s+`` for Python's ``re`` (which lacks ``\p{..}``): the letter, number and
    whitespace classes come from ``unicodedata``, whitespace as Oniguruma defines ``\s``."""
    c = _classes()
    letter, number, space = c["L"], c["N"], c["S"]
    return re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letter}]+| ?[{number}]+| ?[^{space}{letter}{number}]+"
        rf"|[{space}]+(?![^{space}])|[{space}]+")


def pretokenize(text: str) -> list[str]:
    """Split ``text`` into the chunks BPE works inside (GPT-2 rules; no prefix space added)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}; decode bytes first")
    return _pattern().findall(text)


def _check_specials(special_tokens: Sequence[str]) -> list[str]:
    if isinstance(special_tokens, str):
        raise TypeError(f"special_tokens must be a list of strings, got the string "
                        f"{special_tokens!r}; wrap it: [{special_tokens!r}]")
    specials = list(special_tokens)
    for s in specials:
        if not isinstance(s, str) or not s:
            raise ValueError(f"special token {s!r} must be a non-empty string")
    single = set(bytes_to_unicode().values())
    for s in specials:
        if s in single:
            raise ValueError(f"special token {s!r} is one of the 256 byte tokens; pick a longer "
                             f"string such as '<|endoftext|>'")
    if len(set(specials)) != len(specials):
        raise ValueError(f"special tokens {specials} contain duplicates; list each once")
    return specials


def _split_specials(text: str, specials: Sequence[str]) -> list[str]:
    """Split ``text`` around special tokens, keeping them (longest first wins)."""
    if not specials:
        return [text]
    alternation = "|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True))
    return [part for part in re.split(f"({alternation})", text) if part]


# ------------------------------------------------------------------ the tokenizer
class Tokenizer:
    """A trained byte-level BPE tokenizer: ``encode``, ``decode``, ``merges``, ``vocab``,
    ``save``/``load``."""

    def __init__(self, merges: Sequence[tuple[str, str]],
                 special_tokens: Sequence[str] = ()) -> None:
        self.special_tokens: list[str] = _check_specials(special_tokens)
        chars = bytes_to_unicode()
        alphabet = sorted(chars.values())
        tokens: list[str] = list(self.special_tokens)
        tokens.extend(alphabet)
        index = {t: i for i, t in enumerate(tokens)}
        n_special = len(self.special_tokens)
        self._merges: list[tuple[str, str]] = []
        self._ranks: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, pair in enumerate(merges):
            if len(pair) != 2 or not all(isinstance(p, str) for p in pair):
                raise ValueError(f"merge {rank} is {pair!r}; each merge must be a pair of strings")
            left, right = pair
            if left not in index or right not in index:
                raise ValueError(f"merge {rank} {pair!r} uses a token not built by the merges "
                                 f"before it; merges must be listed in training order")
            if index[left] < n_special or index[right] < n_special:
                raise ValueError(f"merge {rank} {pair!r} uses a special token; specials never merge")
            new = left + right
            if new not in index:
                index[new] = len(tokens)
                tokens.append(new)
            self._merges.append((left, right))
            self._ranks.setdefault((index[left], index[right]), (rank, index[new]))
        self._tokens = tokens
        self._index = index
        self._special_ids = {s: index[s] for s in self.special_tokens}
        self._byte_of = {c: b for b, c in chars.items()}
        self._base = _byte_rank()  # byte -> rank of its printable character
        self._offset = n_special
        self._token_bytes = [s.encode("utf-8") if i < n_special
                             else bytes(self._byte_of[c] for c in s)
                             for i, s in enumerate(tokens)]
        self._cache: dict[str, tuple[int, ...]] = {}

    # -------------------------------------------------------------- views
    @property
    def merges(self) -> list[tuple[str, str]]:
        """The merges in the order they were learned, as pairs of printable token strings."""
        return list(self._merges)

    @property
    def vocab(self) -> dict[str, int]:
        """Token string (printable byte-level form, or the special token) -> id."""
        return dict(self._index)

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens (specials + 256 bytes + new tokens from merges)."""
        return len(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return (f"Tokenizer(vocab_size={self.vocab_size}, merges={len(self._merges)}, "
                f"special_tokens={self.special_tokens})")

    def id_to_token(self, token_id: int) -> str:
        """The printable string of ``token_id``."""
        if not 0 <= token_id < len(self._tokens):
            raise ValueError(f"token id {token_id} is outside 0..{len(self._tokens) - 1}")
        return self._tokens[token_id]

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes that ``token_id`` stands for."""
        if not 0 <= token_id < len(self._tokens):
            raise ValueError(f"token id {token_id} is outside 0..{len(self._tokens) - 1}")
        return self._token_bytes[token_id]

    # -------------------------------------------------------------- encode / decode
    def _encode_chunk(self, chunk: str) -> tuple[int, ...]:
        ids = [b + self._offset for b in chunk.encode("utf-8").translate(self._base)]
        ranks = self._ranks
        while len(ids) > 1:
            best = None
            for pair in zip(ids, ids[1:]):
                hit = ranks.get(pair)
                if hit is not None and (best is None or hit[0] < best[0]):
                    best, best_pair = hit, pair
            if best is None:
                break
            a, b = best_pair
            merged, i, n = [], 0, len(ids)
            while i < n:
                if i < n - 1 and ids[i] == a and ids[i + 1] == b:
                    merged.append(best[1])
                    i += 2
                else:
                    merged.append(ids[i])
                    i += 1
            ids = merged
        return tuple(ids)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: specials are matched first, the rest is pre-tokenized and each
        chunk merged by rank (lowest first), as the library's BPE model does."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}; decode bytes first")
        out: list[int] = []
        cache = self._cache
        for part in _split_specials(text, self.special_tokens):
            if part in self._special_ids:
                out.append(self._special_ids[part])
                continue
            for chunk in _pattern().findall(part):
                ids = cache.get(chunk)
                if ids is None:
                    ids = self._encode_chunk(chunk)
                    if len(cache) < 1_000_000:
                        cache[chunk] = ids
                out.extend(ids)
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; byte sequences that are not valid UTF-8 become U+FFFD."""
        table, n = self._token_bytes, len(self._token_bytes)
        parts = []
        for i in ids:
            try:
                i = operator.index(i)  # ints, NumPy and 0-d torch integers
            except TypeError:
                raise TypeError(f"token ids must be integers, got {i!r} "
                                f"({type(i).__name__})") from None
            if not 0 <= i < n:
                raise ValueError(f"token id {i} is outside 0..{n - 1}; decode only ids from "
                                 f"this tokenizer")
            parts.append(table[i])
        return b"".join(parts).decode("utf-8", errors="replace")

    # -------------------------------------------------------------- save / load
    def to_dict(self) -> dict:
        """A JSON-ready description: format version, special tokens and merges."""
        return {"format": "zero-to-large byte-level BPE", "version": FORMAT_VERSION,
                "special_tokens": list(self.special_tokens),
                "merges": [list(m) for m in self._merges]}

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer as JSON, atomically (a temporary file, then a rename)."""
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{path} is a folder; pass a file path such as {path / 'bpe.json'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_dict(), fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Read a tokenizer written by ``save``."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no tokenizer file at {path}; write one with Tokenizer.save(path)")
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path} is not a version-{FORMAT_VERSION} tokenizer file from "
                             f"utils.bpe; re-create it with Tokenizer.save")
        return cls([tuple(m) for m in data["merges"]], data.get("special_tokens", []))


def load(path: str | Path) -> Tokenizer:
    """Read a tokenizer written by ``Tokenizer.save``."""
    return Tokenizer.load(path)


# ------------------------------------------------------------------ training
def _chunk_counts(text: str | Iterable[str], specials: Sequence[str]) -> Counter[str]:
    if isinstance(text, str):
        texts: Iterable[str] = [text]
    else:
        texts = text
    counts: Counter[str] = Counter()
    pattern = _pattern()
    special_set = set(specials)
    for item in texts:
        if not isinstance(item, str):
            raise TypeError(f"text must be a str or an iterable of str, got an item of type "
                            f"{type(item).__name__}")
        for part in _split_specials(item, specials):
            if part not in special_set:
                counts.update(pattern.findall(part))
    return counts


def train(text: str | Iterable[str], vocab_size: int, *, min_frequency: int = 2,
          special_tokens: Sequence[str] = ()) -> Tokenizer:
    """Learn byte-level BPE merges from ``text`` (a str or an iterable of str) until the
    vocabulary has ``vocab_size`` tokens (specials + 256 bytes + merges) or no pair occurs
    ``min_frequency`` times. Pair counts are updated incrementally, only in the chunks a merge
    touches; ties go to the smallest pair of ids, as in ``tokenizers``' BpeTrainer."""
    specials = _check_specials(special_tokens)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    floor = 256 + len(specials)
    if vocab_size < floor:
        raise ValueError(f"vocab_size={vocab_size} is below {floor} (256 bytes + "
                         f"{len(specials)} special tokens); ask for at least {floor}")
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 1:
        raise ValueError(f"min_frequency={min_frequency!r} must be an int >= 1")

    chunk_counts = _chunk_counts(text, specials)
    rank = _byte_rank()
    chars = bytes_to_unicode()
    tokens = sorted(chars.values())       # ids without the special-token offset
    index = {t: i for i, t in enumerate(tokens)}
    words: list[list[int]] = []
    freqs: list[int] = []
    for chunk, count in chunk_counts.items():
        ids = list(chunk.encode("utf-8").translate(rank))
        if len(ids) > 1:
            words.append(ids)
            freqs.append(count)

    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for w, (ids, f) in enumerate(zip(words, freqs)):
        for pair in zip(ids, ids[1:]):
            pair_counts[pair] = pair_counts.get(pair, 0) + f
            where.setdefault(pair, set()).add(w)
    heap = [(-c, a, b) for (a, b), c in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[str, str]] = []
    while len(tokens) + len(specials) < vocab_size and heap:
        neg, a, b = heapq.heappop(heap)
        count = pair_counts.get((a, b), 0)
        if count != -neg:                 # stale entry: counts only fall, so re-queue
            if count > 0:
                heapq.heappush(heap, (-count, a, b))
            continue
        if count < min_frequency:
            break
        new_token = tokens[a] + tokens[b]
        new = index.get(new_token)
        if new is None:
            new = index[new_token] = len(tokens)
            tokens.append(new_token)
        merges.append((tokens[a], tokens[b]))
        touched: dict[tuple[int, int], int] = {}
        for w in where.pop((a, b), ()):
            ids, f = words[w], freqs[w]
            n = len(ids)
            merged, i = [], 0
            while i < n:
                if i < n - 1 and ids[i] == a and ids[i + 1] == b:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(ids[i])
                    i += 1
            if len(merged) == n:
                continue
            for pair in zip(ids, ids[1:]):
                touched[pair] = touched.get(pair, 0) - f
            for pair in zip(merged, merged[1:]):
                touched[pair] = touched.get(pair, 0) + f
                if new in pair:
                    where.setdefault(pair, set()).add(w)
            words[w] = merged
        for pair, delta in touched.items():
            if delta:
                c = pair_counts.get(pair, 0) + delta
                pair_counts[pair] = c
                if delta > 0 and new in pair:
                    heapq.heappush(heap, (-c, *pair))
        pair_counts.pop((a, b), None)
    return Tokenizer(merges, specials)
