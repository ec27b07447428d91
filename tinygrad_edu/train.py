"""The training command: `python -m tinygrad_edu.train` (or `tinygrad-edu-train`).

With no arguments it trains an MLP on the digits data that ships with scikit-learn (no
download) and writes, under --out:

    metrics.json        per epoch: train loss, test loss, test accuracy, seconds
    curves.png          loss and accuracy curves
    confusion.png       the annotated confusion matrix of the test set
    misclassified.png   the most confident errors
    model.ckpt          model + optimizer state (tg.load reads it; --resume continues from it)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any, Sequence

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.data import DataLoader
from tinygrad_edu.metrics import confusion_matrix

DATASETS = ("digits", "breast-cancer", "fashion-mnist", "mnist", "cifar10")
MODELS = ("mlp", "cnn")


class TrainError(Exception):
    """A problem the user can fix (bad data, incompatible checkpoint): printed in one line."""


def load_data(name: str, root: str | None) -> tuple[Any, Any]:
    from tinygrad_edu import datasets

    if name == "digits":
        return datasets.Digits(train=True), datasets.Digits(train=False)
    if name == "breast-cancer":
        return datasets.BreastCancer(train=True), datasets.BreastCancer(train=False)
    cls = {"fashion-mnist": datasets.FashionMNIST, "mnist": datasets.MNIST,
           "cifar10": datasets.CIFAR10}[name]
    root = root or os.path.join(os.path.expanduser("~"), ".cache", "tinygrad_edu")
    return cls(root, train=True), cls(root, train=False)


def build_model(kind: str, sample_shape: tuple, num_classes: int) -> nn.Module:
    """mlp: flatten -> 256 -> 128 -> classes (ReLU; tabular inputs are standardised by a
    BatchNorm1d first). cnn: the course's CNN, sized to the input:
    conv 5x5 -> ReLU -> max-pool 2 -> conv 5x5 -> ReLU -> max-pool 2 -> 120 -> 84 -> classes."""
    if kind == "mlp":
        features = math.prod(sample_shape)
        # tabular columns come in wildly different units: standardise them first
        scale = [nn.BatchNorm1d(features)] if len(sample_shape) == 1 else []
        return nn.Sequential(nn.Flatten(), *scale, nn.Linear(features, 256), nn.ReLU(),
                             nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes))
    if len(sample_shape) != 3:
        raise TrainError(f"model 'cnn' needs images (C, H, W), but this dataset's samples have "
                         f"shape {tuple(sample_shape)}; use --model mlp")
    channels, height, width = sample_shape
    features = nn.Sequential(nn.Conv2d(channels, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
    flat = 32 * (height // 4) * (width // 4)
    return nn.Sequential(*features, nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))


def evaluate(model: nn.Module, loader: DataLoader, device: str, loss_fn: Any
             ) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean loss, predicted probabilities (N, C) and targets (N,) over a loader."""
    model.eval()
    total, count, probs, targets = 0.0, 0, [], []
    with tg.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total += loss_fn(logits, y).item() * len(y)
            count += len(y)
            probs.append(tg.backend.to_numpy(logits.softmax(-1).data))
            targets.append(tg.backend.to_numpy(y.data))
    model.train()
    return total / max(count, 1), np.concatenate(probs), np.concatenate(targets)


PROGRESS_EVERY = 20  # steps between updates of the progress bar's loss (each reads the GPU)


def _progress(loader: DataLoader, epoch: int, epochs: int, quiet: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=len(loader.dataset), desc=f"epoch {epoch}/{epochs}", unit="img",
                leave=True, file=sys.stdout, dynamic_ncols=True,
                disable=True if quiet else None)  # None: no bar when output is not a terminal


