"""Metrics for classification: accuracy, confusion matrix, sensitivity/specificity, ROC AUC.

They take Tensors (on any device), NumPy arrays or sequences of predictions and targets and
return Python numbers or NumPy arrays: metrics are for reading, not for backprop. A metric is a
value the user asks for, so GPU data is read back to the host, explicitly (`backend.to_numpy`),
once per argument; the results are the same on every device.

Two families:
- the library's own, predictions first: `accuracy(pred, target)`, `confusion_matrix`,
  `sensitivity_specificity`, `roc_auc(scores, target)`, `roc_points(scores, target)`;
- scikit-learn's, with its names, argument order (truth first), keywords, outputs and
  warnings: `roc_curve(y_true, y_score)` -> (fpr, tpr, thresholds), `roc_auc_score`, `auc`,
  `precision_recall_curve`, `average_precision_score` (alias `average_precision`),
  `precision_score`, `recall_score`, `f1_score`.
"""

from __future__ import annotations

import warnings
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


def roc_points(scores: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) at every distinct threshold, from (0, 0) to
    (1, 1), for plotting. Tied scores make one point (a diagonal segment), so the area under
    the curve (trapezoids) equals `roc_auc`. (scikit-learn's form, truth first and with the
    thresholds: `roc_curve`.)"""
    return _roc_points(*_scores_and_labels(scores, target, "roc_points"))


def _roc_points(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="mergesort")  # highest score first
    last_of_each_score = np.flatnonzero(np.diff(s[order], append=np.nan) != 0)
    tps = np.concatenate([[0], np.cumsum(t[order])[last_of_each_score]])
    fps = np.concatenate([[0], np.cumsum(~t[order])[last_of_each_score]])
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1)


# ---------------------------------------------------------------------------------------------
# scikit-learn's metrics: same names, argument order (y_true first), outputs and warnings
# ---------------------------------------------------------------------------------------------
class UndefinedMetricWarning(UserWarning):
    """A metric is not defined for these inputs (one class only, nothing predicted positive):
    it is returned as scikit-learn returns it (NaN or `zero_division`), with this warning."""


def _flat(t: np.ndarray, s: np.ndarray, sample_weight: Any, where: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Host arrays y_true and y_score (and the weights) flattened and checked to match."""
    t, s = t.ravel(), s.astype(np.float64).ravel()
    if t.shape != s.shape:
        raise ValueError(f"{where}: y_true has {t.size} samples but y_score has {s.size}")
    w = None if sample_weight is None else _host(sample_weight, "sample_weight", where)
    if w is not None and w.ravel().shape != t.shape:
        raise ValueError(f"{where}: sample_weight has {w.size} values for {t.size} samples")
    return t, s, None if w is None else w.astype(np.float64).ravel()


def _positive(t: np.ndarray, pos_label: Any, where: str) -> np.ndarray:
    """The positive samples (bool); without pos_label y_true must be {0, 1} or {-1, 1}."""
    values = np.unique(t)
    if len(values) > 2:
        raise ValueError(f"{where}: y_true must be binary, got the classes {values.tolist()}")
    if pos_label is None:
        if not (set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {-1, 1}):
            raise ValueError(f"{where}: y_true takes values in {values.tolist()} and pos_label "
                             "is not specified: either make y_true take values in {0, 1} or "
                             "{-1, 1} or pass pos_label explicitly")
        pos_label = 1
    return t == pos_label


