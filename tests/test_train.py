"""The training command end to end on digits: every output file, a loadable checkpoint,
--resume, the accuracy floors, and one-line errors for bad arguments, unusable checkpoints,
a diverged run, Ctrl-C and a full disk."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, plots, train

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

OUTPUTS = ["metrics.json", "curves.png", "confusion.png", "misclassified.png", "model.ckpt"]
PROG = "python -m tinygrad_edu.train"
STEPS = 16  # training steps per epoch with --quick: 512 samples in batches of 32


def run(*args: str) -> int:
    return train.main(["--quiet", *args])


def test_end_to_end_quick_then_resume(tmp_path, device):
    out = tmp_path / "run"
    assert run("--quick", "--epochs", "2", "--device", device, "--out", str(out)) == 0
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert set(epochs[0]) == {"epoch", "train_loss", "test_loss", "test_accuracy", "seconds"}
    assert epochs[1]["train_loss"] < epochs[0]["train_loss"]
    # the same seed gives the same run on every device (float32 rounding apart)
    assert run("--quick", "--epochs", "2", "--device", "cpu", "--out", str(tmp_path / "cpu")) == 0
    on_cpu = json.loads((tmp_path / "cpu" / "metrics.json").read_text())["epochs"]
    for here, there in zip(epochs, on_cpu):
        assert here["train_loss"] == pytest.approx(there["train_loss"], rel=1e-3)
        assert here["test_loss"] == pytest.approx(there["test_loss"], rel=1e-3)

    ckpt = tg.load(out / "model.ckpt")
    assert ckpt["epoch"] == 2 and ckpt["config"]["model"] == "mlp"
    model = train.build_model("mlp", (1, 8, 8), 10)
    model.load_state_dict(ckpt["model"])  # the checkpoint fits the model it came from

    assert run("--quick", "--epochs", "3", "--device", device, "--out", str(out),
               "--resume", str(out / "model.ckpt")) == 0
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert tg.load(out / "model.ckpt")["epoch"] == 3


def test_mlp_and_cnn_reach_the_accuracy_floors_on_digits(tmp_path):
    assert run("--epochs", "10", "--out", str(tmp_path / "mlp")) == 0
    mlp = json.loads((tmp_path / "mlp" / "metrics.json").read_text())["epochs"]
    assert mlp[-1]["test_accuracy"] >= 0.95
    assert run("--model", "cnn", "--epochs", "10", "--out", str(tmp_path / "cnn")) == 0
    cnn = json.loads((tmp_path / "cnn" / "metrics.json").read_text())["epochs"]
    assert cnn[-1]["test_accuracy"] >= 0.97


def test_tabular_dataset_trains(tmp_path, device):
    assert run("--dataset", "breast-cancer", "--epochs", "2", "--device", device,
               "--out", str(tmp_path)) == 0
    assert (tmp_path / "misclassified.png").exists()


def test_bad_arguments_give_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        run("--dataset", "imagenet")
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err

    assert run("--dataset", "mnist", "--data-root", str(tmp_path / "empty"),
               "--out", str(tmp_path / "m")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{PROG}: error:") and "\n" not in err and "MNIST" in err

    assert run("--model", "cnn", "--dataset", "breast-cancer", "--out", str(tmp_path / "b")) == 2
    assert "needs images" in capsys.readouterr().err

    out = tmp_path / "mlp"
    assert run("--quick", "--epochs", "1", "--out", str(out)) == 0
    assert run("--quick", "--model", "cnn", "--resume", str(out / "model.ckpt"),
               "--out", str(tmp_path / "c")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{PROG}: error:") and "mlp" in err and "\n" not in err

    assert run("--resume", str(tmp_path / "missing.ckpt"), "--out", str(tmp_path / "x")) == 2
    assert "no checkpoint" in capsys.readouterr().err


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize("bad", [
    ["--lr", "nan"], ["--lr", "inf"], ["--lr", "-inf"], ["--lr", "0"], ["--lr", "-0.1"],
    ["--lr", "fast"], ["--device", "tpu"], ["--device", "cpu:1"], ["--seed", "-2"],
    ["--seed", str(2**32)], ["--epochs", "0"], ["--batch-size", "-3"], ["--out", "FILE"],
], ids=" ".join)
def test_bad_argument_values_are_one_line_argparse_errors(tmp_path, capsys, bad):
    (tmp_path / "FILE").write_text("not a folder")
    bad = [str(tmp_path / "FILE") if a == "FILE" else a for a in bad]
    args = ["--quick", "--epochs", "1", "--out", str(tmp_path / "run"), *bad]
    with pytest.raises(SystemExit) as info:
        run(*args)
    assert info.value.code == 2
    assert one_line(capsys).startswith(f"{PROG}: error: argument {bad[0]}:")
    assert not (tmp_path / "run").exists()


def test_unusable_cuda_device_is_a_one_line_error(tmp_path, capsys):
    spec = f"cuda:{tg.cuda.device_count()}" if tg.cuda.is_available() else "cuda"
    assert run("--quick", "--epochs", "1", "--device", spec, "--out", str(tmp_path)) == 2
    assert one_line(capsys).startswith(f"{PROG}: error:")


def misbehaving_loss(monkeypatch, at_step: int, action):
    """Make the command's loss call `action(loss)` at its `at_step`-th training step (counting
    across epochs; evaluation, under no_grad, is not counted)."""
    steps = [0]

    class Loss(nn.CrossEntropyLoss):
        def forward(self, *args):
            loss = super().forward(*args)
            if tg.is_grad_enabled():
                steps[0] += 1
                if steps[0] == at_step:
                    return action(loss)
            return loss

    monkeypatch.setattr(nn, "CrossEntropyLoss", Loss)


def interrupt(loss):
    raise KeyboardInterrupt


def run_catching_ctrl_c(*args: str) -> int:
    try:
        return run(*args)
    except KeyboardInterrupt:  # not a pytest interrupt: the command had to handle it
        pytest.fail("Ctrl-C escaped the training command")


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, capsys, device,
                                                                   monkeypatch):
    out = tmp_path / "run"
    misbehaving_loss(monkeypatch, STEPS + 3, lambda loss: loss * float("nan"))
    assert run("--quick", "--epochs", "3", "--device", device, "--out", str(out)) == 1
    err = one_line(capsys)
    assert err.startswith(f"{PROG}: error:")
    assert "NaN at epoch 2, step 3 of 16" in err and "--lr" in err
    assert f"{out / 'model.ckpt'} holds epoch 1" in err
    ckpt = tg.load(out / "model.ckpt")
    assert ckpt["epoch"] == 1 and [e["epoch"] for e in ckpt["history"]] == [1]
    assert all(bool(v.isfinite().all()) for v in ckpt["model"].values())
    assert sorted(os.listdir(out)) == ["model.ckpt"]  # no reports of a diverged run


def test_a_learning_rate_that_diverges_writes_no_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--quick", "--epochs", "1", "--lr", "1e30", "--out", str(out)) == 1
    err = one_line(capsys)
    assert "epoch 1, step" in err and "no checkpoint was written" in err
    assert not (out / "model.ckpt").exists()


def test_ctrl_c_exits_130_keeping_the_last_epochs_checkpoint(tmp_path, capsys, device,
                                                             monkeypatch):
    out = tmp_path / "run"
    ckpt = out / "model.ckpt"
    misbehaving_loss(monkeypatch, STEPS + 3, interrupt)
    assert run_catching_ctrl_c("--quick", "--epochs", "2", "--device", device,
                               "--out", str(out)) == 130
    err = one_line(capsys)
    assert err.startswith(f"{PROG}: interrupted during epoch 2 (step 3 of 16)")
    assert f"{ckpt} holds epoch 1 (continue with --resume {ckpt})" in err
    assert tg.load(ckpt)["epoch"] == 1
    monkeypatch.undo()
    assert run("--quick", "--epochs", "2", "--device", device, "--out", str(out),
               "--resume", str(ckpt)) == 0
    assert [e["epoch"] for e in json.loads((out / "metrics.json").read_text())["epochs"]] == [1, 2]


def test_ctrl_c_in_the_first_epoch_or_while_saving(tmp_path, capsys, monkeypatch):
    misbehaving_loss(monkeypatch, 1, interrupt)
    assert run_catching_ctrl_c("--quick", "--epochs", "1", "--out", str(tmp_path / "a")) == 130
    assert one_line(capsys).endswith("during epoch 1 (step 1 of 16); no checkpoint was written")
    assert not (tmp_path / "a" / "model.ckpt").exists()
    monkeypatch.undo()

    real_save, saves = tg.save, []

    def save_then_interrupt(obj, f):
        saves.append(obj["epoch"])
        if len(saves) == 2:
            raise KeyboardInterrupt
        real_save(obj, f)

    monkeypatch.setattr(tg, "save", save_then_interrupt)
    out = tmp_path / "b"
    assert run_catching_ctrl_c("--quick", "--epochs", "2", "--out", str(out)) == 130
    assert "while saving the checkpoint of epoch 2; " in one_line(capsys)
    assert tg.load(out / "model.ckpt")["epoch"] == 1


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("what", ["model.ckpt", "metrics.json", "curves.png"])
def test_a_full_disk_is_a_one_line_error_that_keeps_good_files(tmp_path, capsys, monkeypatch,
                                                               what):
    out = tmp_path / "run"
    assert run("--quick", "--epochs", "1", "--out", str(out)) == 0
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    capsys.readouterr()
    if what == "model.ckpt":
        real_save, saves = tg.save, []

        def save(obj, f):  # the first epoch's checkpoint fits on the disk, the second not
            saves.append(1)
            if len(saves) == 2:
                full_disk()
            real_save(obj, f)

        monkeypatch.setattr(tg, "save", save)
    elif what == "metrics.json":
        def dump(obj, fp, **kwargs):
            fp.write('{"epochs": [')  # half of it, then the disk is full
            full_disk()

        monkeypatch.setattr(json, "dump", dump)
    else:
        def save_figure(fig, path, dpi=100):
            with open(path, "wb") as f:
                f.write(b"\x89PNG half")
            plots.pyplot().close(fig)
            full_disk()

        monkeypatch.setattr(plots, "save_figure", save_figure)
    assert run("--quick", "--epochs", "2", "--out", str(out)) == 1
    err = one_line(capsys)
    assert err.startswith(f"{PROG}: error: cannot write {out / what}: No space left on device")
    epoch = 1 if what == "model.ckpt" else 2
    assert f"{out / 'model.ckpt'} holds epoch {epoch}" in err
    assert sorted(os.listdir(out)) == sorted(OUTPUTS)  # no temporary files left behind
    assert tg.load(out / "model.ckpt")["epoch"] == epoch
    if what != "model.ckpt":
        assert (out / what).read_bytes() == before[what]  # not replaced by a half-written one


@pytest.fixture(scope="module")
def sgd_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("sgd")
    assert run("--quick", "--epochs", "1", "--out", str(out)) == 0
    return out / "model.ckpt"


def damage(kind: str, good, path) -> None:
    data = good.read_bytes()
    ckpt = tg.load(good)
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        path.write_bytes(b"\x00garbage\xff" * 200)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign dict":
        tg.save({"weights": tg.zeros(3)}, path)
    elif kind == "foreign tensor":
        tg.save(tg.zeros(3), path)
    elif kind == "no epoch":
        del ckpt["epoch"]
        tg.save(ckpt, path)
    elif kind == "bad epoch":
        ckpt["epoch"] = "two"
        tg.save(ckpt, path)
    elif kind == "other architecture":
        ckpt["model"] = train.build_model("mlp", (30,), 2).state_dict()
        tg.save(ckpt, path)
    elif kind == "non-finite weights":
        ckpt["model"] = {k: v * float("nan") for k, v in ckpt["model"].items()}
        tg.save(ckpt, path)
    elif kind == "folder":
        path.mkdir()


@pytest.mark.parametrize("kind, says", [
    ("truncated", "truncated or corrupt"), ("garbage", "not a tinygrad_edu checkpoint"),
    ("empty", "empty"), ("foreign dict", "not a checkpoint of this training command"),
    ("foreign tensor", "holds a Tensor"), ("no epoch", "has no epoch"),
    ("bad epoch", "its epoch is 'two'"), ("other architecture", "does not fit this mlp"),
    ("non-finite weights", "NaN or infinite"), ("folder", "is a folder"),
])
def test_resume_refuses_a_damaged_or_foreign_checkpoint(tmp_path, capsys, sgd_checkpoint,
                                                        kind, says):
    bad = tmp_path / "bad.ckpt"
    damage(kind, sgd_checkpoint, bad)
    out = tmp_path / "run"
    assert run("--quick", "--epochs", "2", "--resume", str(bad), "--out", str(out)) == 2
    err = one_line(capsys)
    assert err.startswith(f"{PROG}: error: --resume: ") and says in err
    assert not out.exists()  # nothing written


def test_resume_refuses_another_optimizer(tmp_path, capsys, sgd_checkpoint, device):
    ckpt = tg.load(sgd_checkpoint)
    assert ckpt["config"]["optimizer"] == "SGD"  # the checkpoint records its optimizer
    legacy = tmp_path / "legacy.ckpt"  # a checkpoint from before the config named it
    del ckpt["config"]["optimizer"]
    tg.save(ckpt, legacy)
    for path in (sgd_checkpoint, legacy):
        assert run("--quick", "--epochs", "2", "--optimizer", "adam", "--device", device,
                   "--resume", str(path), "--out", str(tmp_path / "run")) == 2
        err = one_line(capsys)
        assert err.startswith(f"{PROG}: error: --resume: ")
        assert "trained with SGD, not Adam; resume it with --optimizer sgd" in err


def test_resume_keeps_the_checkpoints_lr_unless_lr_is_given(tmp_path, sgd_checkpoint):
    for lr, expected in ((None, 0.05), ("0.01", 0.01)):
        for schedule, last_factor in (("constant", 1.0), ("cosine", 0.5 * (1 + np.cos(np.pi / 3)))):
            out = tmp_path / f"lr{lr}{schedule}"
            extra = ["--lr", lr] if lr else []
            assert run("--quick", "--epochs", "3", "--resume", str(sgd_checkpoint), "--out",
                       str(out), "--schedule", schedule, *extra) == 0
            ckpt = tg.load(out / "model.ckpt")
            assert ckpt["epoch"] == 3
            group = ckpt["optimizer"]["param_groups"][0]
            assert group["initial_lr"] == pytest.approx(expected)
            # after 3 of 3 epochs the cosine schedule reaches 0; after 2, (1 + cos(pi/3)) / 2
            factor = 0.0 if schedule == "cosine" else 1.0
            assert group["lr"] == pytest.approx(expected * factor, abs=1e-12)
            assert ckpt["history"][-1]["epoch"] == 3 and last_factor > 0


def test_the_cosine_schedule_gives_each_epoch_its_learning_rate(tmp_path, capsys):
    """Epoch k (1-based) trains at lr * (1 + cos(pi * (k - 1) / epochs)) / 2, also after a
    resume in the middle of the run."""
    seen = []
    original = train._train_epoch

    def spy(model, optimizer, *args, **kwargs):
        seen.append(optimizer.param_groups[0]["lr"])
        return original(model, optimizer, *args, **kwargs)

    train._train_epoch = spy
    try:
        assert run("--quick", "--epochs", "2", "--out", str(tmp_path / "a")) == 0
        assert run("--quick", "--epochs", "4", "--resume", str(tmp_path / "a" / "model.ckpt"),
                   "--out", str(tmp_path / "b")) == 0
    finally:
        train._train_epoch = original
    # the first run's schedule spans 2 epochs; the resumed run's 4, from epoch 3 on
    assert seen == pytest.approx([0.05, 0.05 * 0.5, 0.05 * 0.5 * (1 + np.cos(np.pi / 2)),
                                  0.05 * 0.5 * (1 + np.cos(3 * np.pi / 4))])


# ---------------------------------------------------------------------------------------------
# MedMNIST (the shared PneumoniaMNIST file; skipped where it is absent)
# ---------------------------------------------------------------------------------------------
MEDMNIST_ROOT = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
                 / "medmnist").resolve()
needs_pneumonia = pytest.mark.skipif(not (MEDMNIST_ROOT / "pneumoniamnist.npz").is_file(),
                                     reason=f"no {MEDMNIST_ROOT}/pneumoniamnist.npz")
BINARY_REPORT = {"threshold", "threshold_chosen_on", "accuracy", "roc_auc", "average_precision",
                 "sensitivity", "specificity", "precision", "f1", "confusion_matrix"}


@needs_pneumonia
def test_pneumonia_quick_writes_the_clinical_metrics(tmp_path, device):
    out = tmp_path / "run"
    assert run("--dataset", "pneumonia", "--quick", "--epochs", "1", "--optimizer", "adam",
               "--device", device, "--data-root", str(MEDMNIST_ROOT), "--out", str(out)) == 0
    assert sorted(os.listdir(out)) == sorted(OUTPUTS + ["roc.png"])
    summary = json.loads((out / "metrics.json").read_text())
    report = summary["test"]
    assert set(report) == BINARY_REPORT and report["threshold_chosen_on"] == "val"
    assert sum(map(sum, report["confusion_matrix"])) == 256  # --quick: 256 test images
    assert 0.5 < report["roc_auc"] <= 1 and 0 <= report["threshold"] <= 1
    assert tg.load(out / "model.ckpt")["config"]["classes"] == ["normal", "pneumonia"]


def test_class_weights_balance_the_classes():
    ds = tg.utils.data.TensorDataset(tg.zeros(10, 2))
    ds.targets = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    weights = train.class_weights(ds, 2)
    assert weights.tolist() == pytest.approx([5.0, 10 / 18])  # 1 x 5 = 9 x 10/18: balanced
    sub = tg.utils.data.Subset(ds, [0, 1])
    assert train.class_weights(sub, 2).tolist() == [1.0, 1.0]


def test_missing_medmnist_file_is_a_one_line_error(tmp_path, capsys):
    assert run("--dataset", "breastmnist", "--data-root", str(tmp_path / "empty"),
               "--out", str(tmp_path / "b")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{PROG}: error:") and "\n" not in err
    assert "BreastMNIST not found" in err and "download=True" in err


@needs_pneumonia
def test_chest_xray_example_short_run_reaches_auc_090(tmp_path):
    """examples/07_chest_xray.py for 2 epochs on the whole train split (~20 s on 2 cores):
    test ROC AUC >= 0.90 and every picture written."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, str(root / "examples" / "07_chest_xray.py"),
                             "--epochs", "2", "--root", str(MEDMNIST_ROOT), "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, MPLBACKEND="Agg"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / "xray_metrics.json").read_text())
    assert summary["roc_auc"] >= 0.90, summary
    assert summary["accuracy"] >= 0.75, summary
    for name in ("xray_roc.png", "xray_confusion.png", "xray_errors.png", "xray_saliency.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "ResNet-18 (paper)" in result.stdout and "sensitivity" in result.stdout
