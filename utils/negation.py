"""Negation reviews: a generated sentiment corpus where word order decides the label.

Short movie and product reviews are filled into templates. A *plain* review has one adjective
phrase and its polarity is the label ("the plot was very good"). A *negation* review has two
adjective phrases of opposite polarity: one is asserted, the other negated or contrasted away
("the plot was not good , it was dull"), and the label is the polarity of the asserted one.
Negation reviews come in **twins**: the same template with the two phrases swapped, so both
reviews hold exactly the same multiset of words and carry opposite labels. Any model that only
sees word counts therefore scores exactly 50% on any set of complete twin pairs.

The ``test`` split holds out what the ``train`` split never shows: whole negation templates
(``HELDOUT_TEMPLATES``, built from training words only) and some intensifier-adjective
combinations (``heldout_combo``). Notebook 7.3 uses it; datasets/README.md documents it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import torch

NOUNS = ("movie", "film", "plot", "script", "cast", "ending", "soundtrack",
         "phone", "battery", "screen", "camera", "service")
POSITIVE = ("good", "great", "fun", "superb", "charming", "clever", "lovely", "solid")
NEGATIVE = ("bad", "awful", "boring", "dull", "weak", "clumsy", "poor", "bland")
INTENSIFIERS = ("very", "really", "truly", "quite", "rather", "extremely")

# Slots: {n} a noun, {a} the asserted adjective phrase (its polarity is the label), {x} the
# negated or contrasted phrase (always of the opposite polarity).
PLAIN_TEMPLATES = {
    "p0": "the {n} was {a}",
    "p1": "a {a} {n}",
    "p2": "what a {a} {n} !",
    "p3": "i found the {n} {a}",
}
NEGATION_TEMPLATES = {
    "n0": "the {n} was not {x} , it was {a}",
    "n1": "not {x} , just {a}",
    "n2": "the {n} was {a} and never {x}",
    "n3": "i expected {x} but the {n} was {a}",
    "n4": "the {n} was hardly {x} , more like {a}",
    "n5": "it was {a} , not {x}",
    "n6": "never {x} , always {a}",
}
HELDOUT_TEMPLATES = {
    "h0": "the {n} was not {x} but {a}",
    "h1": "the {n} was {a} , hardly {x}",
    "h2": "never {x} , the {n} was {a}",
    "h3": "a {a} {n} , not {x}",
}
NEGATORS = ("not", "never", "hardly")
SPLITS = ("train", "test")

Review = tuple[str, int, dict]


def heldout_combo(intensifier: str, adjective: str) -> bool:
    """True for the intensifier-adjective pairs that only the ``test`` split uses."""
    if intensifier not in INTENSIFIERS:
        raise ValueError(f"unknown intensifier {intensifier!r}; use one of {INTENSIFIERS}")
    if adjective not in POSITIVE + NEGATIVE:
        raise ValueError(f"unknown adjective {adjective!r}; use one of POSITIVE or NEGATIVE")
    i = (POSITIVE.index(adjective) if adjective in POSITIVE else NEGATIVE.index(adjective))
    return INTENSIFIERS.index(intensifier) in {i % len(INTENSIFIERS), (i + 3) % len(INTENSIFIERS)}


def tokenize(text: str) -> list[str]:
    """Lower-case whitespace tokens (the corpus puts spaces around punctuation)."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
    return text.lower().split()