def _binary_clf_curve(t: np.ndarray, s: np.ndarray, pos_label: Any, sample_weight: Any,
                      where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positives, true positives, threshold) for each distinct score, highest first:
    what 'predict positive when score >= threshold' counts (weighted by sample_weight), for
    the host arrays y_true `t` and y_score `s`."""
    t, s, w = _flat(t, s, sample_weight, where)
    positive = _positive(t, pos_label, where)
    order = np.argsort(-s, kind="mergesort")
    s, positive = s[order], positive[order]
    w = np.ones_like(s) if w is None else w[order]
    last = np.flatnonzero(np.diff(s, append=np.nan) != 0)  # last index of each distinct score
    tps = np.cumsum(positive * w)[last]
    fps = np.cumsum(~positive * w)[last]
    return fps, tps, s[last]


def roc_curve(y_true: Any, y_score: Any, *, pos_label: Any = None, sample_weight: Any = None,
              drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's ROC curve: (fpr, tpr, thresholds), where point i predicts positive when
    score >= thresholds[i]; it starts at (0, 0) with threshold inf. `drop_intermediate` drops
    the points on a straight segment (they do not change the curve). One class only in y_true:
    NaN rates for the missing class, with an UndefinedMetricWarning.

    (Until the course's code moves to this order: a call in the library's former order,
    `roc_curve(scores, target)` with float scores first and 0/1 targets second, still gives
    `roc_points(scores, target)`, with a DeprecationWarning.)"""
    t, s = _host(y_true, "y_true", "roc_curve"), _host(y_score, "y_score", "roc_curve")
    if _scores_first(t, s) and pos_label is None and sample_weight is None:
        warnings.warn("roc_curve(scores, target) is the former argument order: use "
                      "roc_points(scores, target), or roc_curve(y_true, y_score) (scikit-learn's "
                      "order and outputs: fpr, tpr, thresholds)", DeprecationWarning,
                      stacklevel=2)
        if t.shape != s.shape:
            raise ValueError(f"roc_curve: scores of shape {t.shape} don't match targets of "
                             f"shape {s.shape}")
        return _roc_points(t.astype(np.float64).ravel(), _binary(s, "targets", "roc_curve"))
    return _roc_curve(t, s, pos_label, sample_weight, drop_intermediate)


