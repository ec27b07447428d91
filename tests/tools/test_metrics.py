"""tinygrad_edu.metrics against hand-computed values and scikit-learn's."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import metrics


def test_accuracy_from_logits_and_labels():
    logits = tg.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    target = tg.tensor([0, 1, 1])
    assert metrics.accuracy(logits, target) == pytest.approx(2 / 3)
    assert metrics.accuracy(tg.tensor([0, 1, 1]), target) == 1.0
    with pytest.raises(ValueError, match="accuracy"):
        metrics.accuracy(tg.tensor([0, 1]), target)


def test_confusion_matrix_counts():
    pred = np.array([0, 1, 1, 2, 2, 2])
    true = np.array([0, 1, 2, 2, 2, 0])
    m = metrics.confusion_matrix(pred, true, 3)
    assert m.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert m.sum() == 6


def test_sensitivity_specificity():
    pred = np.array([1, 1, 0, 0, 1, 0])
    true = np.array([1, 0, 0, 1, 1, 0])
    sens, spec = metrics.sensitivity_specificity(pred, true)
    assert sens == pytest.approx(2 / 3) and spec == pytest.approx(2 / 3)


def test_roc_auc_matches_sklearn_with_ties():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200).astype(float)  # many ties
    target = rng.integers(0, 2, 200)
    assert metrics.roc_auc(scores, target) == pytest.approx(sk.roc_auc_score(target, scores))
    fpr, tpr = metrics.roc_curve(scores, target)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    with pytest.raises(ValueError, match="positive"):
        metrics.roc_auc(scores, np.zeros(200))
