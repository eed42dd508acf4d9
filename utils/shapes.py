"""Shapes: a generated image data set for classification, detection, segmentation and captions.

Each image holds one *target* shape (the label) drawn over ``distractors`` smaller objects, on a
random background, with Gaussian pixel noise. Colour is drawn independently of the class, the
target is rotated at random and covers 25-60 % of the canvas side, so a model has to look at
the outline. Rendering is plain NumPy: point-in-shape tests on a supersampled grid.

``make_shapes(n, seed=0)`` returns a :class:`Shapes` with channels-first float32 images in
[0, 1], int64 labels, xyxy pixel boxes, boolean masks of the target and a caption per image.
``splits(n_train, n_test, seed=0)`` gives two disjoint, deterministic sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring")
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.15, 0.15), "green": (0.15, 0.80, 0.25), "blue": (0.20, 0.35, 0.95),
    "yellow": (0.95, 0.90, 0.15), "magenta": (0.90, 0.20, 0.85), "cyan": (0.15, 0.85, 0.90),
    "orange": (1.00, 0.55, 0.10), "white": (0.95, 0.95, 0.95),
}
MIN_SCALE, MAX_SCALE = 0.25, 0.60   # target's outer diameter as a fraction of the canvas side
_SUPERSAMPLE = 2                    # sub-pixels per pixel side for anti-aliasing
_CHUNK = 512                        # images rendered at once (bounds memory)


@dataclass
class Shapes:
    """A batch of generated images with labels, boxes, masks and captions."""

    images: np.ndarray              # (n, 3, size, size) float32 in [0, 1]
    labels: np.ndarray              # (n,) int64 index into class_names
    boxes: np.ndarray               # (n, 4) float32 x0, y0, x1, y1 in pixels (pixel edges)
    masks: np.ndarray               # (n, size, size) bool, the target shape
    captions: list[str]             # e.g. "a small blue star near the top left"
    colours: list[str]              # the target's colour name
    class_names: tuple[str, ...] = field(default=CLASS_NAMES)

    def __len__(self) -> int:
        """Number of images."""
        return len(self.labels)

    @property
    def images_nhwc(self) -> np.ndarray:
        """Images channels-last, (n, size, size, 3), as Keras expects."""
        return np.ascontiguousarray(self.images.transpose(0, 2, 3, 1))


def _inside(kind: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Point-in-shape test in the shape's own frame (outer radius 1)."""
    name = CLASS_NAMES[kind]
    rho = np.sqrt(u * u + v * v)
    if name == "circle":
        return rho <= 0.85
    if name == "ring":
        return (rho <= 1.0) & (rho >= 0.55)
    if name == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.70
    if name == "cross":
        a, b = np.abs(u), np.abs(v)
        return ((a <= 0.95) & (b <= 0.3)) | ((b <= 0.95) & (a <= 0.3))
    if name == "triangle":          # regular triangle, circumradius 1: three half-planes
        normals = np.pi / 3 + 2 * np.pi * np.arange(3) / 3
        proj = u[..., None] * np.cos(normals) + v[..., None] * np.sin(normals)
        return np.all(proj <= 0.5, axis=-1)
    if name == "star":              # a pentagram: inside at least 4 of its 5 edge half-planes
        normals = np.pi / 5 + 2 * np.pi * np.arange(5) / 5
        proj = u[..., None] * np.cos(normals) + v[..., None] * np.sin(normals)
        return (proj <= np.cos(2 * np.pi / 5)).sum(axis=-1) >= 4
    raise AssertionError(name)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel centres (x, y) of a supersampled size x size canvas."""
    s = _SUPERSAMPLE
    t = (np.arange(size * s, dtype=np.float32) + 0.5) / s
    return np.meshgrid(t, t, indexing="xy")


def _coverage(inside: np.ndarray, size: int) -> np.ndarray:
    """Fraction of each pixel's sub-pixels inside: (m, size*s, size*s) bool -> (m, size, size)."""
    s = _SUPERSAMPLE
    return inside.reshape(len(inside), size, s, size, s).mean(axis=(2, 4), dtype=np.float32)


def _where(cx: float, cy: float, size: int) -> str:
    """Caption phrase for a position on a 3 x 3 grid."""
    row = ("top", "", "bottom")[min(int(3 * cy / size), 2)]
    col = ("left", "", "right")[min(int(3 * cx / size), 2)]
    place = " ".join(w for w in (row, col) if w)
    return "in the centre" if not place else f"near the {place}"


