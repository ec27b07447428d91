"""A tour of tensors: ranks 0 to 4, dtype, shape, ndim, stack and reshape, with the course's
examples: a table of patient data (rank 2) and a batch of images (rank 4).

    python examples/01_tensors.py [--device cuda]
"""

from _common import parse_args

import tinygrad_edu as tg


def show(name: str, t: tg.Tensor) -> None:
    print(f"{name:<28} ndim={t.ndim}  shape={tuple(t.shape)!s:<16} dtype={t.dtype}  "
          f"device={t.device}")


def main() -> None:
    args = parse_args(__doc__)
    dev = args.device

    print("== Ranks ==")
    scalar = tg.tensor(36.6, device=dev)                      # rank 0: a temperature
    vector = tg.tensor([36.6, 120.0, 80.0], device=dev)       # rank 1: one patient's vitals
    matrix = tg.tensor([[36.6, 120, 80], [38.2, 135, 85]], device=dev)  # rank 2: two patients
    cube = tg.zeros(2, 3, 4, device=dev)                      # rank 3: e.g. a tiny RGB image
    batch = tg.rand(16, 1, 64, 64, device=dev)                # rank 4: 16 grey 64x64 X-rays
    for name, t in [("scalar", scalar), ("vector", vector), ("matrix", matrix),
                    ("rank-3", cube), ("rank-4 image batch", batch)]:
        show(name, t)
    print("scalar.item() =", scalar.item())

    print("\n== dtypes ==")
    show("floats -> float32", tg.tensor([1.5, 2.5]))
    show("ints -> int64", tg.tensor([1, 2]))
    show("bools -> bool", tg.tensor([True, False]))
    show("asked for float64", tg.tensor([1, 2], dtype=tg.float64))
    show("int * 0.5 -> float32", tg.tensor([1, 2]) * 0.5)

    print("\n== A table of patient data (rows: patients, columns: features) ==")
    columns = ["age", "systolic BP", "cholesterol", "smoker"]
    patients = tg.tensor([[63, 145, 233, 1], [37, 130, 250, 0], [41, 130, 204, 0],
                          [56, 120, 236, 0], [57, 140, 192, 1]], dtype=tg.float32, device=dev)
    show("patients", patients)
    print("columns:", columns)
    print("mean of each column:", [round(v, 1) for v in patients.mean(dim=0).tolist()])
    print("patient 0:", patients[0].tolist())
    print("all ages:", patients[:, 0].tolist())
    print("smokers:", patients[patients[:, 3] == 1].tolist())
    standardised = (patients - patients.mean(0)) / patients.std(0)
    print("standardised ages:", [round(v, 2) for v in standardised[:, 0].tolist()])

    print("\n== Stack and reshape ==")
    a, b = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([4.0, 5.0, 6.0])
    show("stack([a, b])", tg.stack([a, b]))
    show("stack([a, b], dim=1)", tg.stack([a, b], dim=1))
    show("arange(12).reshape(3, 4)", tg.arange(12).reshape(3, 4))
    show("image batch flattened", batch.reshape(16, -1))
    show("batch.permute(0, 2, 3, 1)", batch.permute(0, 2, 3, 1))
    print("one image of the batch has", batch[0].numel(), "numbers")

    print("\n== Operations ==")
    w = tg.tensor([[1.0, 0.0], [0.0, 2.0]])
    p = tg.tensor([3.0, 4.0])
    print("w @ p =", (w @ p).tolist(), " (a layer is a matrix product: a geometric map)")
    print("broadcasting: matrix + [1, 2, 3] =", (matrix.cpu() + tg.tensor([1, 2, 3])).tolist())
    print("relu([-1, 0, 2]) =", tg.tensor([-1.0, 0.0, 2.0]).relu().tolist())


if __name__ == "__main__":
    main()
