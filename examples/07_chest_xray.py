"""Chest X-rays, the course's motivating case: detect pneumonia on PneumoniaMNIST (MedMNIST v2:
28 x 28 grey paediatric chest radiographs, 0 normal / 1 pneumonia) with a small CNN.

The steps a clinical model needs beyond "train and print the accuracy":
  - augmentation that keeps anatomy plausible: small rotations and shifts (patients are never
    perfectly centred), brightness and contrast (exposure varies between machines). No flips:
    a mirrored chest puts the heart on the wrong side (dextrocardia), not a real patient.
  - class imbalance (the train split has 9 pneumonia images for each normal one): a
    WeightedRandomSampler draws both classes equally often, so "always pneumonia" stops paying.
  - model selection on the validation split (its ROC AUC) and the operating threshold chosen
    there too (Youden's J), never on the test split, which is used once at the end.
  - the numbers a clinician asks for: sensitivity, specificity, precision, F1, the confusion
    matrix, the ROC curve with the chosen point, the most confident errors and a saliency map
    (the gradient of the pneumonia logit with respect to the pixels, by the library's autograd).

    python examples/07_chest_xray.py [--root DIR] [--epochs 20] [--seed 0] [--device cuda]

The data file is read from --root (default $TINYGRAD_EDU_MEDMNIST_ROOT, else ~/.medmnist) and
downloaded from MedMNIST's Zenodo record when it is missing there.
"""

import json
import os
import time
from typing import Any

import numpy as np
from _common import parse_args

import tinygrad_edu as tg
from tinygrad_edu import metrics, nn, plots
from tinygrad_edu.utils.data import DataLoader, Subset, WeightedRandomSampler
from tinygrad_edu.vision import transforms as T
from tinygrad_edu.vision.datasets import DatasetNotFoundError, PneumoniaMNIST
from tinygrad_edu.vision.datasets.medmnist import default_root


class XrayNet(nn.Module):
    """Three stages of conv 3x3 -> BatchNorm -> ReLU -> max-pool 2 (28 -> 14 -> 7 -> 3 pixels;
    8, 16, 32 channels), dropout, then one linear layer to the two classes' logits."""

    def __init__(self, widths: tuple = (8, 16, 32)) -> None:
        super().__init__()
        layers, channels = [], 1
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False),  # BN adds the bias
                       nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2),
                                        nn.Linear(channels * 3 * 3, 2))

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.classifier(self.features(x))


