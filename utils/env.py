"""``setup``: seeds, device and threads, set in one place for every notebook."""

from __future__ import annotations

import os
import platform
import random
import sys

import numpy as np

THREADS_ENV = "ZTL_THREADS"


def _threads(threads: int | None) -> int | None:
    env = os.environ.get(THREADS_ENV)
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"{THREADS_ENV}={env!r} is not an integer; unset it or use e.g. 2") from None
    else:
        value = threads
    if value is not None and value < 1:
        raise ValueError(f"threads must be >= 1, got {value}")
    return value


def pick_device(prefer: str | None = None) -> "torch.device":  # noqa: F821
    """CUDA, else Apple MPS, else CPU (or ``prefer`` when it names one that exists)."""
    import torch

    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} asked for but CUDA is not available; use 'cpu'")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def setup(seed: int = 0, *, threads: int | None = None, device: str | None = None,
          verbose: bool = True) -> "torch.device":  # noqa: F821
    """Seed Python/NumPy/PyTorch (TensorFlow only if imported), pick the device, set threads."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    import torch

    from utils import plot

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    n_threads = _threads(threads)
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    tf_version = None
    if "tensorflow" in sys.modules:  # seed TensorFlow only when the notebook imported it
        tf = sys.modules["tensorflow"]
        tf.random.set_seed(seed)
        tf_version = tf.__version__
        if n_threads is not None:
            try:  # only possible before TensorFlow's runtime starts
                tf.config.threading.set_intra_op_parallelism_threads(n_threads)
                tf.config.threading.set_inter_op_parallelism_threads(n_threads)
            except RuntimeError:
                pass
    dev = pick_device(device)
    plot.use_style()
    if verbose:
        parts = [f"python {platform.python_version()}", f"torch {torch.__version__}",
                 f"numpy {np.__version__}"]
        if tf_version:
            parts.append(f"tensorflow {tf_version}")
        parts += [f"device {dev}", f"threads {torch.get_num_threads()}", f"seed {seed}"]
        print("setup: " + " · ".join(parts))
    return dev
