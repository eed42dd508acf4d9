"""Cleaning and deduplicating a text corpus, as taught in notebook 11.1.

* ``normalize(text)`` puts text in one canonical form (Unicode NFKC, ``\\n`` line endings, no
  trailing spaces, at most one blank line in a row), so trivial differences do not hide copies;
* ``exact_key(text)`` is the BLAKE2b hash of the normalised text: equal keys mean exact copies;
* ``shingles(text, k)`` is the set of **word** k-grams (whitespace-separated tokens of the
  normalised text, joined by one space); a text of fewer than ``k`` words gives one shingle;
* ``MinHasher`` turns a shingle set into a MinHash signature with ``num_perm`` universal hash
  functions ``h_i(x) = (a_i x + b_i) mod p``, ``p = 2**31 - 1``; the fraction of equal entries
  of two signatures estimates the Jaccard similarity of the two sets;
* ``LSH`` bands signatures (``bands`` bands of ``rows`` rows): two documents become a candidate
  pair when all rows of at least one band agree, with probability ``1 - (1 - s**rows)**bands``;
* ``near_duplicate_pairs(docs)`` chains them: LSH candidates verified by estimated Jaccard;
* ``quality_ok(text)`` applies simple heuristic filters and says why a text fails.

Each shingle is hashed to an integer below ``p`` with the first 8 bytes of its BLAKE2b digest
(little-endian), so signatures are the same on every machine and in every process.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["LSH", "MinHasher", "PRIME", "QUALITY_LIMITS", "choose_bands", "exact_key",
           "hash_shingles", "near_duplicate_pairs", "normalize", "quality_ok", "shingles"]

PRIME = (1 << 31) - 1  # a Mersenne prime: a * x + b < 2**62 never overflows uint64
QUALITY_LIMITS: dict[str, float] = {
    "min_chars": 200,  # shorter documents carry too little text to learn from
    "max_line_chars": 1000,  # minified code, data dumps, base64 blobs
    "min_alnum_frac": 0.25,  # letters and digits over all non-space characters
    "max_dup_line_frac": 0.3,  # non-blank lines that repeat an earlier line
}
_BLANK_RUNS = re.compile(r"\n{3,}")


def _check_str(text: Any, what: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}: decode bytes first "
                        "(e.g. data.decode('utf-8'))")
    return text


def normalize(text: str, form: str = "NFKC") -> str:
    """Canonical text: Unicode ``form``, LF endings, no trailing spaces, <= 1 blank line in a row."""
    _check_str(text)
    if form not in ("NFC", "NFKC"):
        raise ValueError(f"form must be 'NFC' or 'NFKC', got {form!r}")
    text = unicodedata.normalize(form, text).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def exact_key(text: str) -> str:
    """Hex BLAKE2b (128-bit) digest of ``normalize(text)``: equal keys mean exact duplicates."""
    return hashlib.blake2b(normalize(text).encode("utf-8"), digest_size=16).hexdigest()


def shingles(text: str, k: int = 5) -> set[str]:
    """Word ``k``-grams of the normalised text joined by one space (one shingle if <= k words)."""
    _check_str(text)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}: use e.g. k=5 word shingles")
    words = normalize(text).split()
    if len(words) <= k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def hash_shingles(shingle_set: Iterable[str]) -> np.ndarray:
    """Each shingle's BLAKE2b-64 hash modulo ``PRIME``, as a uint64 array (order of iteration)."""
    if isinstance(shingle_set, str):
        raise TypeError("pass a set of shingles, not one str: use shingles(text) first")
    out = [int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")
           % PRIME for s in shingle_set]
    return np.array(out, dtype=np.uint64)


class MinHasher:
    """MinHash signatures from ``num_perm`` universal hashes ``(a x + b) mod PRIME``, seeded."""

    def __init__(self, num_perm: int = 128, seed: int = 0) -> None:
        if isinstance(num_perm, bool) or not isinstance(num_perm, int) or num_perm < 1:
            raise ValueError(f"num_perm must be a positive int, got {num_perm!r}: try 128")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        rng = np.random.default_rng(seed)
        self.num_perm, self.seed = num_perm, seed
        self.a = rng.integers(1, PRIME, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, PRIME, size=num_perm, dtype=np.uint64)

    def signature(self, shingle_set: Iterable[str]) -> np.ndarray:
        """The uint64 signature (``num_perm`` long): per hash function, the minimum over shingles."""
        x = hash_shingles(shingle_set)
        if x.size == 0:
            raise ValueError("empty shingle set has no MinHash signature: drop empty documents "
                             "first (quality_ok) or use a smaller k")
        return ((self.a[:, None] * x[None, :] + self.b[:, None]) % PRIME).min(axis=1)

    @staticmethod
    def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
        """Estimated Jaccard similarity: the fraction of positions where two signatures agree."""
        sig_a, sig_b = np.asarray(sig_a), np.asarray(sig_b)
        if sig_a.ndim != 1 or sig_a.shape != sig_b.shape or sig_a.size == 0:
            raise ValueError(f"signatures must be 1-D of equal, non-zero length; got shapes "
                             f"{sig_a.shape} and {sig_b.shape}: use one MinHasher for both")
        return float(np.mean(sig_a == sig_b))


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class LSH:
    """Locality-sensitive hashing of MinHash signatures by banding (``bands`` x ``rows``)."""

    def __init__(self, bands: int, rows: int) -> None:
        self.bands, self.rows = _positive("bands", bands), _positive("rows", rows)
        self.buckets: list[dict[bytes, list[Hashable]]] = [defaultdict(list) for _ in range(bands)]
        self.keys: set[Hashable] = set()

    def add(self, key: Hashable, signature: np.ndarray) -> None:
        """File ``key`` in one bucket per band, keyed by that band's slice of ``signature``."""
        sig = np.asarray(signature)
        if sig.ndim != 1 or sig.size < self.bands * self.rows:
            raise ValueError(f"signature of shape {sig.shape} is too short for {self.bands} bands "
                             f"x {self.rows} rows: use num_perm >= {self.bands * self.rows}")
        if key in self.keys:
            raise ValueError(f"key {key!r} was already added: keys must be unique")
        self.keys.add(key)
        for band in range(self.bands):
            self.buckets[band][sig[band * self.rows:(band + 1) * self.rows].tobytes()].append(key)

    def candidates(self) -> set[tuple]:
        """Pairs ``(a, b)`` with ``a < b`` that share a bucket in at least one band."""
        pairs: set[tuple] = set()
        for table in self.buckets:
            for keys in table.values():
                if len(keys) > 1:
                    keys = sorted(keys)
                    pairs.update((keys[i], keys[j]) for i in range(len(keys))
                                 for j in range(i + 1, len(keys)))
        return pairs

    def threshold(self) -> float:
        """The similarity where the S-curve is steepest, about ``(1/bands)**(1/rows)``."""
        return (1.0 / self.bands) ** (1.0 / self.rows)

    def probability(self, s: float | np.ndarray) -> float | np.ndarray:
        """Probability that a pair of Jaccard similarity ``s`` becomes a candidate."""
        return 1.0 - (1.0 - np.asarray(s, dtype=float) ** self.rows) ** self.bands