def make_shapes(n: int, *, seed: int = 0, size: int = 32, noise: float = 0.05,
                distractors: int = 1) -> Shapes:
    """Generate ``n`` Shapes images deterministically from ``seed``."""
    for name, value in (("n", n), ("seed", seed), ("size", size), ("distractors", distractors)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if n < 1:
        raise ValueError(f"n={n} images: ask for at least 1")
    if seed < 0:
        raise ValueError(f"seed={seed}: use a non-negative integer")
    if size < 16:
        raise ValueError(f"size={size} is too small to tell shapes apart: use size >= 16")
    if distractors < 0:
        raise ValueError(f"distractors={distractors}: use 0 or more")
    if not isinstance(noise, (int, float)) or not 0 <= noise <= 0.5:
        raise ValueError(f"noise={noise!r}: use a standard deviation between 0 and 0.5")

    rng = np.random.default_rng(seed)
    k = len(CLASS_NAMES)
    labels = rng.permutation(np.arange(n) % k).astype(np.int64)     # balanced to within one
    scale = rng.uniform(MIN_SCALE, MAX_SCALE, n)
    radius = scale * size / 2
    cx = rng.uniform(radius, size - radius)
    cy = rng.uniform(radius, size - radius)
    angle = rng.uniform(0, 2 * np.pi, n)
    names = list(COLOURS)
    colour_idx = rng.integers(0, len(names), n)                      # independent of the label
    palette = np.array([COLOURS[c] for c in names], dtype=np.float32)
    fg = np.clip(palette[colour_idx] + rng.normal(0, 0.05, (n, 3)), 0, 1).astype(np.float32)
    bg = (rng.uniform(0.0, 0.3, (n, 1)) + rng.uniform(-0.05, 0.05, (n, 3))).clip(0, 1)
    # distractors: capsules (a segment with a radius); zero length gives a blob
    m = max(distractors, 1)
    d_len = rng.uniform(0, 0.15 * size, (n, m))
    d_rad = rng.uniform(0.02 * size, 0.045 * size, (n, m))
    d_ang = rng.uniform(0, np.pi, (n, m))
    d_x0 = rng.uniform(0, size, (n, m))
    d_y0 = rng.uniform(0, size, (n, m))
    d_col = palette[rng.integers(0, len(names), (n, m))]
    d_dx = (d_len * np.cos(d_ang)).astype(np.float32)
    d_dy = (d_len * np.sin(d_ang)).astype(np.float32)
    d_x0, d_y0, d_rad = (a.astype(np.float32) for a in (d_x0, d_y0, d_rad))
    noise_field = rng.normal(0, noise, (n, 3, size, size)).astype(np.float32)

    gx, gy = _grid(size)
    px_x, px_y = np.meshgrid(np.arange(size, dtype=np.float32) + 0.5,
                             np.arange(size, dtype=np.float32) + 0.5, indexing="xy")
    f32 = np.float32
    images = np.empty((n, 3, size, size), dtype=np.float32)
    masks = np.empty((n, size, size), dtype=bool)
    for start in range(0, n, _CHUNK):
        idx = np.arange(start, min(start + _CHUNK, n))
        canvas = np.broadcast_to(bg[idx, :, None, None], (len(idx), 3, size, size)).astype(f32)
        for j in range(distractors):   # capsules at pixel resolution, soft edge from the distance
            x0, y0 = d_x0[idx, j, None, None], d_y0[idx, j, None, None]
            dx, dy = d_dx[idx, j, None, None], d_dy[idx, j, None, None]
            t = np.clip(((px_x - x0) * dx + (px_y - y0) * dy) / (dx * dx + dy * dy + 1e-6), 0, 1)
            dist = np.sqrt((px_x - x0 - t * dx) ** 2 + (px_y - y0 - t * dy) ** 2)
            alpha = np.clip(d_rad[idx, j, None, None] + 0.5 - dist, 0, 1)[:, None]
            canvas += alpha * (d_col[idx, j, :, None, None] - canvas)
        c = np.cos(angle[idx]).astype(f32)[:, None, None]
        s_ = np.sin(angle[idx]).astype(f32)[:, None, None]
        r = radius[idx].astype(f32)[:, None, None]
        px, py = gx - cx[idx].astype(f32)[:, None, None], gy - cy[idx].astype(f32)[:, None, None]
        u, v = (c * px + s_ * py) / r, (-s_ * px + c * py) / r
        inside = np.zeros(u.shape, dtype=bool)
        for kind in range(k):
            sel = labels[idx] == kind
            if sel.any():
                inside[sel] = _inside(kind, u[sel], v[sel])
        cover = _coverage(inside, size)
        masks[idx] = cover >= 0.5
        canvas += cover[:, None] * (fg[idx, :, None, None] - canvas)
        images[idx] = canvas
    images = np.clip(images + noise_field, 0, 1)

    boxes = np.zeros((n, 4), dtype=np.float32)
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    for i in range(n):
        ys, xs = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
        if len(xs):
            boxes[i] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    sizes = np.where(scale < 0.37, "small", np.where(scale < 0.48, "medium", "large"))
    colours = [names[c] for c in colour_idx]
    captions = [f"a {sizes[i]} {colours[i]} {CLASS_NAMES[labels[i]]} {_where(cx[i], cy[i], size)}"
                for i in range(n)]
    return Shapes(images, labels, boxes, masks, captions, colours)


def splits(n_train: int, n_test: int, *, seed: int = 0, **kwargs) -> tuple[Shapes, Shapes]:
    """Disjoint train and test sets; each split has its own seed derived from ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: use a non-negative integer")
    train_seed, test_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    return (make_shapes(n_train, seed=train_seed, **kwargs),
            make_shapes(n_test, seed=test_seed, **kwargs))
