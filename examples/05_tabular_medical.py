"""Benign or malignant? A small network on the Wisconsin breast-cancer table (569 tumours x 30
measurements), with one output logit and BCEWithLogitsLoss; evaluated with the numbers a
clinician asks for: accuracy, sensitivity (malignant found), specificity (benign cleared)
and the ROC AUC.

    python examples/05_tabular_medical.py [--device cuda]
"""

import os

from _common import parse_args

import tinygrad_edu as tg
from tinygrad_edu import nn, plots
from tinygrad_edu.datasets import BreastCancer
from tinygrad_edu.metrics import roc_auc, roc_curve, sensitivity_specificity
from tinygrad_edu.utils.data import DataLoader, TensorDataset


def main() -> None:
    args = parse_args(__doc__, epochs=dict(type=int, default=100),
                      lr=dict(type=float, default=1e-3))
    train, test = BreastCancer(train=True), BreastCancer(train=False)
    print(f"{len(train)} train / {len(test)} test tumours, {train.data.shape[1]} features; "
          f"classes {train.classes} (1 = malignant)")

    # standardise every feature with the TRAIN set's mean and std (never the test set's)
    x_train, x_test = tg.tensor(train.data), tg.tensor(test.data)
    mean, std = x_train.mean(0), x_train.std(0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    y_train = tg.tensor(train.targets, dtype=tg.float32)
    y_test = tg.tensor(test.targets, dtype=tg.float32)

    model = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
    model.to(args.device)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
    epochs = 3 if args.quick else args.epochs
    for epoch in range(1, epochs + 1):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(args.device), yb.to(args.device)
            loss = loss_fn(model(xb).squeeze(1), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % max(1, epochs // 5) == 0:
            print(f"epoch {epoch:>3}: train loss {loss.item():.4f}")

    model.eval()
    with tg.no_grad():
        prob = model(x_test.to(args.device)).squeeze(1).sigmoid().cpu()
    pred = prob > 0.5
    accuracy = (pred.float() == y_test).float().mean().item()
    sensitivity, specificity = sensitivity_specificity(pred, y_test)
    auc = roc_auc(prob, y_test)
    print(f"\naccuracy    {100 * accuracy:.1f}%")
    print(f"sensitivity {100 * sensitivity:.1f}%   (malignant tumours flagged)")
    print(f"specificity {100 * specificity:.1f}%   (benign tumours cleared)")
    print(f"ROC AUC     {auc:.3f}")

    fpr, tpr, _ = roc_curve(y_test, prob)  # scikit-learn's order: (y_true, y_score)
    path = os.path.join(args.out, "medical_roc.png")
    try:
        plots.plot_roc(fpr, tpr, auc, None, path, title="ROC curve, test set")
    except ImportError:  # no matplotlib
        return
    print("wrote", path)


if __name__ == "__main__":
    main()
