"""The reproduction drivers under ``--profile smoke``: outputs, leakage, caching; statistics on hand-computed numbers;
the two Colab notebooks executed with nbclient (slow)."""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from nst_aug.reproduce import tables
from nst_aug.reproduce.profiles import GAULD_PROFILES, MIKOLAJCZYK_PROFILES, get_profile

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------- statistics
def test_paired_stats_hand_computed():
    with_ = [0.80, 0.90, 0.85]
    without = [0.70, 0.80, 0.80]
    s = tables.paired_stats(with_, without, n_boot=2000, seed=0)
    # d = (0.10, 0.10, 0.05): mean 0.08333, sd 0.028868, t = mean / (sd / √3) = 5.0 with 2 df
    assert s["n"] == 3
    assert s["diff"] == pytest.approx(0.083333, abs=1e-6)
    assert s["mean_with"] == pytest.approx(0.85) and s["mean_without"] == pytest.approx(0.766667, abs=1e-6)
    assert s["t"] == pytest.approx(5.0, rel=1e-6)
    assert s["p"] == pytest.approx(0.037750, abs=1e-5)   # 2 · (1 − F_t2(5)) = 1 − 5/√27
    # bootstrap means of three resampled differences lie between min(d) and max(d)
    assert 0.05 - 1e-12 <= s["ci_low"] <= s["diff"] <= s["ci_high"] <= 0.10 + 1e-12


def test_paired_stats_degenerate():
    s = tables.paired_stats([0.9, 0.8], [0.8, 0.7])   # constant difference: t undefined, CI collapses
    assert math.isnan(s["t"]) and math.isnan(s["p"])
    assert s["ci_low"] == pytest.approx(0.1) and s["ci_high"] == pytest.approx(0.1)
    s = tables.paired_stats([], [])
    assert s["n"] == 0 and math.isnan(s["diff"])
    with pytest.raises(ValueError):
        tables.paired_stats([0.1], [0.1, 0.2])


def test_paper_table_i_is_consistent():
    """The copied Table I: each AVER is the mean of its folds (±0.001 rounding); the grand difference is 2.68 %."""
    for setting, rows in tables.PAPER_TABLE_I.items():
        for arch, vals in rows.items():
            assert np.mean(vals[:5]) == pytest.approx(vals[5], abs=1.1e-3), (setting, arch)
    grand = (np.mean([v[5] for v in tables.PAPER_TABLE_I["with"].values()])
             - np.mean([v[5] for v in tables.PAPER_TABLE_I["without"].values()]))
    assert round(grand * 100, 2) == 2.68


def test_recall_trend_sentence():
    rows = [{"style": s, "static": st, "recall": r, "class": "c"}
            for st in (False, True) for s, r in zip(("none", "light", "medium", "heavy"),
                                                    (0.5, 0.6, 0.7, 0.8) if not st else (0.5, 0.4, 0.7, 0.8))]
    sentence, means = tables.recall_trend(rows, ("light", "medium", "heavy"))
    assert "**Only partly**" in sentence
    assert "without static augmentation, mean recall rises monotonically" in sentence
    assert means["with"]["light"] == pytest.approx(0.4)


def test_profiles_state_their_departures():
    for table in (MIKOLAJCZYK_PROFILES, GAULD_PROFILES):
        for name, p in table.items():
            assert p.departures, name
    assert MIKOLAJCZYK_PROFILES["paper"].folds == 5 and MIKOLAJCZYK_PROFILES["paper"].nst_size == 224
    assert MIKOLAJCZYK_PROFILES["paper"].archs == ("vgg9", "vgg11", "vgg16", "densenet121")
    assert GAULD_PROFILES["paper"].n_train == 10 and GAULD_PROFILES["paper"].subsets == 3
    assert GAULD_PROFILES["paper"].nst_backbone == "vgg19" and GAULD_PROFILES["paper"].nst_steps is None
    assert any("VGG19" in d for d in GAULD_PROFILES["cpu"].departures)  # VGG16 override said in the header
    p = get_profile("mikolajczyk", "smoke", epochs=3)
    assert p.epochs == 3 and "overridden on the command line: epochs=3" in p.departures


# ---------------------------------------------------------------------------------------------- drivers
def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def mikolajczyk_run(tmp_path_factory):
    from nst_aug.reproduce.mikolajczyk import run

    out = tmp_path_factory.mktemp("mk")
    first = run(MIKOLAJCZYK_PROFILES["smoke"], out)       # the embedded 10-image sample
    second = run(MIKOLAJCZYK_PROFILES["smoke"], out)
    return out, first, second


def test_mikolajczyk_smoke_table(mikolajczyk_run):
    out, first, _ = mikolajczyk_run
    profile = MIKOLAJCZYK_PROFILES["smoke"]
    rows = _read_csv(out / "table1.csv")
    ours = [r for r in rows if r["source"] == "ours"]
    assert [(r["setting"], r["architecture"]) for r in ours] == [("without", "VGG9"), ("with", "VGG9")]
    assert list(rows[0]) == ["source", "setting", "architecture", "fold_0", "fold_1", "aver", "std"]
    for r in ours:
        for key in ("fold_0", "fold_1", "aver"):
            assert 0.0 <= float(r[key]) <= 1.0
    assert len([r for r in rows if r["source"] == "paper"]) == 8
    md = (out / "table1.md").read_text()
    for d in profile.departures:
        assert d in md                                           # honest header
    assert "| Without Data Augmentation | VGG9 |" in md and "paper AVER" in md and "0.857" in md
    assert (out / "fig4.png").stat().st_size > 1000
    stats = _read_csv(out / "stats.csv")
    assert stats[0]["arch"] == "vgg9" and stats[0]["n"] == "2"
    assert first["work"]["trained"] == 4 and first["work"]["generated"] == first["synthetic"] > 0