def _scores_first(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether (first, second) look like (scores, 0/1 targets) rather than (labels, scores):
    first holds values that are not labels in {-1, 0, 1} (fractions), second only 0/1."""
    if first.dtype.kind != "f" or not first.size or np.isin(first, (-1, 0, 1)).all():
        return False  # a valid y_true
    return second.dtype == np.bool_ or bool(np.isin(second, (0, 1)).all())


def _roc_curve(t: np.ndarray, s: np.ndarray, pos_label: Any, sample_weight: Any,
               drop_intermediate: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fps, tps, thresholds = _binary_clf_curve(t, s, pos_label, sample_weight, "roc_curve")
    if drop_intermediate and len(fps) > 2:  # keep the corners: where the slope changes
        keep = np.r_[True, (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds]
    rates = []
    for counts, kind, rate in ((fps, "negative", "false"), (tps, "positive", "true")):
        if counts[-1] <= 0:
            warnings.warn(f"No {kind} samples in y_true, {rate} positive value should be "
                          "meaningless", UndefinedMetricWarning, stacklevel=3)
            rates.append(np.full(counts.shape, np.nan))
        else:
            rates.append(counts / counts[-1])
    return rates[0], rates[1], thresholds


def auc(x: Any, y: Any) -> float:
    """Area under the curve through the points (x, y) by the trapezoidal rule; x must be
    monotonic (increasing or decreasing)."""
    x, y = _host(x, "x", "auc").astype(np.float64), _host(y, "y", "auc").astype(np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"auc: x and y must be 1-D of the same length >= 2, got {x.shape} and "
                         f"{y.shape}")
    dx = np.diff(x)
    if (dx < 0).any() and (dx > 0).any():
        raise ValueError(f"auc: x is neither increasing nor decreasing: {x}")
    area = float(np.sum(dx * (y[1:] + y[:-1]) / 2))
    return -area if (dx <= 0).all() and (dx < 0).any() else area


def _binary_roc_auc(t: np.ndarray, s: np.ndarray, w: np.ndarray | None,
                    max_fpr: float | None) -> float:
    if len(np.unique(t)) != 2:
        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in "
                      "that case.", UndefinedMetricWarning, stacklevel=3)
        return float("nan")
    fpr, tpr, _ = _roc_curve(t, s, None, w, True)
    if max_fpr is None or max_fpr == 1:
        return auc(fpr, tpr)
    # McClish's standardised partial AUC up to max_fpr: 0.5 for chance, 1 for perfect
    stop = np.searchsorted(fpr, max_fpr, "right")
    cut = np.interp(max_fpr, fpr[stop - 1:stop + 1], tpr[stop - 1:stop + 1])
    partial = auc(np.r_[fpr[:stop], max_fpr], np.r_[tpr[:stop], cut])
    low, high = max_fpr ** 2 / 2, max_fpr
    return 0.5 * (1 + (partial - low) / (high - low))


def _averaged(per_label: np.ndarray, weights: np.ndarray, average: str | None,
              where: str) -> Any:
    if average is None:
        return per_label
    if average == "macro":
        return float(np.mean(per_label))
    if average == "weighted":
        return float(np.average(per_label, weights=weights)) if weights.sum() else 0.0
    raise ValueError(f"{where}: average must be 'micro', 'macro', 'weighted' or None, got "
                     f"{average!r}")


def roc_auc_score(y_true: Any, y_score: Any, *, average: str | None = "macro",
                  sample_weight: Any = None, max_fpr: float | None = None,
                  multi_class: str = "raise", labels: Any = None) -> Any:
    """scikit-learn's ROC AUC: binary (y_score (N,): the positive class's score),
    multi-label (indicator y_true (N, L), y_score (N, L); averaged by `average`) or multi-class
    with multi_class='ovr' (each class against the rest). `max_fpr`: the standardised partial
    AUC (binary only). One class only: NaN with an UndefinedMetricWarning."""
    where = "roc_auc_score"
    t, s = _host(y_true, "y_true", where), _host(y_score, "y_score", where)
    w = None if sample_weight is None else _host(sample_weight, "sample_weight", where)
    if max_fpr is not None and not 0 < max_fpr <= 1:
        raise ValueError(f"{where}: Expected max_fpr in range (0, 1], got: {max_fpr}")
    if t.ndim == 2 and t.shape == s.shape:  # multi-label indicator matrix
        if average == "micro":
            return _binary_roc_auc(t.ravel(), s.ravel(), None if w is None else
                                   np.repeat(w, t.shape[1]), max_fpr)
        per_label = np.array([_binary_roc_auc(t[:, j], s[:, j], w, max_fpr)
                              for j in range(t.shape[1])])
        return _averaged(per_label, t.sum(0), average, where)
    classes = np.unique(t) if labels is None else np.asarray(labels)
    if len(classes) > 2 or s.ndim == 2:
        if multi_class not in ("ovr", "ovo"):
            raise ValueError("multi_class must be in ('ovo', 'ovr')")
        if multi_class == "ovo":
            raise NotImplementedError(f"{where}: multi_class='ovo' is not implemented; use 'ovr'")
        if max_fpr is not None and max_fpr != 1:
            raise ValueError("Partial AUC computation not available in multiclass setting, "
                             "'max_fpr' must be set to `None`, received `max_fpr="
                             f"{max_fpr}` instead")
        if s.ndim != 2 or s.shape != (len(t), len(classes)):
            raise ValueError(f"{where}: multi-class y_score must be (N, {len(classes)}), got "
                             f"{s.shape}")
        per_class = np.array([_binary_roc_auc((t == c).astype(int), s[:, j], w, None)
                              for j, c in enumerate(classes)])
        return _averaged(per_class, np.array([np.sum(t == c) for c in classes]),
                         average, where)
    t, s, w = _flat(t, s, w, where)
    positive = _positive(t, None if len(classes) < 2 else classes[-1], where)
    return _binary_roc_auc(positive.astype(int), s, w, max_fpr)


def precision_recall_curve(y_true: Any, y_score: Any, *, pos_label: Any = None,
                           sample_weight: Any = None, drop_intermediate: bool = False
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's precision-recall curve: (precision, recall, thresholds) with thresholds
    increasing; the last point is precision 1, recall 0 (no threshold). Precision is 0 where
    nothing is predicted positive; without positives recall is 1 everywhere (with a
    warning). `drop_intermediate` drops thresholds that do not change precision or recall."""
    where = "precision_recall_curve"
    fps, tps, thresholds = _binary_clf_curve(_host(y_true, "y_true", where),
                                             _host(y_score, "y_score", where), pos_label,
                                             sample_weight, where)
    if drop_intermediate and len(fps) > 2:  # keep where the true positives change
        keep = np.r_[True, (np.diff(tps[:-1]) != 0) | (np.diff(tps[1:]) != 0), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    if tps[-1] == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all "
                      "thresholds.", UserWarning, stacklevel=2)
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision_score(y_true: Any, y_score: Any, *, average: str | None = "macro",
                            pos_label: Any = 1, sample_weight: Any = None) -> Any:
    """scikit-learn's average precision: sum over thresholds of (R_n - R_{n-1}) * P_n, the
    precision weighted by the recall gained (a step function, no interpolation). Multi-label
    indicator y_true (N, L): one AP per label, averaged by `average`."""
    where = "average_precision_score"
    t, s = _host(y_true, "y_true", where), _host(y_score, "y_score", where)

    def binary(t: np.ndarray, s: np.ndarray, w: Any) -> float:
        precision, recall, _ = precision_recall_curve(t, s, pos_label=pos_label,
                                                      sample_weight=w)
        return float(np.sum(-np.diff(recall) * precision[:-1]))

    if t.ndim == 2 and t.shape == s.shape:
        if average == "micro":
            w = None if sample_weight is None else np.repeat(
                _host(sample_weight, "sample_weight", where), t.shape[1])
            return binary(t.ravel(), s.ravel(), w)
        per_label = np.array([binary(t[:, j], s[:, j], sample_weight)
                              for j in range(t.shape[1])])
        return _averaged(per_label, t.sum(0), average, where)
    values = np.unique(t)
    if len(values) > 2:
        raise ValueError(f"{where}: multi-class y_true is not supported (got the classes "
                         f"{values.tolist()}); one-hot it for the multi-label form")
    if len(values) == 2 and pos_label not in values.tolist():
        raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of "
                         f"{values.tolist()}")
    return binary(t, s, sample_weight)


