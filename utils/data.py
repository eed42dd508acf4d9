"""Data for the notebooks: scikit-learn's bundled sets (no download) and, in later chapters,
the registry of downloadable data sets with checksums."""

from __future__ import annotations

import numpy as np

# name -> (loader function name in sklearn.datasets, task)
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
