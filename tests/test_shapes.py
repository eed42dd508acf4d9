"""utils.shapes: determinism, shapes and dtypes, ranges, balance, boxes vs masks, colour not
predictive of the class, disjoint splits, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from utils import shapes


@pytest.fixture(scope="module")
def batch() -> shapes.Shapes:
    return shapes.make_shapes(600, seed=3)


def test_deterministic_by_seed():
    a, b = shapes.make_shapes(20, seed=1), shapes.make_shapes(20, seed=1)
    c = shapes.make_shapes(20, seed=2)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    assert not np.array_equal(a.images, c.images)


def test_shapes_dtypes_and_range(batch):
    n = len(batch)
    assert batch.images.shape == (n, 3, 32, 32) and batch.images.dtype == np.float32
    assert batch.labels.shape == (n,) and batch.labels.dtype == np.int64
    assert batch.boxes.shape == (n, 4) and batch.boxes.dtype == np.float32
    assert batch.masks.shape == (n, 32, 32) and batch.masks.dtype == np.bool_
    assert len(batch.captions) == n and len(batch.class_names) >= 6
    assert 0.0 <= batch.images.min() and batch.images.max() <= 1.0
    assert batch.images_nhwc.shape == (n, 32, 32, 3)
    other = shapes.make_shapes(4, seed=0, size=48)
    assert other.images.shape == (4, 3, 48, 48) and other.masks.shape == (4, 48, 48)


def test_class_balance(batch):
    counts = np.bincount(batch.labels, minlength=len(batch.class_names))
    assert counts.max() - counts.min() <= 1


def test_boxes_contain_mask_and_scale(batch):
    for box, mask in zip(batch.boxes, batch.masks):
        ys, xs = np.nonzero(mask)
        assert len(xs) > 0
        assert box[0] == xs.min() and box[1] == ys.min()
        assert box[2] == xs.max() + 1 and box[3] == ys.max() + 1
    extent = np.maximum(batch.boxes[:, 2] - batch.boxes[:, 0], batch.boxes[:, 3] - batch.boxes[:, 1])
    assert extent.min() >= 0.15 * 32 and extent.max() <= 0.65 * 32


def test_caption_names_class_and_colour(batch):
    for caption, label, colour in zip(batch.captions, batch.labels, batch.colours):
        assert caption.startswith("a ") and batch.class_names[label] in caption
        assert colour in caption


def test_colour_not_predictive():
    from sklearn.linear_model import LogisticRegression

    data = shapes.make_shapes(1500, seed=5)
    m = data.masks[:, None]
    target_rgb = (data.images * m).sum(axis=(2, 3)) / m.sum(axis=(2, 3))
    features = np.concatenate([target_rgb, data.images.mean(axis=(2, 3))], axis=1)
    clf = LogisticRegression(max_iter=500).fit(features[:1000], data.labels[:1000])
    acc = clf.score(features[1000:], data.labels[1000:])
    assert acc < 0.27, acc   # chance is 1/6; shape area leaks a little through the mean colour


def test_splits_disjoint_and_deterministic():
    train, test = shapes.splits(50, 30, seed=0)
    train2, _ = shapes.splits(50, 30, seed=0)
    assert len(train) == 50 and len(test) == 30
    np.testing.assert_array_equal(train.images, train2.images)
    flat_train = {im.tobytes() for im in train.images}
    assert not any(im.tobytes() in flat_train for im in test.images)
    assert not np.array_equal(train.images[:30], test.images)


def test_rotation_keeps_class_definitions():
    """The renderer's shapes are distinct at any angle: no two classes share a mask."""
    grid = np.linspace(-1.1, 1.1, 61, dtype=np.float32)
    u, v = np.meshgrid(grid, grid)
    masks = [shapes._inside(k, u, v) for k in range(len(shapes.CLASS_NAMES))]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            assert (masks[i] != masks[j]).mean() > 0.05


@pytest.mark.parametrize("kwargs, error", [
    (dict(n=0), ValueError), (dict(n=5, seed=-1), ValueError), (dict(n=5, size=8), ValueError),
    (dict(n=5, noise=2.0), ValueError), (dict(n=5, distractors=-1), ValueError),
    (dict(n=2.5), TypeError), (dict(n=5, seed="a"), TypeError),
])
def test_bad_arguments(kwargs, error):
    n = kwargs.pop("n")
    with pytest.raises(error):
        shapes.make_shapes(n, **kwargs)