average_precision = average_precision_score


def _counts(y_true: Any, y_pred: Any, labels: Any, sample_weight: Any, where: str
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(the labels present, the labels counted, and per counted label: true positives,
    predicted, actual), weighted by sample_weight."""
    t, p = _host(y_true, "y_true", where).ravel(), _host(y_pred, "y_pred", where).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{where}: y_true has {t.size} samples but y_pred has {p.size}")
    w = np.ones(len(t)) if sample_weight is None else _host(
        sample_weight, "sample_weight", where).astype(np.float64).ravel()
    present = np.union1d(t, p)
    labels = present if labels is None else np.asarray(labels)
    tp = np.array([np.sum(w[(t == c) & (p == c)]) for c in labels])
    predicted = np.array([np.sum(w[p == c]) for c in labels])
    actual = np.array([np.sum(w[t == c]) for c in labels])
    return present, labels, tp, predicted, actual


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: Any, what: str, why: str
           ) -> np.ndarray:
    if zero_division not in ("warn", 0, 1, 0.0, 1.0) and not (
            isinstance(zero_division, float) and np.isnan(zero_division)):
        raise ValueError(f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got "
                         f"{zero_division!r}")
    fill = 0.0 if zero_division == "warn" else float(zero_division)
    out = np.divide(num, den, out=np.full(num.shape, fill), where=den != 0)
    if zero_division == "warn" and (den == 0).any():
        warnings.warn(f"{what} is ill-defined and being set to 0.0 due to {why}. Use "
                      "`zero_division` parameter to control this behavior.",
                      UndefinedMetricWarning, stacklevel=4)
    return out


def _prf(kind: str, y_true: Any, y_pred: Any, labels: Any, pos_label: Any, average: str | None,
         sample_weight: Any, zero_division: Any) -> Any:
    where = f"{kind}_score"
    present, labels, tp, predicted, actual = _counts(y_true, y_pred, labels, sample_weight,
                                                     where)
    if average == "binary":
        if len(present) > 2:
            raise ValueError("Target is multiclass but average='binary'. Please choose another "
                             "average setting, one of [None, 'micro', 'macro', 'weighted'].")
        if pos_label not in present.tolist() and len(present) == 2:
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of "
                             f"{present.tolist()}")
        keep = labels == pos_label
        labels, tp, predicted, actual = (labels[keep] if keep.any() else np.array([pos_label]),
                                         tp[keep], predicted[keep], actual[keep])
        if not keep.any():
            tp = predicted = actual = np.zeros(1)
    elif average == "micro":
        tp, predicted, actual = tp.sum(keepdims=True), predicted.sum(keepdims=True), \
            actual.sum(keepdims=True)
    elif average not in ("macro", "weighted", None):
        raise ValueError(f"{where}: average has to be one of (None, 'micro', 'macro', "
                         f"'weighted', 'binary'), got {average!r}")
    if kind == "precision":
        values = _ratio(tp, predicted, zero_division, "Precision", "no predicted samples")
    elif kind == "recall":
        values = _ratio(tp, actual, zero_division, "Recall", "no true samples")
    else:  # F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (predicted + actual)
        values = _ratio(2 * tp, predicted + actual, zero_division, "F-score",
                        "no true nor predicted samples")
    if average in ("binary", "micro"):
        return float(values[0])
    if average == "weighted":
        return float(np.average(values, weights=actual)) if actual.sum() else 0.0
    return float(np.mean(values)) if average == "macro" else values


def precision_score(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1,
                    average: str | None = "binary", sample_weight: Any = None,
                    zero_division: Any = "warn") -> Any:
    """scikit-learn's precision TP / (TP + FP): of the samples predicted positive, the fraction
    that are. average: 'binary' (pos_label's), 'micro', 'macro', 'weighted' or None (per
    label). Nothing predicted: `zero_division` ('warn': 0.0 with an UndefinedMetricWarning)."""
    return _prf("precision", y_true, y_pred, labels, pos_label, average, sample_weight,
                zero_division)


def recall_score(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1,
                 average: str | None = "binary", sample_weight: Any = None,
                 zero_division: Any = "warn") -> Any:
    """scikit-learn's recall (sensitivity) TP / (TP + FN): of the positive samples, the
    fraction found. Arguments as `precision_score`."""
    return _prf("recall", y_true, y_pred, labels, pos_label, average, sample_weight,
                zero_division)


def f1_score(y_true: Any, y_pred: Any, *, labels: Any = None, pos_label: Any = 1,
             average: str | None = "binary", sample_weight: Any = None,
             zero_division: Any = "warn") -> Any:
    """scikit-learn's F1, the harmonic mean of precision and recall: 2 TP / (2 TP + FP + FN).
    Arguments as `precision_score`."""
    return _prf("f1", y_true, y_pred, labels, pos_label, average, sample_weight, zero_division)


# ---------------------------------------------------------------------------------------------
# A binary classifier's report card (the X-ray example and the training command)
# ---------------------------------------------------------------------------------------------
def youden_threshold(y_true: Any, y_score: Any) -> float:
    """The score threshold that maximises Youden's J = sensitivity + specificity - 1 on the ROC
    curve (predict positive when score >= threshold); choose it on validation data."""
    fpr, tpr, thresholds = roc_curve(y_true, y_score)
    return float(thresholds[int(np.argmax(tpr - fpr))])


def binary_report(y_true: Any, y_score: Any, threshold: float = 0.5) -> dict:
    """Everything a clinician asks of a binary classifier, as plain Python numbers: accuracy,
    ROC AUC, average precision, sensitivity (recall), specificity, precision, F1 and the
    confusion matrix (rows true 0/1, columns predicted 0/1) at `threshold`."""
    t = _host(y_true, "y_true", "binary_report").ravel()
    s = _host(y_score, "y_score", "binary_report").astype(np.float64).ravel()
    pred = (s >= threshold).astype(np.int64)
    sens, spec = sensitivity_specificity(pred, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return {"threshold": float(threshold), "accuracy": accuracy(pred, t),
                "roc_auc": roc_auc_score(t, s), "average_precision":
                average_precision_score(t, s), "sensitivity": sens, "specificity": spec,
                "precision": precision_score(t, pred, zero_division=0.0),
                "f1": f1_score(t, pred, zero_division=0.0),
                "confusion_matrix": confusion_matrix(pred, t.astype(np.int64), 2).tolist()}
