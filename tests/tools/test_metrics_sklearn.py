"""The scikit-learn-shaped metrics of tinygrad_edu.metrics against scikit-learn itself on
random predictions (with ties, weights, one-class inputs), and on every device."""

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import metrics

sk = pytest.importorskip("sklearn.metrics")


def draws(seed: int, n: int = 60, levels: int | None = None):
    """Binary truth and scores; `levels` makes the scores take few values (many ties)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.integers(0, levels, n) / levels if levels else rng.random(n)
    return y, s + 0.3 * y * rng.random(n)  # informative but not perfect


CASES = [(seed, levels) for seed in range(4) for levels in (None, 5)]


def same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed,levels", CASES)
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve(seed, levels, drop):
    y, s = draws(seed, levels=levels)
    same(metrics.roc_curve(y, s, drop_intermediate=drop),
         sk.roc_curve(y, s, drop_intermediate=drop))
    w = np.random.default_rng(seed).random(len(y))
    same(metrics.roc_curve(y, s, sample_weight=w, drop_intermediate=drop),
         sk.roc_curve(y, s, sample_weight=w, drop_intermediate=drop))
    same(metrics.roc_curve(y * 2 + 3, s, pos_label=5), sk.roc_curve(y * 2 + 3, s, pos_label=5))
    with pytest.raises(ValueError, match="pos_label"):
        metrics.roc_curve(y + 1, s)  # {1, 2}: which is positive?
    with pytest.raises(TypeError, match="y_true must be numbers"):  # unlike sklearn: no strings
        metrics.roc_curve(np.where(y == 1, "sick", "well"), s)


@pytest.mark.parametrize("seed,levels", CASES)
def test_roc_auc_score_and_auc(seed, levels):
    y, s = draws(seed, levels=levels)
    assert metrics.roc_auc_score(y, s) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    assert metrics.roc_auc_score(y, s) == pytest.approx(metrics.roc_auc(s, y), abs=1e-12)
    w = np.random.default_rng(seed + 10).random(len(y))
    assert metrics.roc_auc_score(y, s, sample_weight=w) == pytest.approx(
        sk.roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    for max_fpr in (0.1, 0.5):
        assert metrics.roc_auc_score(y, s, max_fpr=max_fpr) == pytest.approx(
            sk.roc_auc_score(y, s, max_fpr=max_fpr), abs=1e-12)
    fpr, tpr, _ = sk.roc_curve(y, s)
    assert metrics.auc(fpr, tpr) == pytest.approx(sk.auc(fpr, tpr), abs=1e-12)
    assert metrics.auc(fpr[::-1], tpr[::-1]) == pytest.approx(sk.auc(fpr[::-1], tpr[::-1]))
    with pytest.raises(ValueError, match="neither increasing nor decreasing"):
        metrics.auc([0, 1, 0.5], [0, 1, 1])


def test_roc_auc_score_multilabel_and_multiclass():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (80, 4))
    s = rng.random((80, 4)) + 0.4 * y
    for average in ("macro", "micro", "weighted", None):
        np.testing.assert_allclose(metrics.roc_auc_score(y, s, average=average),
                                   sk.roc_auc_score(y, s, average=average), rtol=1e-12)
    y3 = rng.integers(0, 3, 90)
    p3 = rng.random((90, 3)) + np.eye(3)[y3] * 0.5
    p3 /= p3.sum(1, keepdims=True)
    for average in ("macro", "weighted"):
        assert metrics.roc_auc_score(y3, p3, multi_class="ovr", average=average) == \
            pytest.approx(sk.roc_auc_score(y3, p3, multi_class="ovr", average=average))
    with pytest.raises(ValueError, match="multi_class must be in"):
        metrics.roc_auc_score(y3, p3)


@pytest.mark.parametrize("seed,levels", CASES)
@pytest.mark.parametrize("drop", [False, True])
def test_precision_recall_curve_and_average_precision(seed, levels, drop):
    y, s = draws(seed, levels=levels)
    same(metrics.precision_recall_curve(y, s, drop_intermediate=drop),
         sk.precision_recall_curve(y, s, drop_intermediate=drop))
    w = np.random.default_rng(seed).random(len(y))
    same(metrics.precision_recall_curve(y, s, sample_weight=w),
         sk.precision_recall_curve(y, s, sample_weight=w))
    assert metrics.average_precision_score(y, s) == pytest.approx(
        sk.average_precision_score(y, s), abs=1e-12)
    assert metrics.average_precision(y, s, sample_weight=w) == pytest.approx(
        sk.average_precision_score(y, s, sample_weight=w), abs=1e-12)
    assert metrics.average_precision_score(y, s, pos_label=0) == pytest.approx(
        sk.average_precision_score(y, s, pos_label=0), abs=1e-12)


def test_average_precision_multilabel():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, (70, 3))
    s = rng.random((70, 3)) + 0.3 * y
    for average in ("macro", "micro", "weighted", None):
        np.testing.assert_allclose(metrics.average_precision_score(y, s, average=average),
                                   sk.average_precision_score(y, s, average=average),
                                   rtol=1e-12)


def caught(fn, *args, **kwargs):
    """fn's result and the warnings it gave, as (category name, message) pairs."""
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [(type(w.message).__name__, str(w.message)) for w in got]