def train(args: argparse.Namespace) -> dict:
    tg.manual_seed(args.seed)
    device = args.device
    if device.startswith("cuda") and not tg.cuda.is_available():
        raise TrainError(f"--device {device}: {tg.cuda.unavailable_reason()}")
    train_set, test_set = load_data(args.dataset, args.data_root)
    if args.quick:
        train_set = tg.data.Subset(train_set, range(min(len(train_set), 512)))
        test_set = tg.data.Subset(test_set, range(min(len(test_set), 256)))
    classes = list(getattr(train_set, "classes", None) or train_set.dataset.classes)
    sample_shape = tuple(train_set[0][0].shape)
    model = build_model(args.model, sample_shape, len(classes)).to(device)
    if args.optimizer == "sgd":
        optimizer = tg.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    else:
        optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    config = {"dataset": args.dataset, "model": args.model, "classes": classes,
              "sample_shape": list(sample_shape)}

    history: list[dict] = []
    start_epoch = 1
    if args.resume:
        start_epoch, history = resume(args.resume, model, optimizer, config, device)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              seed=args.seed + start_epoch)
    test_loader = DataLoader(test_set, batch_size=512)
    os.makedirs(args.out, exist_ok=True)
    print(f"{args.model} on {args.dataset}: {len(train_set)} train / {len(test_set)} test "
          f"samples of shape {sample_shape}, {sum(p.numel() for p in model.parameters()):,} "
          f"parameters, device {device}")

    for epoch in range(start_epoch, args.epochs + 1):
        bar = _progress(train_loader, epoch, args.epochs, args.quiet)
        started = time.perf_counter()
        loss_sum, seen = tg.zeros((), device=device), 0  # summed on the device: reading the
        for step, (x, y) in enumerate(train_loader, 1):  # loss back every step would stall a GPU
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            with tg.no_grad():
                loss_sum += loss * len(y)
            seen += len(y)
            if bar is not None:
                bar.update(len(y))
                if step % PROGRESS_EVERY == 0 or seen == len(train_loader.dataset):
                    bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}",
                                    rate=f"{seen / (time.perf_counter() - started):,.0f}/s")
        running = loss_sum.item()
        seconds = time.perf_counter() - started
        if bar is not None:
            bar.close()
        test_loss, probs, targets = evaluate(model, test_loader, device, loss_fn)
        acc = float((probs.argmax(1) == targets).mean())
        history.append({"epoch": epoch, "train_loss": running / max(seen, 1),
                        "test_loss": test_loss, "test_accuracy": acc, "seconds": seconds})
        print(f"epoch {epoch}: train loss {running / max(seen, 1):.4f}, test loss "
              f"{test_loss:.4f}, test accuracy {100 * acc:.2f}%, {seconds:.2f} s "
              f"({seen / seconds:,.0f} samples/s)", flush=True)
        tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "epoch": epoch, "config": config, "history": history},
                os.path.join(args.out, "model.ckpt"))

    write_reports(args.out, model, test_loader, device, loss_fn, history, classes, test_set)
    return {"history": history, "out": args.out}


def resume(path: str, model: nn.Module, optimizer: Any, config: dict, device: str
           ) -> tuple[int, list]:
    if not os.path.exists(path):
        raise TrainError(f"--resume: no checkpoint at {path}")
    try:
        ckpt = tg.load(path, map_location=device)
    except (ValueError, RuntimeError, OSError) as exc:
        raise TrainError(f"--resume: cannot read {path}: {exc}") from None
    saved = ckpt.get("config", {}) if isinstance(ckpt, dict) else {}
    for key in ("dataset", "model"):
        if saved.get(key) != config[key]:
            raise TrainError(f"--resume: {path} holds a {saved.get('model')} trained on "
                             f"{saved.get('dataset')}, not a {config['model']} on "
                             f"{config['dataset']}")
    try:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise TrainError(f"--resume: {path} does not fit this model: {exc}") from None
    print(f"resumed from {path} after epoch {ckpt['epoch']}")
    return int(ckpt["epoch"]) + 1, list(ckpt.get("history", []))


def write_reports(out: str, model: nn.Module, loader: DataLoader, device: str, loss_fn: Any,
                  history: list, classes: Sequence[str], test_set: Any) -> None:
    from tinygrad_edu import plots

    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"epochs": history}, f, indent=2)
    if not history:
        return
    _, probs, targets = evaluate(model, loader, device, loss_fn)
    pred = probs.argmax(1)
    plots.plot_curves(history, os.path.join(out, "curves.png"))
    matrix = confusion_matrix(pred, targets, len(classes))
    plots.plot_confusion(matrix, classes, os.path.join(out, "confusion.png"))
    wrong = np.flatnonzero(pred != targets)
    images = None
    if len(test_set[0][0].shape) == 3 and len(wrong):
        images = np.stack([tg.backend.to_numpy(test_set[int(k)][0].data) for k in wrong])
    plots.plot_misclassified(images, targets[wrong], pred[wrong], probs[wrong, pred[wrong]],
                             classes, os.path.join(out, "misclassified.png"))
    print(f"wrote {out}/metrics.json, curves.png, confusion.png, misclassified.png, model.ckpt")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tinygrad_edu.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits", choices=DATASETS)
    p.add_argument("--model", default="mlp", choices=MODELS)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 0.05 for sgd, 0.001 for adam)")
    p.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output folder (default runs/DATASET-MODEL)")
    p.add_argument("--resume", default=None, metavar="CKPT", help="continue from a checkpoint")
    p.add_argument("--data-root", default=None, help="where to look for downloaded datasets")
    p.add_argument("--quick", action="store_true", help="a small subset, for smoke tests")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be positive")
    if args.lr is None:
        args.lr = 0.05 if args.optimizer == "sgd" else 0.001
    if args.lr <= 0:
        p.error("--lr must be positive")
    args.out = args.out or os.path.join("runs", f"{args.dataset}-{args.model}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except (TrainError, FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}".splitlines()[0] if isinstance(exc, TrainError) else
              f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if "device" not in str(exc) and "cuda" not in str(exc):
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