def choose_bands(num_perm: int, threshold: float, target: float = 0.9) -> tuple[int, int]:
    """The ``(bands, rows)`` with most rows (fewest false candidates) such that ``bands * rows <=
    num_perm`` and a pair at ``threshold`` is a candidate with probability >= ``target``."""
    _positive("num_perm", num_perm)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold ** rows) ** bands >= target:
            best = (bands, rows)
    return best


def near_duplicate_pairs(docs: Sequence[str], *, threshold: float = 0.8, num_perm: int = 128,
                         bands: int | None = None, rows: int | None = None, k: int = 5,
                         seed: int = 0) -> list[tuple[int, int, float]]:
    """``(i, j, estimated Jaccard)`` for LSH candidates ``i < j`` whose estimate >= threshold."""
    if isinstance(docs, str) or not isinstance(docs, Sequence):
        raise TypeError(f"docs must be a list of str, got {type(docs).__name__}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    _positive("num_perm", num_perm)
    if bands is None and rows is None:
        bands, rows = choose_bands(num_perm, threshold)
    elif bands is None:
        bands = num_perm // _positive("rows", rows)
    elif rows is None:
        rows = num_perm // _positive("bands", bands)
    if _positive("bands", bands) * _positive("rows", rows) > num_perm:
        raise ValueError(f"bands * rows = {bands * rows} exceeds num_perm = {num_perm}: "
                         "lower one of them or raise num_perm")
    hasher, lsh = MinHasher(num_perm, seed), LSH(bands, rows)
    signatures: dict[int, np.ndarray] = {}
    for i, doc in enumerate(docs):
        sh = shingles(_check_str(doc, f"docs[{i}]"), k)
        if sh:  # an empty document has no shingles: exact dedup handles those
            signatures[i] = hasher.signature(sh)
            lsh.add(i, signatures[i])
    pairs = []
    for i, j in sorted(lsh.candidates()):
        est = MinHasher.jaccard(signatures[i], signatures[j])
        if est >= threshold:
            pairs.append((i, j, est))
    return pairs


def quality_ok(text: str, **limits: float) -> tuple[bool, str]:
    """``(True, "ok")`` or ``(False, reason)`` from the heuristic filters in ``QUALITY_LIMITS``."""
    _check_str(text)
    unknown = sorted(set(limits) - set(QUALITY_LIMITS))
    if unknown:
        raise TypeError(f"unknown quality limits {unknown}; valid ones are {sorted(QUALITY_LIMITS)}")
    lim = {**QUALITY_LIMITS, **limits}
    for name, value in lim.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"quality limit {name} must be a number >= 0, got {value!r}")
    text = normalize(text)
    if len(text) < lim["min_chars"]:
        return False, f"too short: {len(text)} chars < min_chars={lim['min_chars']}"
    lines = text.split("\n")
    longest = max(len(line) for line in lines)
    if longest > lim["max_line_chars"]:
        return False, f"line too long: {longest} chars > max_line_chars={lim['max_line_chars']}"
    visible = [c for c in text if not c.isspace()]
    alnum = sum(c.isalnum() for c in visible) / max(len(visible), 1)
    if alnum < lim["min_alnum_frac"]:
        return False, (f"too little alphanumeric: {alnum:.2f} < "
                       f"min_alnum_frac={lim['min_alnum_frac']}")
    nonblank = [line.strip() for line in lines if line.strip()]
    dup = 1.0 - len(set(nonblank)) / max(len(nonblank), 1)
    if dup > lim["max_dup_line_frac"]:
        return False, (f"too many repeated lines: {dup:.2f} > "
                       f"max_dup_line_frac={lim['max_dup_line_frac']}")
    return True, "ok"
