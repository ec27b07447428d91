"""See inside training: the graph backprop walks, where the time goes, where a NaN came from,
and what a CNN's first layer learned.

Writes, under --out:
  inside_graph.svg (or .dot without Graphviz)  the autograd graph of one training step
  inside_trace.json                            a profiler trace (chrome://tracing, Perfetto)
  inside_feature_maps.png                      the first convolution's outputs for one digit
  inside_filters.png                           the first convolution's learned 5x5 filters

    python examples/06_inside.py [--device cuda]
"""

import os
import warnings

from _common import parse_args

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.datasets import Digits
from tinygrad_edu.train import build_model
from tinygrad_edu.utils.data import DataLoader


def main() -> None:
    args = parse_args(__doc__, epochs=dict(type=int, default=5))
    dev = args.device
    train = Digits(train=True)
    loader = DataLoader(train, batch_size=32, shuffle=True)
    x, y = next(iter(loader))
    x, y = x.to(dev), y.to(dev)
    loss_fn = nn.CrossEntropyLoss()

    print("== 1. The graph of one training step of the course MLP ==")
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10)).to(dev)
    loss = loss_fn(mlp(x), y)
    params = dict(mlp.named_parameters())
    print(tg.viz.to_dot(loss, params=params))
    written = tg.viz.draw_graph(loss, os.path.join(args.out, "inside_graph.svg"), params=params)
    print(f"wrote {written}\n")

    print("== 2. Profile one training step of the CNN ==")
    cnn = build_model("cnn", (1, 8, 8), 10).to(dev)
    optimizer = tg.optim.SGD(cnn.parameters(), lr=0.05, momentum=0.9)
    loss_fn(cnn(x), y).backward()  # warm-up
    optimizer.zero_grad()
    with tg.profiler.profile(synchronize=dev.startswith("cuda")) as prof:
        loss = loss_fn(cnn(x), y)
        loss.backward()
        optimizer.step()
    print(prof.table(sort_by="total", row_limit=12))
    trace = os.path.join(args.out, "inside_trace.json")
    prof.export_chrome_trace(trace)
    print(f"wrote {trace}\n")

    print("== 3. Find where a NaN came from ==")
    with tg.autograd.detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own note about the NaN
        try:
            t = tg.tensor([4.0, -1.0], device=dev, requires_grad=True)
            t.log().sum().backward()  # log(-1) is NaN
        except tg.autograd.AnomalyError as err:
            print("forward: ", err)
        try:
            t = tg.tensor([0.0, 1.0], device=dev, requires_grad=True)
            t.sqrt().sum().backward()  # sqrt is fine at 0, its derivative 1/(2 sqrt 0) is not
        except tg.autograd.AnomalyError as err:
            print("backward:", err)
    print()

    print("== 4. Train the CNN, then look at its first layer with a forward hook ==")
    epochs = 1 if args.quick else args.epochs
    for epoch in range(1, epochs + 1):
        for xb, yb in loader:
            xb, yb = xb.to(dev), yb.to(dev)
            optimizer.zero_grad()
            loss = loss_fn(cnn(xb), yb)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: last batch loss {loss.item():.4f}")
    captured = {}

    def keep_output(module: nn.Module, inputs: tuple, output: tg.Tensor) -> None:
        captured["maps"] = output.detach().cpu().numpy()

    first_conv = cnn[0]
    handle = first_conv.register_forward_hook(keep_output)
    cnn.eval()
    with tg.no_grad():
        cnn(x[:1])
    handle.remove()

    from tinygrad_edu.plots import pyplot, save_figure
    plt = pyplot()
    maps = captured["maps"][0]
    fig, axes = plt.subplots(2, len(maps) // 2 + 1, figsize=(2 * (len(maps) // 2 + 1), 4.2))
    axes = axes.ravel()
    axes[0].imshow(x[0, 0].cpu().numpy(), cmap="gray")
    axes[0].set_title(f"input ({y[0].item()})", fontsize=9)
    for i, m in enumerate(maps, 1):
        axes[i].imshow(m, cmap="viridis")
        axes[i].set_title(f"map {i - 1}", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.suptitle("First convolution's feature maps (captured with a forward hook)")
    path = os.path.join(args.out, "inside_feature_maps.png")
    print("wrote", save_figure(fig, path, dpi=90))

    filters = first_conv.weight.detach().cpu().numpy()[:, 0]
    fig, axes = plt.subplots(2, len(filters) // 2, figsize=(len(filters), 2.4))
    for ax, f, i in zip(axes.ravel(), filters, range(len(filters))):
        ax.imshow(f, cmap="RdBu_r", vmin=-abs(filters).max(), vmax=abs(filters).max())
        ax.set_title(str(i), fontsize=8)
        ax.axis("off")
    fig.suptitle("Learned 5x5 filters of the first convolution")
    path = os.path.join(args.out, "inside_filters.png")
    print("wrote", save_figure(fig, path, dpi=90))


if __name__ == "__main__":
    main()
