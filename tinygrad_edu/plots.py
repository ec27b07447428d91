"""Plots a learner wants after training: curves, an annotated confusion matrix and a grid of
the most confident mistakes. matplotlib is imported only when a plot is made (pip extra
`examples`), with the non-interactive Agg backend so it works without a screen."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'tinygrad_edu[examples]'") from None
    if "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pyplot() -> Any:
    """matplotlib.pyplot, set up to draw without a screen."""
    return _pyplot()


def save_figure(fig: Any, path: str, dpi: int = 100) -> str:
    """Lay out, write and close a figure; returns the path."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    _pyplot().close(fig)
    return path


def plot_curves(history: Sequence[dict], path: str) -> None:
    """Loss (train and test) and test accuracy per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["test_loss"] for h in history], "s-", label="test")
    ax1.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax1.legend()
    ax2.plot(epochs, [100 * h["test_accuracy"] for h in history], "o-", color="tab:green")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="Test accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: str,
                   title: str = "Confusion matrix") -> None:
    """The confusion matrix with counts written in each cell (rows: true, columns: predicted)."""
    plt = _pyplot()
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * n, 0.8 + 0.6 * n))
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    save_figure(fig, path)


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float,
             point: tuple[float, float] | None, path: str, title: str = "Test ROC curve") -> None:
    """The ROC curve with its AUC, the chance diagonal and, if given, the operating point
    (1 - specificity, sensitivity) of the chosen threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    if point is not None:
        ax.plot(*point, "o", color="tab:red", label="chosen threshold")
    ax.set(xlabel="1 - specificity (false positive rate)", ylabel="sensitivity (true "
           "positive rate)", title=title, xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_binary_confusion(matrix: np.ndarray, classes: Sequence[str], path: str,
                          title: str = "Confusion matrix") -> None:
    """A 2 x 2 confusion matrix, large enough to read: each cell's count and its share of
    the true class (the bottom-right share is the sensitivity, the top-left the
    specificity)."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    rows = np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(matrix / rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            share = matrix[i, j] / rows[i, 0]
            ax.text(j, i, f"{matrix[i, j]}\n({100 * share:.1f}%)", ha="center", va="center",
                    color="white" if share > 0.5 else "black", fontsize=11)
    ax.set_xticks([0, 1], classes)
    ax.set_yticks([0, 1], classes)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    save_figure(fig, path)


def plot_misclassified(images: np.ndarray | None, true: np.ndarray, pred: np.ndarray,
                       confidence: np.ndarray, class_names: Sequence[str], path: str,
                       max_images: int = 16) -> None:
    """A grid of the most confident errors, each titled 'true -> predicted (confidence)'.
    For tabular data (images=None) the errors are listed as text."""
    plt = _pyplot()
    order = np.argsort(-confidence)[:max_images]
    if len(order) == 0:
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.text(0.5, 0.5, "no misclassified samples", ha="center", va="center")
        ax.axis("off")
    elif images is None:
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(order) + 1))
        lines = [f"sample {k:>4}: true {class_names[true[k]]}, predicted "
                 f"{class_names[pred[k]]} ({100 * confidence[k]:.1f}%)" for k in order]
        ax.text(0, 1, "Most confident errors\n\n" + "\n".join(lines), va="top",
                family="monospace", fontsize=9)
        ax.axis("off")
    else:
        cols = min(4, len(order))
        rows = -(-len(order) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows), squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        for ax, k in zip(axes.ravel(), order):
            img = images[k]
            if img.shape[0] in (1, 3):  # CHW -> HWC
                img = np.moveaxis(img, 0, -1)
            img = img.squeeze()
            lo, hi = float(img.min()), float(img.max())
            ax.imshow((img - lo) / (hi - lo + 1e-12), cmap="gray" if img.ndim == 2 else None)
            ax.set_title(f"{class_names[true[k]]} -> {class_names[pred[k]]}\n"
                         f"({100 * confidence[k]:.0f}%)", fontsize=9)
        fig.suptitle("Most confident errors (true -> predicted)")
    save_figure(fig, path)