@pytest.mark.parametrize("only", [0, 1])
def test_one_class_only_as_sklearn(only):
    y, s = np.full(6, only), np.array([0.1, 0.5, 0.5, 0.7, 0.2, 0.9])
    for name in ("roc_auc_score", "roc_curve", "precision_recall_curve",
                 "average_precision_score"):
        ours, our_warnings = caught(getattr(metrics, name), y, s)
        theirs, their_warnings = caught(getattr(sk, name), y, s)
        if isinstance(theirs, tuple):
            same(ours, theirs)
        else:
            np.testing.assert_equal(ours, theirs)
        assert [m for _, m in our_warnings] == [m for _, m in their_warnings], name
        assert [c for c, _ in our_warnings] == [c for c, _ in their_warnings], name


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
def test_precision_recall_f1(seed, name):
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    ours, theirs = getattr(metrics, name), getattr(sk, name)
    assert ours(y, p) == pytest.approx(theirs(y, p), abs=1e-12)
    assert ours(y, p, pos_label=0) == pytest.approx(theirs(y, p, pos_label=0), abs=1e-12)
    w = rng.random(50)
    assert ours(y, p, sample_weight=w) == pytest.approx(theirs(y, p, sample_weight=w))
    y3, p3 = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    for average in ("micro", "macro", "weighted", None):
        np.testing.assert_allclose(ours(y3, p3, average=average),
                                   theirs(y3, p3, average=average), rtol=1e-12)
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        ours(y3, p3)


@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
@pytest.mark.parametrize("zero_division", ["warn", 0.0, 1.0])
def test_zero_division_as_sklearn(name, zero_division):
    y, p = np.array([0, 0, 0]), np.array([0, 0, 0])  # nothing positive, nothing predicted
    ours, our_warnings = caught(getattr(metrics, name), y, p, zero_division=zero_division)
    theirs, their_warnings = caught(getattr(sk, name), y, p, zero_division=zero_division)
    assert ours == theirs
    assert [c for c, _ in our_warnings] == [c for c, _ in their_warnings]
    assert [m.split(".")[0] for _, m in our_warnings] == \
        [m.split(".")[0] for _, m in their_warnings]


def test_metrics_take_tensors_on_every_device(device):
    y, s = draws(7)
    ty, ts = tg.tensor(y, device=device), tg.tensor(s, dtype=tg.float64, device=device)
    assert metrics.roc_auc_score(ty, ts) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    same(metrics.roc_curve(ty, ts), sk.roc_curve(y, s))
    same(metrics.precision_recall_curve(ty, ts), sk.precision_recall_curve(y, s))
    pred = ts > 0.6
    assert metrics.f1_score(ty, pred) == pytest.approx(sk.f1_score(y, s > 0.6))


def test_binary_report_and_youden_threshold():
    y, s = draws(11, n=200)
    fpr, tpr, thresholds = sk.roc_curve(y, s)
    threshold = metrics.youden_threshold(y, s)
    assert threshold == thresholds[np.argmax(tpr - fpr)]
    report = metrics.binary_report(y, s, threshold)
    pred = (s >= threshold).astype(int)
    expected = {"accuracy": sk.accuracy_score(y, pred), "roc_auc": sk.roc_auc_score(y, s),
                "average_precision": sk.average_precision_score(y, s),
                "sensitivity": sk.recall_score(y, pred),
                "specificity": sk.recall_score(y, pred, pos_label=0),
                "precision": sk.precision_score(y, pred), "f1": sk.f1_score(y, pred)}
    for key, value in expected.items():
        assert report[key] == pytest.approx(value, abs=1e-12), key
    assert report["confusion_matrix"] == sk.confusion_matrix(y, pred).tolist()
    assert report["threshold"] == threshold


def test_roc_curve_in_the_former_order_still_works():
    """roc_curve(scores, target), the library's order before scikit-learn's: the former
    result (roc_points) with a DeprecationWarning; labels first is never taken for it."""
    scores, target = [0.1, 0.4, 0.4, 0.8], [0, 1, 0, 1]
    with pytest.warns(DeprecationWarning, match=r"use roc_points\(scores, target\)"):
        fpr, tpr = metrics.roc_curve(scores, target)
    assert fpr.tolist() == [0, 0, 0.5, 1] and tpr.tolist() == [0, 0.5, 1, 1]
    assert [a.tolist() for a in metrics.roc_points(scores, target)] == [fpr.tolist(),
                                                                       tpr.tolist()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(metrics.roc_curve(target, scores), sk.roc_curve(target, scores))
        same(metrics.roc_curve([0.0, 1.0, 0.0, 1.0], scores),
             sk.roc_curve([0.0, 1.0, 0.0, 1.0], scores))
