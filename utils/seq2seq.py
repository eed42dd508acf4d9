"""Generated sequence-to-sequence tasks (date formats, addition, reversal) and a character
vocabulary, used by notebooks 9.2 and 9.3.

Every generator is deterministic from its ``seed`` and returns a list of ``(source, target)``
string pairs. :func:`dates` has a held-out split: the pair (input format, month) decides the
split, so the ``"test"`` split only holds combinations that ``"train"`` never shows, although
every format and every month (and every year and day) does appear in training.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Iterable, Sequence

import torch

__all__ = ["MONTHS", "WEEKDAYS", "DATE_FORMATS", "is_held_out", "format_date", "dates",
           "DATE_ALPHABET", "addition", "reversal", "Vocab"]

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Human formats, none ambiguous (no all-numeric day/month orders): {M} month, {m} 3-letter
# month, {d} day, {y} year, {W} weekday, {w} 3-letter weekday.
DATE_FORMATS = ("{M} {d}, {y}", "{d} {m} {y}", "{W}, {M} {d}, {y}", "{y} {M} {d}",
                "{d} {M} {y}", "{m} {d}, {y}", "{w} {d} {m} {y}", "{y}, {d} {M}")
FIRST_YEAR, LAST_YEAR = 1900, 2099
DATE_ALPHABET = "".join(sorted(set("".join(MONTHS + WEEKDAYS) + "0123456789 ,-")))


def is_held_out(format_index: int, month: int) -> bool:
    """True when (format, month) belongs to the held-out split: one format per month, and each
    format loses 1 or 2 of its 12 months, spread so no format or month is held out entirely."""
    if not 0 <= format_index < len(DATE_FORMATS):
        raise ValueError(f"format_index must be in [0, {len(DATE_FORMATS)}), got {format_index}")
    if not 1 <= month <= 12:
        raise ValueError(f"month must be in [1, 12], got {month}")
    return (5 * (month - 1) + 3) % len(DATE_FORMATS) == format_index


def format_date(date: _dt.date, format_index: int) -> str:
    """Write ``date`` in the human format ``DATE_FORMATS[format_index]``."""
    if not isinstance(date, _dt.date):
        raise TypeError(f"date must be a datetime.date, got {type(date).__name__}")
    if not 0 <= format_index < len(DATE_FORMATS):
        raise ValueError(f"format_index must be in [0, {len(DATE_FORMATS)}), got {format_index}")
    month, weekday = MONTHS[date.month - 1], WEEKDAYS[date.weekday()]
    return DATE_FORMATS[format_index].format(M=month, m=month[:3], d=date.day, y=date.year,
                                             W=weekday, w=weekday[:3])


def _check_n_seed(n: int, seed: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")


def dates(n: int, *, seed: int, split: str = "train") -> list[tuple[str, str]]:
    """``n`` pairs (human date, ISO date), e.g. ("March 5, 2021", "2021-03-05"), dates uniform
    in 1900–2099; ``split`` "train" or "test" picks the (format, month) pairs (see is_held_out)."""
    _check_n_seed(n, seed)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    rng = random.Random(f"dates-{seed}-{split}")
    first = _dt.date(FIRST_YEAR, 1, 1).toordinal()
    last = _dt.date(LAST_YEAR, 12, 31).toordinal()
    pairs = []
    for _ in range(n):
        date = _dt.date.fromordinal(rng.randint(first, last))
        allowed = [f for f in range(len(DATE_FORMATS))
                   if is_held_out(f, date.month) == (split == "test")]
        pairs.append((format_date(date, rng.choice(allowed)), date.isoformat()))
    return pairs


def addition(n: int, *, seed: int, digits: int = 3) -> list[tuple[str, str]]:
    """``n`` pairs ("a+b", "a+b's value"), a and b uniform in [0, 10**digits)."""
    _check_n_seed(n, seed)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 18:
        raise ValueError(f"digits must be an int in [1, 18], got {digits!r}")
    rng = random.Random(f"addition-{seed}-{digits}")
    pairs = []
    for _ in range(n):
        a, b = rng.randrange(10 ** digits), rng.randrange(10 ** digits)
        pairs.append((f"{a}+{b}", str(a + b)))
    return pairs


def reversal(n: int, *, seed: int, length: int = 8) -> list[tuple[str, str]]:
    """``n`` pairs (s, s reversed), s of 1 to ``length`` lowercase letters."""
    _check_n_seed(n, seed)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    rng = random.Random(f"reversal-{seed}-{length}")
    letters = "abcdefghijklmnopqrstuvwxyz"
    pairs = []
    for _ in range(n):
        s = "".join(rng.choice(letters) for _ in range(rng.randint(1, length)))
        pairs.append((s, s[::-1]))
    return pairs


class Vocab:
    """Characters to ids and back: 0 = <pad>, 1 = <bos>, 2 = <eos>, then the sorted characters."""

    PAD, BOS, EOS = 0, 1, 2
    SPECIALS = ("<pad>", "<bos>", "<eos>")

    def __init__(self, chars: Iterable[str]):
        if isinstance(chars, str):
            chars = list(chars)
        chars = sorted(set(chars))
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError(f"chars must be single characters, got {chars[:5]!r}...: pass a "
                             f"string such as DATE_ALPHABET")
        self.itos = list(self.SPECIALS) + chars
        self.stoi = {c: i for i, c in enumerate(self.itos) if i >= len(self.SPECIALS)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "Vocab":
        """A vocabulary holding every character of ``texts``."""
        return cls("".join(texts))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> list[int]:
        """Ids of the characters of ``text``, optionally framed by <bos> and <eos>."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        missing = sorted(set(text) - self.stoi.keys())
        if missing:
            raise ValueError(f"characters {missing!r} are not in the vocabulary: build it from "
                             f"texts that contain them")
        ids = [self.stoi[c] for c in text]
        return [self.BOS] * bos + ids + [self.EOS] * eos

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``: stops at the first <eos>, skips <pad> and <bos>."""
        out = []
        for i in (int(i) for i in ids):
            if i == self.EOS:
                break
            if not 0 <= i < len(self.itos):
                raise ValueError(f"id {i} is outside the vocabulary [0, {len(self.itos)})")
            if i >= len(self.SPECIALS):
                out.append(self.itos[i])
        return "".join(out)

    def encode_batch(self, texts: Sequence[str], *, bos: bool = False, eos: bool = False,
                     length: int | None = None) -> torch.Tensor:
        """A (batch, length) LongTensor of ids, right-padded with <pad> (0) to the longest text
        or to ``length``."""
        if isinstance(texts, str) or not len(texts):
            raise ValueError("texts must be a non-empty sequence of strings (not one string)")
        rows = [self.encode(t, bos=bos, eos=eos) for t in texts]
        width = max(map(len, rows)) if length is None else length
        if width < max(map(len, rows)):
            raise ValueError(f"length={length} is shorter than the longest encoded text "
                             f"({max(map(len, rows))}): pass a larger length or None")
        batch = torch.full((len(rows), width), self.PAD, dtype=torch.long)
        for r, ids in enumerate(rows):
            batch[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return batch
