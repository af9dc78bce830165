"""python -m classify.train / classify.evaluate end to end on the embedded sample (tiny), and their errors."""
from __future__ import annotations

import json
import pytest

from classify.cli import run_main


def test_train_then_evaluate_embedded_sample(tmp_path, capsys):
    from classify import evaluate, train
    out = tmp_path / "run"
    rc = train.main(["--size", "32", "--epochs", "2", "--batch-size", "4", "--augment", "mikolajczyk",
                               "--one-cycle", "--lr", "1e-3", "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "10 real images {'MEL': 4, 'NV': 6}" in text and "AUC" in text
    run = json.loads((out / "run.json").read_text())
    assert run["classes"] == ["MEL", "NV"] and run["changed"]["size"] == 32 and "augment" in run["changed"]
    assert "epochs" not in run["changed"] and run["options"]["epochs"] == 2
    for name in ("model.keras", "history.csv", "split.csv", "report.md", "report.json", "roc.png",
                 "confusion_matrix.png", "learning_curves.png"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["n"] == 2 and len(report["history"]["loss"]) == 2
    assert run_main(evaluate.main, ["--model", str(out / "model.keras")]) == 0
    assert json.loads((out / "eval-test" / "report.json").read_text())["metrics"]["n"] == 2


def test_train_static_augmentation_and_kfold(tmp_path, capsys):
    from classify import train
    out = tmp_path / "gauld"
    rc = train.main(["--split", "kfold", "--folds", "2", "--fold", "1", "--static-copies", "1",
                               "--size", "32", "--epochs", "1", "--patience", "0", "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "split (kfold)" in text
    rows = (out / "split.csv").read_text().splitlines()
    assert sum(",train" in r and "_static0" in r for r in rows) >= 1  # static copies train only
    assert not any("_static0" in r for r in rows if r.endswith((",val", ",test")))


@pytest.mark.parametrize("args,message", [
    (["--data", "/nonexistent/folder"], "not found"),
    (["--classes", "XX"], "unknown class"),
    (["--split", "per-class", "--n-per-class", "10"], "need more than 10"),
    (["--epochs", "0"], "--epochs: 0 must be at least 1"),
])
def test_train_bad_input_one_line_errors(args, message, capsys):
    from classify import train
    assert run_main(train.main, args + ["--out", "/tmp/never-created-classify-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_evaluate_bad_input_errors(tmp_path, capsys):
    from classify import evaluate
    assert run_main(evaluate.main, ["--model", "/nope.keras"]) == 2
    assert capsys.readouterr().err.strip() == "error: --model /nope.keras: file not found"
    (tmp_path / "m.keras").write_bytes(b"")
    assert run_main(evaluate.main, ["--model", str(tmp_path / "m.keras")]) == 2
    assert "no data given and no split file" in capsys.readouterr().err


def test_an_occupied_folder_is_refused_naming_what_differs(tmp_path, capsys):
    """Another run in --out is refused with what differs (as gan_aug.train does; it said "other data, split or
    settings"), before any training; the same command finds the run done; --overwrite trains afresh."""
    from classify import train

    out = tmp_path / "run"
    argv = ["--size", "32", "--epochs", "1", "--batch-size", "4", "--out", str(out), "--quiet"]
    assert train.main(argv) == 0
    capsys.readouterr()
    assert train.main(argv + ["--lr", "0.01", "--size", "48"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds another run (" in err
    assert "--size 32 there, 48 here" in err and "--lr None there, 0.01 here" in err
    assert train.main(argv + ["--classes", "NV", "MEL"]) == 2  # NV first: another class order
    assert "classes MEL,NV there, NV,MEL here" in capsys.readouterr().err
    assert train.main(argv) == 0 and "nothing to do" in capsys.readouterr().out
    assert train.main(argv + ["--overwrite"]) == 0 and "nothing to do" not in capsys.readouterr().out
