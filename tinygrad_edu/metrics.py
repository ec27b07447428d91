"""Metrics for classification: accuracy, confusion matrix, sensitivity/specificity, ROC AUC.

They take Tensors or arrays of predictions and targets and return Python numbers or NumPy
arrays (metrics are for reading, not for backprop).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import to_numpy


def _np(x: Any) -> np.ndarray:
    data = getattr(x, "data", x)
    return np.asarray(to_numpy(data))


def accuracy(pred: Any, target: Any) -> float:
    """Fraction of predictions equal to the targets; `pred` may be logits (N, C) or labels (N,)."""
    p, t = _np(pred), _np(target)
    if p.ndim == t.ndim + 1:
        p = p.argmax(-1)
    if p.shape != t.shape:
        raise ValueError(f"accuracy: predictions of shape {p.shape} don't match targets of "
                         f"shape {t.shape}")
    return float((p == t).mean()) if t.size else 0.0


def confusion_matrix(pred: Any, target: Any, num_classes: int) -> np.ndarray:
    """matrix[i, j] = how many samples of true class i were predicted as class j."""
    p, t = _np(pred), _np(target)
    if p.ndim == t.ndim + 1:
        p = p.argmax(-1)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (t.astype(np.int64).ravel(), p.astype(np.int64).ravel()), 1)
    return matrix


def sensitivity_specificity(pred: Any, target: Any) -> tuple[float, float]:
    """For binary labels (1 = positive): sensitivity = TP / (TP + FN) and
    specificity = TN / (TN + FP)."""
    p, t = _np(pred).astype(bool).ravel(), _np(target).astype(bool).ravel()
    tp, fn = np.sum(p & t), np.sum(~p & t)
    tn, fp = np.sum(~p & ~t), np.sum(p & ~t)
    sens = float(tp / (tp + fn)) if tp + fn else float("nan")
    spec = float(tn / (tn + fp)) if tn + fp else float("nan")
    return sens, spec


def roc_auc(scores: Any, target: Any) -> float:
    """Area under the ROC curve = probability that a random positive scores above a random
    negative (ties count one half), computed from ranks."""
    s, t = _np(scores).astype(np.float64).ravel(), _np(target).astype(bool).ravel()
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc: needs at least one positive and one negative target")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks over ties
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(s)]])
    for lo, hi in zip(starts, ends):
        ranks[order[lo:hi]] = (lo + hi + 1) / 2
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(scores: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) over all thresholds, for plotting."""
    s, t = _np(scores).astype(np.float64).ravel(), _np(target).astype(bool).ravel()
    order = np.argsort(-s, kind="mergesort")
    tps = np.concatenate([[0], np.cumsum(t[order])])
    fps = np.concatenate([[0], np.cumsum(~t[order])])
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1)