def test_mikolajczyk_pseudo_labels_and_group_rule(mikolajczyk_run):
    out, first, _ = mikolajczyk_run
    from classify.manifest import read_manifest_rows

    for fold in range(2):
        rows = read_manifest_rows(out / "nst" / f"manifest-pseudo-fold{fold}.csv")
        labelled = [r for r in rows if r["pseudo_label"]]
        assert labelled
        counts = [sum(r["pseudo_label"] == c for r in labelled) for c in ("NV", "MEL")]
        assert abs(counts[0] - counts[1]) <= 1                    # the class-balancing threshold
        assert all(0.0 <= float(r["pseudo_score"]) <= 1.0 for r in labelled)
        held_out = set(json.loads((out / "runs" / "vgg9" / f"fold{fold}" / "with" / "result.json").read_text())
                       ["test_paths"])
        for r in labelled:                                        # no parent of a training image is tested
            assert os.path.realpath(r["source"]) not in held_out and os.path.realpath(r["style"]) not in held_out


def test_mikolajczyk_second_run_is_cached(mikolajczyk_run):
    out, first, second = mikolajczyk_run
    assert second["work"]["trained"] == 0 and second["work"]["generated"] == 0
    assert second["work"]["cached"] == 4
    assert _read_csv(out / "table1.csv") == _read_csv(out / "table1.csv")


@pytest.fixture(scope="module")
def gauld_run(tmp_path_factory):
    """Gauld smoke on synthetic stand-in images (no dependency on ../shared/data)."""
    from nst_aug.reproduce.gauld import make_toy_data, run

    out = tmp_path_factory.mktemp("gauld")
    profile = GAULD_PROFILES["smoke"]
    root, style = make_toy_data(out / "toy", profile.classes, per_class=5, size=48)
    first = run(profile, out, root, style)
    second = run(profile, out, root, style)
    return out, first, second


def test_gauld_smoke_table(gauld_run):
    out, first, second = gauld_run
    rows = _read_csv(out / "gauld_table.csv")
    classes = ("crab", "butterfly", "scorpion")
    networks = {(r["subset"], r["style"], r["static"]) for r in rows}
    assert networks == {("0", s, st) for s in ("none", "heavy") for st in ("False", "True")}
    assert len(rows) == 4 * 3 and {r["class"] for r in rows} == set(classes)
    for r in rows:
        assert 0.0 <= float(r["precision"]) <= 1.0 and 0.0 <= float(r["recall"]) <= 1.0
        assert r["support"] == "3"
    n_train = {(r["style"], r["static"]): int(r["n_train"]) for r in rows}
    assert n_train == {("none", "False"): 6, ("none", "True"): 12, ("heavy", "False"): 12, ("heavy", "True"): 18}
    md = (out / "gauld_table.md").read_text()
    assert "Does recall rise with style strength?" in md
    assert "crab P | crab R" in md and (out / "gauld_precision_recall.png").stat().st_size > 1000
    assert first["work"]["trained"] == 4
    assert second["work"]["trained"] == 0 and second["work"]["generated"] == 0 and second["work"]["cached"] == 4


def test_gauld_split_on_caltech(caltech101):
    """Gauld's split on the real classes: 10 per class train, the rest (63-81) test, subsets differ."""
    from classify.data import read_class_folders
    from classify.splits import per_class_split

    real, _ = read_class_folders(caltech101, ("crab", "butterfly", "scorpion"))
    splits = [per_class_split(real, 10, seed=s) for s in range(3)]
    for sp in splits:
        assert {c: sum(x.label == c for x in sp.train) for c in ("crab", "butterfly", "scorpion")} == \
            {"crab": 10, "butterfly": 10, "scorpion": 10}
        assert len(sp.test) == 248 - 30
    assert len({tuple(sorted(x.path for x in sp.train)) for sp in splits}) == 3


def test_cli_set_overrides():
    from nst_aug.reproduce.__main__ import _overrides

    base = MIKOLAJCZYK_PROFILES["smoke"]
    assert _overrides(["epochs=3", "archs=vgg9,vgg11", "learning_rate=0.01", "nst_pairs=5"], base) == {
        "epochs": 3, "archs": ("vgg9", "vgg11"), "learning_rate": 0.01, "nst_pairs": 5}
    with pytest.raises(ValueError, match="unknown profile field"):
        _overrides(["nope=1"], base)


# -------------------------------------------------------------------------------------------- notebooks
@pytest.mark.slow
@pytest.mark.parametrize("name", ["mikolajczyk2019", "gauld2020", "gan_augmentation"])
def test_notebook_executes_under_smoke(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    monkeypatch.setenv("NST_AUG_PROFILE", "smoke")
    monkeypatch.setenv("NST_AUG_OUT", str(tmp_path / "out"))
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=900,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = json.dumps(outputs)
    assert "text/markdown" in text and "image/png" in text
    assert not [o for o in outputs if o.get("output_type") == "error"]
