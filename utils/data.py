"""Data for the notebooks.

* scikit-learn's bundled sets (``load_sklearn``), nothing downloaded;
* the registry of real data sets (``REGISTRY``: URL, SHA-256, size, licence, loader), fetched
  only in the ``gpu`` profile or on request, verified after every download, re-fetched when a
  cached copy is corrupt, with a clear message when offline;
* the standard-library corpus: Python's own ``.py`` files, defined by a committed manifest per
  Python minor version, so the text is identical on every machine with that Python.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import sys
import sysconfig
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from utils.config import current_profile
from utils.paths import cache_root

# ------------------------------------------------------------------ scikit-learn's bundled sets
SKLEARN_SETS = {
    "digits": ("load_digits", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}


def load_sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A data set bundled with scikit-learn as ``(X float32, y)``: y is int64 for classification
    and float32 for regression. Nothing is downloaded."""
    if name not in SKLEARN_SETS:
        raise ValueError(f"unknown bundled data set {name!r}; choose one of {sorted(SKLEARN_SETS)}")
    import sklearn.datasets

    loader, task = SKLEARN_SETS[name]
    X, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    y_dtype = np.int64 if task == "classification" else np.float32
    return X.astype(np.float32), y.astype(y_dtype)


# ------------------------------------------------------------------ file formats (loaders)
def read_idx(path: str | Path) -> np.ndarray:
    """An IDX array (MNIST's format), gzipped or not: magic, dims, then big-endian data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path.name} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path.name}: unknown IDX type code {raw[2]:#x}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path.name}: header says {shape} but holds {data.size} values")
    return data.reshape(shape).astype(dtypes[raw[2]].replace(">", "="))


def read_cifar10_binary(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10's binary tarball as ``{"train": (X uint8 N×3×32×32, y int64), "test": (...)}``."""
    record = 1 + 3 * 32 * 32
    parts: dict[str, list[bytes]] = {"train": [], "test": []}
    with tarfile.open(path, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            name = Path(member.name).name
            split = "train" if name.startswith("data_batch_") else "test" if name == "test_batch.bin" else None
            if split and member.isfile():
                parts[split].append(tar.extractfile(member).read())
    out = {}
    for split, chunks in parts.items():
        raw = np.frombuffer(b"".join(chunks), dtype=np.uint8)
        if raw.size % record:
            raise ValueError(f"{Path(path).name}: {split} data is not a whole number of records")
        rows = raw.reshape(-1, record)
        out[split] = (rows[:, 1:].reshape(-1, 3, 32, 32).copy(), rows[:, 0].astype(np.int64))
    return out


def read_imdb(path: str | Path) -> dict[str, tuple[list[str], np.ndarray]]:
    """The IMDB review tarball (``aclImdb_v1.tar.gz``) as ``{"train": (texts, y), "test": ...}``
    with y = 1 for positive, 0 for negative; unlabelled reviews are left out. Sorted by path."""
    out: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    with tarfile.open(path, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            parts = Path(member.name).parts
            if (member.isfile() and len(parts) == 4 and parts[1] in out
                    and parts[2] in ("pos", "neg") and parts[3].endswith(".txt")):
                text = tar.extractfile(member).read().decode("utf-8")
                out[parts[1]][0].append(text)
                out[parts[1]][1].append(int(parts[2] == "pos"))
    if not out["train"][0]:
        raise ValueError(f"{Path(path).name} holds no aclImdb/train/pos|neg/*.txt reviews")
    return {k: (texts, np.array(y, dtype=np.int64)) for k, (texts, y) in out.items()}


def read_text(path: str | Path) -> str:
    """A UTF-8 text file with LF line endings."""
    return Path(path).read_text(encoding="utf-8").replace("\r\n", "\n")


# ------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class Remote:
    """One file to fetch: where from, its SHA-256 and size in bytes."""

    url: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dataset:
    """A registered data set: its files, licence, where it comes from and how to load it."""

    name: str
    files: tuple[Remote, ...]
    licence: str
    source: str
    loader: Callable[[Path], Any]


def _load_mnist_like(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {split: (read_idx(folder / f"{prefix}-images-idx3-ubyte.gz"),
                    read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64))
            for split, prefix in (("train", "train"), ("test", "t10k"))}


_MNIST = "https://storage.googleapis.com/cvdf-datasets/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
REGISTRY: dict[str, Dataset] = {
    "mnist": Dataset(
        "mnist",
        (Remote(_MNIST + "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
         Remote(_MNIST + "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
         Remote(_MNIST + "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
         Remote(_MNIST + "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542)),
        "CC BY-SA 3.0 (LeCun, Cortes, Burges)", "MNIST handwritten digits",
        _load_mnist_like),
    "fashion-mnist": Dataset(
        "fashion-mnist",
        (Remote(_FASHION + "train-images-idx3-ubyte.gz",
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
         Remote(_FASHION + "train-labels-idx1-ubyte.gz",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
         Remote(_FASHION + "t10k-images-idx3-ubyte.gz",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
         Remote(_FASHION + "t10k-labels-idx1-ubyte.gz",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148)),
        "MIT (Zalando Research)", "Fashion-MNIST clothing images", _load_mnist_like),
    "cifar10": Dataset(
        "cifar10",
        (Remote("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", 170052171),),
        "no licence stated; cite Krizhevsky (2009)", "CIFAR-10 small colour images",
        lambda folder: read_cifar10_binary(folder / "cifar-10-binary.tar.gz")),
    "tiny-shakespeare": Dataset(
        "tiny-shakespeare",
        (Remote("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
                "input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1115394),),
        "public domain text (Shakespeare), collected in char-rnn (MIT)",
        "40,000 lines of Shakespeare", lambda folder: read_text(folder / "input.txt")),
    "imdb": Dataset(
        "imdb",
        (Remote("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe", 84125825),),
        "no licence stated; cite Maas et al. (2011)", "50,000 labelled IMDB movie reviews",
        lambda folder: read_imdb(folder / "aclImdb_v1.tar.gz")),
}
DOWNLOAD_ENV = "ZTL_ALLOW_DOWNLOAD"


class DownloadNotAllowed(RuntimeError):
    """A data set is missing from the cache and this profile does not download."""


class Offline(RuntimeError):
    """A download was allowed but the host could not be reached."""


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(remote: Remote, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=60) as resp:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                out.write(chunk)
        got = sha256_of(Path(tmp))
        if got != remote.sha256:
            raise ValueError(f"download of {remote.url} is corrupt: SHA-256 {got[:12]}… "
                             f"!= {remote.sha256[:12]}…; try again later")
        os.replace(tmp, target)  # atomic: a half download never looks like a cached file
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise Offline(f"cannot download {remote.url} ({exc}). If this machine is offline, copy "
                      f"the file to {target} by hand; it is checked against its SHA-256.") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(name: str, *, download: bool | None = None) -> Path:
    """The folder holding data set ``name``, every file verified; downloads only when allowed
    (``download=True``, the ``gpu`` profile, or ``ZTL_ALLOW_DOWNLOAD=1``)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown data set {name!r}; registered: {sorted(REGISTRY)}")
    if download is None:
        download = current_profile() == "gpu" or os.environ.get(DOWNLOAD_ENV) == "1"
    folder = cache_root() / "data" / name
    folder.mkdir(parents=True, exist_ok=True)
    for remote in REGISTRY[name].files:
        target = folder / remote.filename
        if target.exists():
            if target.stat().st_size == remote.size and sha256_of(target) == remote.sha256:
                continue
            warnings.warn(f"cached {target.name} is corrupt (checksum mismatch); fetching it again",
                          stacklevel=2)
            target.unlink()
        if not download:
            raise DownloadNotAllowed(
                f"data set {name!r} is not cached ({target.name} missing) and this profile does "
                f"not download: use PROFILE='gpu', fetch({name!r}, download=True) or set "
                f"{DOWNLOAD_ENV}=1 ({remote.size / 1e6:.1f} MB)")
        _download(remote, target)
    return folder


def load(name: str, *, download: bool | None = None) -> Any:
    """Fetch (if allowed) and load data set ``name`` with its registered loader."""
    folder = fetch(name, download=download)  # raises a clear error for an unknown name
    return REGISTRY[name].loader(folder)


# ------------------------------------------------------------------ the standard-library corpus
MANIFESTS = Path(__file__).parent / "manifests"
_EXCLUDED_DIRS = {"site-packages", "dist-packages", "__pycache__", "lib-dynload", "test", "tests",
                  "idle_test"}


def stdlib_root() -> Path:
    """The folder of this Python's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None) -> list[str]:
    """Sorted relative POSIX paths of the stdlib's ``.py`` files, tests and site-packages left out."""
    root = root or stdlib_root()
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames
                       if d not in _EXCLUDED_DIRS and not d.startswith("config-")]
        rel = Path(dirpath).relative_to(root)
        found += [(rel / f).as_posix() for f in filenames if f.endswith(".py")]
    return sorted(found)


def manifest_path(version: tuple[int, int] | None = None) -> Path:
    """The committed manifest for a Python minor version (default: this one)."""
    major, minor = version or sys.version_info[:2]
    return MANIFESTS / f"stdlib-{major}.{minor}.tsv"


def write_manifest(dest: Path = MANIFESTS, root: Path | None = None) -> Path:
    """Write this Python's manifest (relative path and SHA-256 per file) into ``dest``:
    ``python -m utils.data manifest utils/manifests`` under each supported Python."""
    root = root or stdlib_root()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / manifest_path().name
    lines = [f"# python {sys.version.split()[0]}: {len(stdlib_files(root))} files"]
    lines += [f"{rel}\t{sha256_of(root / rel)}" for rel in stdlib_files(root)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_manifest(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """``(header, [(relative path, sha256), ...])`` of a manifest file."""
    header, entries = "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            header = line[1:].strip()
        elif line:
            rel, digest = line.split("\t")
            entries.append((rel, digest))
    return header, entries


def stdlib_corpus(*, strict: bool = True, root: Path | None = None,
                  manifest: Path | None = None) -> str:
    """The standard-library corpus: each manifest file, preceded by a ``# file: <path>`` line,
    UTF-8 with LF endings. ``strict`` raises when local files differ from the manifest;
    otherwise it warns and uses the local files that match. Built (and verified) once per
    process."""
    return _stdlib_corpus(strict, root or stdlib_root(), manifest or manifest_path())


@functools.lru_cache(maxsize=2)
def _stdlib_corpus(strict: bool, root: Path, manifest: Path) -> str:
    manifest = manifest or manifest_path()
    if not manifest.exists():
        have = sorted(p.stem.removeprefix("stdlib-") for p in MANIFESTS.glob("stdlib-*.tsv"))
        raise ValueError(f"no stdlib manifest for Python {sys.version_info[0]}.{sys.version_info[1]}"
                         f"; manifests exist for {have}: use one of those Pythons")
    header, entries = read_manifest(manifest)
    missing = [rel for rel, _ in entries if not (root / rel).is_file()]
    changed = [rel for rel, digest in entries
               if rel not in missing and sha256_of(root / rel) != digest]
    if missing or changed:
        message = (f"this Python's standard library differs from the manifest ({header}): "
                   f"{len(missing)} files missing, {len(changed)} changed, e.g. "
                   f"{(missing + changed)[:3]}; the corpus will not be identical to the book's")
        if strict:
            raise ValueError(message + " (pass strict=False to use the files that match)")
        warnings.warn(message, stacklevel=2)
    skip = set(missing) | set(changed)
    parts = []
    for rel, _ in entries:
        if rel not in skip:
            text = (root / rel).read_bytes().decode("utf-8").replace("\r\n", "\n")
            parts.append(f"# file: {rel}\n{text}")
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


if __name__ == "__main__":
    if sys.argv[1:2] != ["manifest"] or len(sys.argv) != 3:
        sys.exit("usage: python -m utils.data manifest DEST_FOLDER")
    print(write_manifest(Path(sys.argv[2])))
