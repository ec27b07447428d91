"""Layers as geometric transformations. A two-class cloud of 2-D points (two interleaved
moons) cannot be split by a straight line; each layer x -> tanh(W x + b) rotates, stretches,
shifts and then bends the plane, until the last layer CAN split the two classes with a line.

Writes, under --out:
  geometric_boundary.png  the data and the decision boundary the network learned
  geometric_layers.png    the cloud as each hidden layer sees it (2 units each, so no
                          projection is needed: these are the actual coordinates)

    python examples/04_geometric.py [--device cuda]
"""

import os

import numpy as np
from _common import parse_args

import tinygrad_edu as tg
from tinygrad_edu import nn


def two_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points on two interleaved half circles, labels 0 and 1."""
    half = n // 2
    angle = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(angle[:half]), np.sin(angle[:half])], 1)
    lower = np.stack([1 - np.cos(angle[half:]), 0.5 - np.sin(angle[half:])], 1)
    points = np.concatenate([upper, lower]) + rng.normal(0, noise, (n, 2))
    labels = np.concatenate([np.zeros(half), np.ones(n - half)])
    return points.astype(np.float32), labels.astype(np.float32)


def main() -> None:
    args = parse_args(__doc__, steps=dict(type=int, default=3000),
                      lr=dict(type=float, default=0.05))
    rng = np.random.default_rng(args.seed)
    points, labels = two_moons(400, 0.1, rng)
    points = (points - points.mean(0)) / points.std(0)
    x = tg.tensor(points, device=args.device)
    y = tg.tensor(labels, device=args.device)

    hidden = [nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2)]  # three 2-D -> 2-D maps
    model = nn.Sequential(hidden[0], nn.Tanh(), hidden[1], nn.Tanh(), hidden[2], nn.Tanh(),
                          nn.Linear(2, 1))
    model.to(args.device)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    steps = 50 if args.quick else args.steps
    for step in range(1, steps + 1):
        loss = loss_fn(model(x).squeeze(1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % max(1, steps // 5) == 0:
            acc = ((model(x).squeeze(1) > 0).float() == y).float().mean().item()
            print(f"step {step:>5}: loss {loss.item():.4f}, accuracy {100 * acc:.1f}%")

    # the cloud after each hidden layer: run the layers one by one and keep what they output
    stages = [("input", x)]
    h = x
    with tg.no_grad():
        for i, layer in enumerate(hidden, 1):
            h = layer(h)
            stages.append((f"after Linear {i} (before tanh)", h))
            h = h.tanh()
            stages.append((f"after Linear {i} + tanh", h))

    from tinygrad_edu.plots import pyplot, save_figure
    plt = pyplot()
    colors = np.where(labels > 0, "tab:orange", "tab:blue")

    fig, ax = plt.subplots(figsize=(5, 5))
    lo, hi = points.min(0) - 0.5, points.max(0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = tg.tensor(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32), device=args.device)
    with tg.no_grad():
        prob = model(grid).sigmoid().cpu().numpy().reshape(gx.shape)
    ax.contourf(gx, gy, prob, levels=20, cmap="RdBu_r", alpha=0.5)
    ax.contour(gx, gy, prob, levels=[0.5], colors="black")
    ax.scatter(points[:, 0], points[:, 1], c=colors, s=8)
    ax.set_title("Decision boundary (black line)")
    path = os.path.join(args.out, "geometric_boundary.png")
    print("wrote", save_figure(fig, path, dpi=100))

    fig, axes = plt.subplots(1, len(stages), figsize=(3 * len(stages), 3.2))
    for ax, (title, t) in zip(axes, stages):
        p = t.cpu().numpy()
        ax.scatter(p[:, 0], p[:, 1], c=colors, s=4)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("The same points, as each layer transforms the plane")
    path = os.path.join(args.out, "geometric_layers.png")
    print("wrote", save_figure(fig, path, dpi=100))


if __name__ == "__main__":
    main()
