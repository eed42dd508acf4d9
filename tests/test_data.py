"""utils.data: bundled sets, loaders on tiny files in the real formats, the download registry
(verify, corrupt cache, offline, not allowed) and the standard-library corpus."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest

import utils
from utils import data


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZTL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(data.DOWNLOAD_ENV, raising=False)


def test_load_sklearn_dtypes_and_errors():
    X, y = data.load_sklearn("digits")
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.dtype == np.int64
    X, y = data.load_sklearn("diabetes")
    assert y.dtype == np.float32 and len(X) == len(y) == 442
    with pytest.raises(ValueError, match="unknown bundled data set 'mnist'"):
        data.load_sklearn("mnist")


def _write_idx(path: Path, array: np.ndarray, code: int) -> None:
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


def test_read_idx_roundtrip_and_bad_magic(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    _write_idx(tmp_path / "img.gz", images, 0x08)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "img.gz"), images)
    floats = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    _write_idx(tmp_path / "f.gz", floats, 0x0D)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "f.gz"), floats)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")


def test_mnist_loader_on_tiny_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 4), ("t10k", 2)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz",
                   rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), 0x08)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz",
                   np.arange(n, dtype=np.uint8), 0x08)
    loaded = data.REGISTRY["mnist"].loader(tmp_path)
    assert loaded["train"][0].shape == (4, 28, 28) and loaded["test"][1].tolist() == [0, 1]


def test_read_cifar10_binary_on_tiny_tarball(tmp_path):
    rng = np.random.default_rng(0)
    def records(labels):
        return b"".join(bytes([lab]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
                        for lab in labels)
    path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in (("cifar-10-batches-bin/data_batch_1.bin", records([3, 7])),
                              ("cifar-10-batches-bin/test_batch.bin", records([9])),
                              ("cifar-10-batches-bin/batches.meta.txt", b"airplane\n")):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    out = data.read_cifar10_binary(path)
    assert out["train"][0].shape == (2, 3, 32, 32) and out["train"][1].tolist() == [3, 7]
    assert out["test"][1].tolist() == [9]


def test_read_imdb_on_tiny_tarball(tmp_path):
    path = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in (("aclImdb/train/pos/0_9.txt", "Great film."),
                              ("aclImdb/train/neg/1_2.txt", "Dull, très long."),
                              ("aclImdb/train/unsup/2_0.txt", "no label"),
                              ("aclImdb/test/neg/3_1.txt", "Awful."),
                              ("aclImdb/README", "readme")):
            raw = payload.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    out = data.read_imdb(path)
    assert out["train"][0] == ["Dull, très long.", "Great film."]
    assert out["train"][1].tolist() == [0, 1] and out["test"][1].tolist() == [0]


def _register(monkeypatch, tmp_path, content: bytes, sha: str | None = None, url: str = ""):
    src = tmp_path / "source.txt"
    src.write_bytes(content)
    remote = data.Remote(url or src.as_uri(), sha or hashlib.sha256(content).hexdigest(),
                         len(content))
    monkeypatch.setitem(data.REGISTRY, "toy", data.Dataset(
        "toy", (remote,), "CC0", "a test file", lambda folder: data.read_text(folder / "source.txt")))
    return remote


def test_fetch_only_when_allowed_then_verified(tmp_path, monkeypatch):
    _register(monkeypatch, tmp_path, b"hello\r\nworld\n")
    with pytest.raises(data.DownloadNotAllowed, match="does not download"):
        data.fetch("toy")
    assert data.load("toy", download=True) == "hello\nworld\n"
    assert data.load("toy") == "hello\nworld\n"  # cached now: no download needed


def test_gpu_profile_downloads(tmp_path, monkeypatch):
    _register(monkeypatch, tmp_path, b"abc")
    utils.profile("gpu", cpu={}, smoke={}, gpu={}, verbose=False)
    try:
        assert (data.fetch("toy") / "source.txt").read_bytes() == b"abc"
    finally:
        utils.profile("cpu", cpu={}, smoke={}, verbose=False)


def test_corrupt_cache_is_fetched_again(tmp_path, monkeypatch):
    _register(monkeypatch, tmp_path, b"good bytes")
    cached = data.fetch("toy", download=True) / "source.txt"
    cached.write_bytes(b"bad bytes!")
    with pytest.warns(UserWarning, match="corrupt"):
        data.fetch("toy", download=True)
    assert cached.read_bytes() == b"good bytes"


def test_corrupt_download_is_rejected(tmp_path, monkeypatch):
    _register(monkeypatch, tmp_path, b"payload", sha="0" * 64)
    with pytest.raises(ValueError, match="corrupt"):
        data.fetch("toy", download=True)
    assert not any((utils.cache_root() / "data" / "toy").iterdir())  # nothing half-written


def test_offline_message(tmp_path, monkeypatch):
    _register(monkeypatch, tmp_path, b"x", url="http://127.0.0.1:9/source.txt")
    with pytest.raises(data.Offline, match="copy the file to"):
        data.fetch("toy", download=True)


def test_registry_entries_are_complete():
    for name, ds in data.REGISTRY.items():
        assert ds.files and ds.licence and ds.source, name
        for remote in ds.files:
            assert len(remote.sha256) == 64 and remote.size > 0 and remote.url.startswith("http")
    with pytest.raises(ValueError, match="unknown data set"):
        data.fetch("imagenet")


def test_stdlib_files_leave_out_tests_and_site_packages():
    files = data.stdlib_files()
    assert "os.py" in files and "json/decoder.py" in files
    assert not [f for f in files if {"test", "tests", "idle_test", "site-packages",
                                     "__pycache__"} & set(f.split("/"))]


def test_stdlib_corpus_matches_manifest():
    header, entries = data.read_manifest(data.manifest_path())
    corpus = data.stdlib_corpus()
    assert corpus.startswith(f"# file: {entries[0][0]}\n")
    assert corpus.count("\n# file: ") + 1 == len(entries) and "\r" not in corpus
    assert data.manifest_path((3, 12)).exists() and data.manifest_path((3, 11)).exists()


def test_stdlib_corpus_says_what_differs(tmp_path):
    root = tmp_path / "lib"
    (root / "pkg").mkdir(parents=True)
    (root / "a.py").write_text("A = 1\n")
    (root / "pkg" / "b.py").write_text("B = 2\n")
    manifest = tmp_path / "stdlib-test.tsv"
    manifest.write_text("# python test\n"
                        f"a.py\t{hashlib.sha256(b'A = 1' + bytes([10])).hexdigest()}\n"
                        f"pkg/b.py\t{'0' * 64}\nmissing.py\t{'1' * 64}\n")
    with pytest.raises(ValueError, match="1 files missing, 1 changed"):
        data.stdlib_corpus(root=root, manifest=manifest)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert data.stdlib_corpus(root=root, manifest=manifest, strict=False) == "# file: a.py\nA = 1\n"
    assert "differs from the manifest" in str(caught[0].message)
