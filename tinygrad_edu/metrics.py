"""Metrics for classification: accuracy, confusion matrix, sensitivity/specificity, ROC AUC.

They take Tensors (on any device), NumPy arrays or sequences of predictions and targets and
return Python numbers or NumPy arrays: metrics are for reading, not for backprop. A metric is a
value the user asks for, so GPU data is read back to the host, explicitly (`backend.to_numpy`),
once per argument; the results are the same on every device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import to_numpy
from .tensor import Tensor


def _host(x: Any, name: str, where: str) -> np.ndarray:
    """`x` as a NumPy array: Tensors and device arrays are copied to the host explicitly."""
    if isinstance(x, Tensor):
        x = x.array
    array = np.asarray(to_numpy(x))
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {name} must be numbers (a Tensor or an array), got "
                        f"{array.dtype} array of shape {array.shape}")
    return array


def _labels(pred: Any, target: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true labels of equal shape; logits/scores (..., C) become their argmax."""
    p, t = _host(pred, "predictions", where), _host(target, "targets", where)
    if p.ndim == t.ndim + 1:
        p = p.argmax(-1)
    if p.shape != t.shape:
        raise ValueError(f"{where}: predictions of shape {p.shape} don't match targets of "
                         f"shape {t.shape}")
    return p, t


def _binary(values: np.ndarray, name: str, where: str) -> np.ndarray:
    """0/1 (or bool) labels as a flat bool array."""
    if values.dtype != np.bool_ and values.size and not np.isin(values, (0, 1)).all():
        bad = values[~np.isin(values, (0, 1))].ravel()[0]
        raise ValueError(f"{where}: {name} must be binary labels 0/1 (1 = positive), found "
                         f"{bad}; threshold scores first (e.g. prob > 0.5)")
    return values.astype(bool).ravel()


def accuracy(pred: Any, target: Any) -> float:
    """Fraction of predictions equal to the targets; `pred` may be logits (N, C) or labels (N,)."""
    p, t = _labels(pred, target, "accuracy")
    return float((p == t).mean()) if t.size else 0.0


def confusion_matrix(pred: Any, target: Any, num_classes: int) -> np.ndarray:
    """matrix[i, j] = how many samples of true class i were predicted as class j.

    `pred` may be logits (N, C) or labels (N,); labels must be integers in [0, num_classes)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"confusion_matrix: num_classes must be a positive int, got "
                         f"{num_classes!r}")
    p, t = _labels(pred, target, "confusion_matrix")
    for name, values in (("predictions", p), ("targets", t)):
        if values.size and (values.min() < 0 or values.max() >= num_classes
                            or (values.dtype.kind == "f" and (values != values.round()).any())):
            raise ValueError(f"confusion_matrix: {name} must be class labels in "
                             f"[0, {num_classes}), got values from {values.min()} to "
                             f"{values.max()}")
    flat = t.astype(np.int64).ravel() * num_classes + p.astype(np.int64).ravel()
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes,
                                                                           num_classes)


def sensitivity_specificity(pred: Any, target: Any) -> tuple[float, float]:
    """For binary labels (1 = positive): sensitivity = TP / (TP + FN) and
    specificity = TN / (TN + FP); NaN where the denominator is 0."""
    p, t = _labels(pred, target, "sensitivity_specificity")
    p = _binary(p, "predictions", "sensitivity_specificity")
    t = _binary(t, "targets", "sensitivity_specificity")
    tp, fn = int(np.sum(p & t)), int(np.sum(~p & t))
    tn, fp = int(np.sum(~p & ~t)), int(np.sum(p & ~t))
    sens = tp / (tp + fn) if tp + fn else float("nan")
    spec = tn / (tn + fp) if tn + fp else float("nan")
    return sens, spec


def _scores_and_labels(scores: Any, target: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    s, t = _host(scores, "scores", where), _host(target, "targets", where)
    if s.shape != t.shape:
        raise ValueError(f"{where}: scores of shape {s.shape} don't match targets of shape "
                         f"{t.shape}")
    return s.astype(np.float64).ravel(), _binary(t, "targets", where)


def roc_auc(scores: Any, target: Any) -> float:
    """Area under the ROC curve = probability that a random positive scores above a random
    negative (ties count one half), computed from ranks (the Mann-Whitney U statistic)."""
    s, t = _scores_and_labels(scores, target, "roc_auc")
    n_pos = int(t.sum())
    n_neg = len(t) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc: needs at least one positive and one negative target")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # tied scores share the average of their 1-based ranks lo+1 .. hi
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(s)]])
    ranks = np.empty(len(s))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(scores: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) at every distinct threshold, from (0, 0) to
    (1, 1), for plotting. Tied scores make one point (a diagonal segment), so the area under
    the curve (trapezoids) equals `roc_auc`."""
    s, t = _scores_and_labels(scores, target, "roc_curve")
    order = np.argsort(-s, kind="mergesort")  # highest score first
    last_of_each_score = np.flatnonzero(np.diff(s[order], append=np.nan) != 0)
    tps = np.concatenate([[0], np.cumsum(t[order])[last_of_each_score]])
    fps = np.concatenate([[0], np.cumsum(~t[order])[last_of_each_score]])
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1)
