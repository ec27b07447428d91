"""tinygrad_edu.metrics against hand-computed values and scikit-learn's, on every device.

A metric is a value the user asks for: GPU predictions and targets are read back to the host
explicitly (through `tg.backend.to_numpy`) and give the same numbers as on the CPU.
"""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import metrics


def on(device: str, values, dtype=None) -> tg.Tensor:
    return tg.tensor(values, dtype=dtype, device=device)


def test_accuracy_from_logits_and_labels(device):
    logits = on(device, [[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    target = on(device, [0, 1, 1])
    assert metrics.accuracy(logits, target) == pytest.approx(2 / 3)
    assert metrics.accuracy(on(device, [0, 1, 1]), target) == 1.0
    assert isinstance(metrics.accuracy(logits, target), float)
    assert metrics.accuracy(on(device, np.zeros((0, 2))), on(device, np.zeros(0, np.int64))) == 0
    with pytest.raises(ValueError, match=r"accuracy: predictions of shape \(2,\) don't match"):
        metrics.accuracy(on(device, [0, 1]), target)


def test_confusion_matrix_counts(device):
    pred = on(device, [0, 1, 1, 2, 2, 2])
    true = on(device, [0, 1, 2, 2, 2, 0])
    m = metrics.confusion_matrix(pred, true, 3)
    assert isinstance(m, np.ndarray) and m.dtype == np.int64
    assert m.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert m.sum() == 6
    logits = tg.nn.functional.one_hot(pred, 4).float()  # argmax of one-hot rows = pred
    assert metrics.confusion_matrix(logits, true, 4)[:3, :3].tolist() == m.tolist()
    assert metrics.confusion_matrix(on(device, np.zeros(0, np.int64)),
                                    on(device, np.zeros(0, np.int64)), 2).tolist() == [[0, 0]] * 2


def test_confusion_matrix_rejects_labels_outside_the_classes(device):
    true = on(device, [0, 1, 2])
    with pytest.raises(ValueError, match=r"predictions must be class labels in \[0, 3\)"):
        metrics.confusion_matrix(on(device, [0, -1, 2]), true, 3)  # -1 must not wrap around
    with pytest.raises(ValueError, match=r"targets must be class labels in \[0, 2\)"):
        metrics.confusion_matrix(on(device, [0, 1, 1]), true, 2)
    with pytest.raises(ValueError, match="num_classes"):
        metrics.confusion_matrix(true, true, 0)
    with pytest.raises(ValueError, match=r"shape \(2,\) don't match"):
        metrics.confusion_matrix(on(device, [0, 1]), true, 3)


def test_sensitivity_specificity(device):
    pred = on(device, [1, 1, 0, 0, 1, 0])
    true = on(device, [1, 0, 0, 1, 1, 0])
    sens, spec = metrics.sensitivity_specificity(pred, true)
    assert sens == pytest.approx(2 / 3) and spec == pytest.approx(2 / 3)
    # what the tabular example passes: a bool prediction and float 0/1 targets
    probs = on(device, [0.9, 0.6, 0.2, 0.4, 0.7, 0.1])
    as_float = true.float()
    assert metrics.sensitivity_specificity(probs > 0.5, as_float) == (sens, spec)
    nan_sens, one_spec = metrics.sensitivity_specificity(on(device, [0, 0]), on(device, [0, 0]))
    assert np.isnan(nan_sens) and one_spec == 1.0
    with pytest.raises(ValueError, match="binary labels 0/1"):
        metrics.sensitivity_specificity(probs, true)


def test_roc_auc_matches_sklearn_with_ties(device):
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200).astype(float)  # many ties
    target = rng.integers(0, 2, 200)
    s, t = on(device, scores, tg.float64), on(device, target)
    auc = metrics.roc_auc(s, t)
    assert auc == pytest.approx(sk.roc_auc_score(target, scores), abs=1e-12)
    assert auc == metrics.roc_auc(scores, target)  # the same number from host arrays
    fpr, tpr = metrics.roc_curve(s, t)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    sk_fpr, sk_tpr, _ = sk.roc_curve(target, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # trapezoids
    assert area == pytest.approx(auc, abs=1e-12)  # ties are one diagonal step, not a staircase
    with pytest.raises(ValueError, match="positive"):
        metrics.roc_auc(s, on(device, np.zeros(200)))
    with pytest.raises(ValueError, match=r"roc_auc: scores of shape \(200,\) don't match"):
        metrics.roc_auc(s, on(device, [0, 1]))


def test_roc_auc_by_hand(device):
    # positives score 0.8 and 0.4, negatives 0.4 and 0.1: of 4 pairs, 3 won and 1 tied
    scores, target = on(device, [0.1, 0.4, 0.4, 0.8]), on(device, [0, 1, 0, 1])
    assert metrics.roc_auc(scores, target) == pytest.approx(3.5 / 4)
    fpr, tpr = metrics.roc_curve(scores, target)
    assert fpr.tolist() == [0, 0, 0.5, 1] and tpr.tolist() == [0, 0.5, 1, 1]


def test_metrics_read_device_values_explicitly(device, monkeypatch):
    """Each argument is read back once, through tg.backend.to_numpy (never an implicit NumPy
    conversion, which CuPy refuses)."""
    reads = []
    original = metrics.to_numpy

    def spy(array):
        reads.append(tg.backend.device_of(array))
        return original(array)

    monkeypatch.setattr(metrics, "to_numpy", spy)
    logits, target = on(device, [[0.2, 0.8], [0.9, 0.1]]), on(device, [1, 1])
    assert metrics.accuracy(logits, target) == 0.5
    metrics.confusion_matrix(logits, target, 2)
    metrics.sensitivity_specificity(logits.argmax(1), target)
    metrics.roc_auc(logits[:, 1], on(device, [1, 0]))
    metrics.roc_curve(logits[:, 1], on(device, [1, 0]))
    assert reads == [tg.device(device)] * 10