class Vocab:
    """Token <-> id map with ``<pad>`` = 0 and ``<unk>`` = 1, tokens sorted by count then name."""

    PAD, UNK = "<pad>", "<unk>"

    def __init__(self, texts: Iterable[str], min_count: int = 1) -> None:
        """Build from raw texts; tokens seen fewer than ``min_count`` times map to ``<unk>``."""
        if isinstance(texts, str):
            raise TypeError("Vocab expects a list of texts, got one str: wrap it in a list")
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be a positive int, got {min_count!r}")
        counts = Counter(tok for text in texts for tok in tokenize(text))
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        self.itos: list[str] = [self.PAD, self.UNK, *kept]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}

    def __len__(self) -> int:
        """Number of ids, ``<pad>`` and ``<unk>`` included."""
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """Ids of ``text``'s tokens; unknown tokens become 1."""
        return [self.stoi.get(tok, 1) for tok in tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``, padding dropped."""
        return " ".join(self.itos[int(i)] for i in ids if int(i) != 0)

    def encode_padded(self, texts: list[str]) -> torch.Tensor:
        """A (len(texts), longest) int64 tensor of ids, right-padded with 0."""
        if isinstance(texts, str) or not texts:
            raise ValueError("encode_padded expects a non-empty list of texts")
        ids = [self.encode(t) for t in texts]
        out = torch.zeros(len(ids), max(len(i) for i in ids), dtype=torch.long)
        for row, seq in enumerate(ids):
            out[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        return out


def _phrase(rng: np.random.Generator, adjectives: tuple[str, ...], index: int,
            combo: str) -> str:
    """An adjective phrase; ``combo`` is 'seen' (no held-out pair), 'heldout' or 'any'."""
    adjective = adjectives[index]
    options = [""] + [i for i in INTENSIFIERS
                      if combo == "any" or heldout_combo(i, adjective) == (combo == "heldout")]
    if combo == "heldout":
        options.remove("")
    intensifier = options[rng.integers(len(options))]
    return f"{intensifier} {adjective}".strip()


def _fill(template: str, noun: str, asserted: str, negated: str = "") -> str:
    return template.format(n=noun, a=asserted, x=negated)


def _plain_pair(rng: np.random.Generator, key: str, combo: str) -> list[Review]:
    noun, i = NOUNS[rng.integers(len(NOUNS))], int(rng.integers(len(POSITIVE)))
    good = _phrase(rng, POSITIVE, i, combo)
    bad = " ".join([*good.split()[:-1], NEGATIVE[i]])  # same intensifier, mirrored adjective
    template = PLAIN_TEMPLATES[key]
    meta = {"template": key, "subset": "plain", "heldout": "combo" if combo == "heldout"
            else "none"}
    return [(_fill(template, noun, good), 1, dict(meta)), (_fill(template, noun, bad), 0, dict(meta))]


def _negation_pair(rng: np.random.Generator, key: str, template: str,
                   heldout: str) -> list[Review]:
    noun = NOUNS[rng.integers(len(NOUNS))]
    i, j = (int(k) for k in rng.integers(len(POSITIVE), size=2))
    if heldout == "combo":  # at least one phrase uses a held-out pair
        first = rng.integers(2)
        good = _phrase(rng, POSITIVE, i, "heldout" if first == 0 else "any")
        bad = _phrase(rng, NEGATIVE, j, "heldout" if first == 1 else "any")
    else:
        good, bad = _phrase(rng, POSITIVE, i, "seen"), _phrase(rng, NEGATIVE, j, "seen")
    meta = {"template": key, "subset": "negation", "heldout": heldout}
    return [(_fill(template, noun, good, bad), 1, dict(meta)),
            (_fill(template, noun, bad, good), 0, dict(meta))]


def make_reviews(n: int, *, seed: int, split: str = "train",
                 negation_share: float = 0.5) -> list[Review]:
    """``n`` shuffled ``(text, label, meta)`` reviews, label 1 = positive, half of each label.

    ``meta`` holds ``template``, ``subset`` ('plain' or 'negation'), ``heldout`` ('none' in
    train; 'combo' or 'template' in test) and ``twin``, the index of the review built from the
    same words with the opposite label (for plain reviews: the mirrored adjective). In ``test``
    half of the negation pairs use ``HELDOUT_TEMPLATES`` and every other review a held-out
    intensifier-adjective pair, so no test review can occur in ``train``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n % 2:
        raise ValueError(f"n must be an even int >= 2 (reviews come in pairs), got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not 0.0 <= negation_share <= 1.0:
        raise ValueError(f"negation_share must be in [0, 1], got {negation_share!r}")
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    n_pairs = n // 2
    n_negation = round(n_pairs * negation_share)
    n_new_template = n_negation // 2 if split == "test" else 0
    pairs: list[list[Review]] = []
    plain_keys, negation_keys = sorted(PLAIN_TEMPLATES), sorted(NEGATION_TEMPLATES)
    heldout_keys = sorted(HELDOUT_TEMPLATES)
    for k in range(n_pairs):
        if k < n_new_template:
            key = heldout_keys[k % len(heldout_keys)]
            pairs.append(_negation_pair(rng, key, HELDOUT_TEMPLATES[key], "template"))
        elif k < n_negation:
            key = negation_keys[k % len(negation_keys)]
            pairs.append(_negation_pair(rng, key, NEGATION_TEMPLATES[key],
                                        "combo" if split == "test" else "none"))
        else:
            key = plain_keys[k % len(plain_keys)]
            pairs.append(_plain_pair(rng, key, "heldout" if split == "test" else "seen"))
    order = rng.permutation(n)
    flat = [review for pair in pairs for review in pair]
    position = {int(old): new for new, old in enumerate(order)}
    out: list[Review] = []
    for old in order:
        text, label, meta = flat[int(old)]
        out.append((text, label, {**meta, "twin": position[int(old) ^ 1]}))
    return out
