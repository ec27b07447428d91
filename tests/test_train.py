"""The training command end to end on digits: every output file, a loadable checkpoint,
--resume, the accuracy floors, and one-line errors for bad arguments."""

import json

import pytest

import tinygrad_edu as tg
from tinygrad_edu import train

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

OUTPUTS = ["metrics.json", "curves.png", "confusion.png", "misclassified.png", "model.ckpt"]


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
    assert run("--model", "cnn", "--epochs", "8", "--out", str(tmp_path / "cnn")) == 0
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
    assert err.startswith("error:") and "\n" not in err and "MNIST" in err

    assert run("--model", "cnn", "--dataset", "breast-cancer", "--out", str(tmp_path / "b")) == 2
    assert "needs images" in capsys.readouterr().err

    out = tmp_path / "mlp"
    assert run("--quick", "--epochs", "1", "--out", str(out)) == 0
    assert run("--quick", "--model", "cnn", "--resume", str(out / "model.ckpt"),
               "--out", str(tmp_path / "c")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "mlp" in err and "\n" not in err

    assert run("--resume", str(tmp_path / "missing.ckpt"), "--out", str(tmp_path / "x")) == 2
    assert "no checkpoint" in capsys.readouterr().err