def pneumonia_scores(model: nn.Module, loader: DataLoader, device: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """P(pneumonia) for every image of a loader, and the true labels."""
    model.eval()
    scores, labels = [], []
    with tg.no_grad():
        for x, y in loader:
            scores.append(model(x.to(device)).softmax(1)[:, 1].cpu().numpy())
            labels.append(y.numpy())
    model.train()
    return np.concatenate(scores), np.concatenate(labels)


def train(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader,
          args: Any) -> tuple[int, float]:
    """Adam with a cosine learning-rate schedule; after each epoch the val ROC AUC, and the
    weights of the best epoch are kept (model selection on val, never on test). Returns
    (best epoch, its val AUC) with those weights loaded into `model`."""
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    best_auc, best_state, best_epoch = -1.0, None, 0
    for epoch in range(1, args.epochs + 1):
        total, seen = 0.0, 0
        for x, y in train_loader:
            x, y = x.to(args.device), y.to(args.device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, seen = total + loss.item() * len(y), seen + len(y)
        scheduler.step()
        val_scores, val_labels = pneumonia_scores(model, val_loader, args.device)
        val_auc = metrics.roc_auc_score(val_labels, val_scores)
        if val_auc > best_auc:
            best_auc, best_epoch = val_auc, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        print(f"epoch {epoch:>2}: train loss {total / seen:.4f}, val AUC {val_auc:.4f}"
              f"{'  *' if epoch == best_epoch else ''}", flush=True)
    model.load_state_dict(best_state)
    return best_epoch, best_auc


def saliency(model: nn.Module, images: tg.Tensor) -> np.ndarray:
    """|d logit(pneumonia) / d pixel| for each image (N, 28, 28): where a small change of the
    image changes the model's vote most. One backward pass through the library's autograd."""
    model.eval()
    x = images.clone().requires_grad_()
    logits = model(x)
    (logits[:, 1] - logits[:, 0]).sum().backward()  # the images do not interact (eval mode)
    return x.grad.abs().cpu().numpy()[:, 0]


def grad_cam(model: XrayNet, images: tg.Tensor) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) on the last stage's 7 x 7 feature maps A_k: weigh
    each map by the mean gradient of the pneumonia-vs-normal logit over it, sum, keep the
    positive part, and upsample to 28 x 28: relu(sum_k mean(d logit / d A_k) * A_k).
    A forward hook catches the maps; retain_grad() keeps their gradient after backward."""
    model.eval()
    caught = {}

    def keep(module: nn.Module, inputs: Any, output: tg.Tensor) -> None:
        output.retain_grad()
        caught["maps"] = output

    hook = model.features[-2].register_forward_hook(keep)  # the last ReLU, before its pool
    logits = model(images)
    hook.remove()
    (logits[:, 1] - logits[:, 0]).sum().backward()
    maps = caught["maps"]
    weights = maps.grad.mean(dim=(2, 3), keepdim=True)
    cam = (weights * maps.detach()).sum(1, keepdim=True).relu()
    cam = nn.functional.interpolate(cam, size=images.shape[-2:], mode="bilinear",
                                    align_corners=False)
    return cam.cpu().numpy()[:, 0]


def plot_saliency(images: np.ndarray, maps: np.ndarray, cams: np.ndarray, titles: list,
                  path: str) -> None:
    """Each image (top), its saliency map (middle) and its Grad-CAM (bottom) over it."""
    plt = plots.pyplot()
    fig, axes = plt.subplots(3, len(images), figsize=(1.8 * len(images), 5.8), squeeze=False)
    for k, (image, grad, cam, title) in enumerate(zip(images, maps, cams, titles)):
        axes[0, k].imshow(image, cmap="gray")
        axes[0, k].set_title(title, fontsize=8)
        for row, heat in ((1, grad), (2, cam)):
            axes[row, k].imshow(image, cmap="gray")
            axes[row, k].imshow(heat / (heat.max() + 1e-12), cmap="jet" if row == 2 else "hot",
                                alpha=0.45 if row == 2 else 0.6)
    for ax in axes.ravel():
        ax.axis("off")
    axes[1, 0].text(-3, 14, "saliency", rotation=90, va="center", ha="right", fontsize=8)
    axes[2, 0].text(-3, 14, "Grad-CAM", rotation=90, va="center", ha="right", fontsize=8)
    fig.suptitle("Where the model looks: |d logit / d pixel| and Grad-CAM (last conv stage)")
    plots.save_figure(fig, path)


def main() -> None:
    args = parse_args(__doc__, root=dict(default=None, help="folder of pneumoniamnist.npz"),
                      epochs=dict(type=int, default=20), lr=dict(type=float, default=0.003),
                      batch_size=dict(type=int, default=64))
    started = time.perf_counter()
    root = args.root or default_root()
    augment = T.Compose([T.RandomRotation(10), T.RandomCrop(28, padding=2),
                         T.ColorJitter(brightness=0.2, contrast=0.2), T.ToTensor()])
    try:
        train_set = PneumoniaMNIST(root, split="train", transform=augment, download=True)
    except DatasetNotFoundError as exc:
        raise SystemExit(f"07_chest_xray.py: {exc}") from None
    val_set = PneumoniaMNIST(root, split="val", transform=T.ToTensor())
    test_set = PneumoniaMNIST(root, split="test", transform=T.ToTensor())
    targets = train_set.targets
    if args.quick:  # a smoke test: a few hundred images, two epochs
        keep = np.r_[np.flatnonzero(targets == 0)[:100], np.flatnonzero(targets == 1)[:300]]
        train_set, targets, args.epochs = Subset(train_set, keep), targets[keep], 2
    counts = np.bincount(targets, minlength=2)
    print(f"train: {counts[0]} normal, {counts[1]} pneumonia; val {len(val_set)}, test "
          f"{len(test_set)} images")

    # each class drawn with probability 1/2: weight 1 / (its count) per image
    sampler = WeightedRandomSampler(1.0 / counts[targets], num_samples=len(targets),
                                    generator=args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    val_loader = DataLoader(val_set, batch_size=256)
    test_loader = DataLoader(test_set, batch_size=256)

    model = XrayNet().to(args.device)
    best_epoch, best_auc = train(model, train_loader, val_loader, args)
    train_seconds = time.perf_counter() - started

    val_scores, val_labels = pneumonia_scores(model, val_loader, args.device)
    threshold = metrics.youden_threshold(val_labels, val_scores)
    scores, labels = pneumonia_scores(model, test_loader, args.device)
    report = metrics.binary_report(labels, scores, threshold)
    print(f"\nbest epoch {best_epoch} (val AUC {best_auc:.4f}); threshold {threshold:.3f} "
          f"(Youden's J on val); {train_seconds:.0f} s\n")
    paper = {"accuracy": 0.854, "roc_auc": 0.944}  # MedMNIST v2, ResNet-18 at 28 x 28
    print(f"{'test split':<22}{'this CNN':>10}{'ResNet-18 (paper)':>19}")
    for key in ("accuracy", "roc_auc", "sensitivity", "specificity", "precision", "f1",
                "average_precision"):
        reference = f"{paper[key]:.3f}" if key in paper else ""
        print(f"  {key:<20}{report[key]:>10.4f}{reference:>19}")
    (tn, fp), (fn, tp) = report["confusion_matrix"]
    print(f"  confusion matrix: true normal [{tn} {fp}], true pneumonia [{fn} {tp}] "
          "(columns: predicted normal, pneumonia)")

    out = args.out
    summary = dict(report, best_epoch=best_epoch, val_auc=best_auc, seed=args.seed,
                   epochs=args.epochs, seconds=train_seconds)
    with open(os.path.join(out, "xray_metrics.json"), "w") as f:
        json.dump(summary, f, indent=2)
    fpr, tpr, _ = metrics.roc_curve(labels, scores)
    plots.plot_roc(fpr, tpr, report["roc_auc"], (1 - report["specificity"], report["sensitivity"]),
             os.path.join(out, "xray_roc.png"), title="PneumoniaMNIST, test split")
    plots.plot_binary_confusion(report["confusion_matrix"], PneumoniaMNIST.classes,
                          os.path.join(out, "xray_confusion.png"),
                          title=f"Test split, threshold {threshold:.2f}")
    pred = (scores >= threshold).astype(np.int64)
    confidence = np.where(pred == 1, scores, 1 - scores)
    wrong = np.flatnonzero(pred != labels)
    plots.plot_misclassified(test_set.data[wrong][:, None] / 255.0, labels[wrong], pred[wrong],
                             confidence[wrong], PneumoniaMNIST.classes,
                             os.path.join(out, "xray_errors.png"), max_images=12)
    picks = np.r_[np.flatnonzero(labels == 0)[:3], np.flatnonzero(labels == 1)[:3]]
    images = tg.tensor(test_set.data[picks][:, None] / 255.0, dtype=tg.float32,
                       device=args.device)
    titles = [f"{PneumoniaMNIST.classes[labels[k]]}\nP(pn.)={scores[k]:.2f}" for k in picks]
    plot_saliency(test_set.data[picks], saliency(model, images), grad_cam(model, images),
                  titles, os.path.join(out, "xray_saliency.png"))
    print(f"\nwrote {out}/xray_metrics.json, xray_roc.png, xray_confusion.png, xray_errors.png, "
          "xray_saliency.png")


if __name__ == "__main__":
    main()
