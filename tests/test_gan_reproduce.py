"""The GAN paper drivers (``python -m gan_aug.reproduce``): nested training sets with the same NV sources across α,
no validation/test image reaching a GAN or the Path-Rank-Filter, Cho's discriminator filter, and each smoke
profile end to end (tables, figures, quality columns, resume)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classify.data import Sample
from classify.manifest import group_key
from classify.splits import read_split_file
from gan_aug.reproduce.thesis import nested_sets, prf_sets, source_order


def _samples(prefix, n, label="NV", source=False):
    return [Sample(f"/x/{prefix}{i:03d}.png", label, source=f"/src/{prefix}{i:03d}.jpg" if source else "")
            for i in range(n)]


def test_nested_sets_are_nested_and_capped():
    pools = {"MEL": _samples("m", 10, "MEL"), "NV": _samples("n", 3)}
    sets = nested_sets(pools, [2, 5, 10])
    assert [len(sets[n]) for n in (2, 5, 10)] == [4, 5 + 3, 10 + 3]       # NV capped at its pool of 3
    assert set(map(id, sets[2])) <= set(map(id, sets[5])) <= set(map(id, sets[10]))


def test_prf_sets_nested_and_same_sources_for_every_alpha():
    nv = _samples("nv", 20)
    order = source_order(nv, seed=3)
    assert sorted(order) == sorted(str(Path(s.path).resolve()) for s in nv) and order != sorted(order)
    assert order == source_order(list(reversed(nv)), seed=3)              # input order does not matter
    # two α's translations of the same nevi, listed in different orders
    per_alpha = {}
    for alpha, flip in ((0.5, False), (1.0, True)):
        translated = [Sample(f"/gen/a{alpha}/{Path(p).stem}.png", "MEL", source=p) for p in order]
        per_alpha[alpha] = prf_sets(translated[::-1] if flip else translated, order, [5, 10, 50])
    for alpha, sets in per_alpha.items():
        assert [len(sets[n]) for n in (5, 10, 50)] == [5, 10, 20]
        assert {s.source for s in sets[5]} < {s.source for s in sets[10]}
    for n in (5, 10):
        assert [s.source for s in per_alpha[0.5][n]] == [s.source for s in per_alpha[1.0][n]] == list(order[:n])


def test_chance_p_is_the_exact_binomial_tail_against_the_majority_class():
    from classify.stats import chance_p

    # 9 of 10 right on a 5/5 test set: P(K >= 9 | n 10, p 1/2) = (C(10,9) + C(10,10)) / 2^10
    assert chance_p([0] * 5 + [1] * 5, [0] * 5 + [1] * 4 + [0]) == pytest.approx(11 / 1024)
    # 8 of 10 right on an 8/2 test set is exactly what always answering class 0 gets: P(K >= 8 | p 0.8)
    p_major = chance_p([0] * 8 + [1] * 2, [0] * 10)
    assert p_major == pytest.approx(0.8 ** 10 + 10 * 0.8 ** 9 * 0.2 + 45 * 0.8 ** 8 * 0.2 ** 2)
    with pytest.raises(ValueError):
        chance_p([0, 1], [0])


def test_cho_table_says_when_it_cannot_answer():
    """A 'before' network at chance, or no image fooling D, makes the Cho table say it shows nothing."""
    from types import SimpleNamespace

    from gan_aug.reproduce.cho import cannot_answer

    y = [0] * 41 + [1] * 41
    at_chance = SimpleNamespace(y_true=y, probs=[[0.6, 0.4]] * 41 + [[0.4, 0.6]] * 3 + [[0.6, 0.4]] * 38,
                                n_test=82,
                                metrics={"accuracy": (41 + 3) / 82})   # 41 + 3 right: p = 0.29
    good = SimpleNamespace(y_true=y, probs=[[0.9, 0.1]] * 41 + [[0.1, 0.9]] * 41, n_test=82,
                           metrics={"accuracy": 1.0})
    kept = {"a": {"kept": 3}, "b": {"kept": 0}}
    none = {"a": {"kept": 0}, "b": {"kept": 0}}
    assert cannot_answer(good, kept, ["a", "b"]) == []
    reasons = cannot_answer(at_chance, none, ["a", "b"])
    assert len(reasons) == 2 and "no better than chance" in reasons[0] and "p = 0.29" in reasons[0]
    assert "nothing was added" in reasons[1]
    assert len(cannot_answer(good, none, ["a", "b"])) == 1


def test_keep_fooling_keeps_exactly_the_images_the_discriminator_calls_real(tmp_path):
    """Train a tiny DCGAN for one epoch, then compare the filter with D(x) computed directly."""
    from PIL import Image

    from gan_aug.data import DataSpec, load_data
    from gan_aug.generate import keep_fooling
    from gan_aug.kinds import get_kind
    from gan_aug.options import DCGANOptions
    from gan_aug.training import load_trained, train

    rng = np.random.default_rng(0)
    folder = tmp_path / "real"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"r{i}.png")
    opts = DCGANOptions(size=32, epochs=1, gen_filters=4, disc_filters=4, max_filters=16, batch_size=3,
                        latent_dim=8, discriminator="dcgan", save_every=1, n_samples=2)
    data = load_data(get_kind("dcgan"), opts, DataSpec(input=str(folder)), progress=False)
    train("dcgan", opts, tmp_path / "run", data, verbose=0)
    cand = tmp_path / "cand"
    cand.mkdir()
    samples = []
    for i in range(12):  # a spread of images: some the discriminator calls real, some fake
        arr = np.clip(rng.normal(128, 20 + 10 * i, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(cand / f"c{i}.png")
        samples.append(Sample(str(cand / f"c{i}.png"), "x"))
    model, o, _ = load_trained(tmp_path / "run")
    from classify.images import load_image

    x = np.stack([load_image(s.path, size=(32, 32)) for s in samples]).astype("float32") / 127.5 - 1
    logits = np.asarray(model.discriminator(x, training=False))[:, 0]
    direct = 1 / (1 + np.exp(-logits))
    threshold = float(np.median(direct))            # a threshold that splits this set, to test both sides
    kept, scores = keep_fooling(tmp_path / "run", samples, threshold)
    assert scores == pytest.approx(direct.tolist(), abs=1e-5)
    assert [s.path for s in kept] == [s.path for s, d in zip(samples, direct) if d > threshold]
    assert 0 < len(kept) < len(samples)
    kept_half, _ = keep_fooling(tmp_path / "run", samples)           # Cho's rule: D(G(z)) > 0.5
    assert [s.path for s in kept_half] == [s.path for s, d in zip(samples, direct) if d > 0.5]


def _training_images(run: Path) -> set[str]:
    with open(run / "training_images.csv", newline="") as f:
        return {row["path"] for row in csv.DictReader(f)}


def _train_keys(out: Path) -> tuple[set[str], set[str]]:
    split = read_split_file(out / "split.csv")
    return ({group_key(s.path) for s in split.train},
            {group_key(s.path) for s in split.val + split.test})


REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"thesis-acgan": "thesis_acgan", "thesis-prf": "thesis_prf", "cho": "cho2021"}


def _notebook(paper: str, out: Path, monkeypatch) -> list:
    """Execute the driver's Colab notebook under the smoke profile into ``out``: the driver's smoke run and the
    notebook's test in one. Returns the code cells' outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(REPO / "notebooks" / f"{NOTEBOOKS[paper]}.ipynb", as_version=4)
    monkeypatch.setenv("NST_AUG_PROFILE", "smoke")
    monkeypatch.setenv("NST_AUG_OUT", str(out))
    monkeypatch.delenv("NST_AUG_DATA", raising=False)
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=900,
                            resources={"metadata": {"path": str(out.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = json.dumps(outputs)
    assert "text/markdown" in text and "image/png" in text and "SMOKE RUN" in text
    return outputs


def _run(paper: str, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan_aug.reproduce", paper, "--profile", "smoke", "--out",
                           str(out), *extra], capture_output=True, text=True,
                          env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.mark.slow
def test_thesis_prf_smoke(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _notebook("thesis-prf", out, monkeypatch)
    train, held = _train_keys(out)
    gans = sorted((out / "gans").glob("cyclegan_alpha_*"))
    assert len(gans) == 2
    for run in gans:
        seen = _training_images(run)
        assert seen and seen <= train and not seen & held                 # no val/test image reached a GAN
    for sel in (out / "prf").glob("*/selection.csv"):
        with open(sel, newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and {group_key(r["path"]) for r in rows} <= train
        assert {r["label"] for r in rows} == {"MEL"}
    table = (out / "table_7_2.md").read_text()
    assert "SMOKE RUN" in table and "The thesis (Table 7.2)" in table and "0.865" in table
    assert "FD-VGG16" in table and "GAN-train" in table
    for png in ("table_7_2.png",):
        assert (out / png).stat().st_size > 10_000
    # the nested sets: runs for 2 ⊂ 4 added MEL of each α, from the same nevi across α
    sets = {}
    for run in (out / "runs").glob("prf-alpha_*"):
        with open(run / "split.csv", newline="") as f:
            sources = sorted(r["source"] for r in csv.DictReader(f) if r["generated"] == "1")
        sets[run.name] = sources
    for alpha in ("0.5", "1"):
        assert set(sets[f"prf-alpha_{alpha}-2"]) < set(sets[f"prf-alpha_{alpha}-4"])
    assert sets["prf-alpha_0.5-4"] == sets["prf-alpha_1-4"]
    # re-running resumes: nothing is trained again
    again = _run("thesis-prf", out)
    assert again.returncode == 0, again.stderr[-2000:]
    work = json.loads((out / "summary.json").read_text())["work"]
    assert work["trained"] == 0 and work["gans_trained"] == 0 and work["generated"] == 0


@pytest.mark.slow
def test_thesis_acgan_smoke(tmp_path, monkeypatch):
    _notebook("thesis-acgan", tmp_path / "out", monkeypatch)
    tmp_path = tmp_path / "out"
    train, held = _train_keys(tmp_path)
    for run in [tmp_path / "gans" / "acgan", *sorted((tmp_path / "gans").glob("cyclegan_*"))]:
        seen = _training_images(run)
        assert seen and seen <= train and not seen & held
    assert len(list((tmp_path / "gans").glob("cyclegan_*"))) == 3         # one per class
    table = (tmp_path / "table_6_2.md").read_text()
    for row in ("ISIC-0", "acgan-2", "cyclegan-2", "0.856", "KID-VGG16"):
        assert row in table
    quality = json.loads((tmp_path / "quality.json").read_text())
    assert set(quality) == {"acgan", "cyclegan"} and quality["acgan"]["fd"] >= 0
    assert (tmp_path / "table_6_2.png").is_file() and (tmp_path / "gans" / "acgan" / "samples").is_dir()


@pytest.mark.slow
def test_cho_smoke(tmp_path, monkeypatch):
    _notebook("cho", tmp_path / "out", monkeypatch)
    tmp_path = tmp_path / "out"
    # the command line on the notebook's folder: resumes (nothing retrained), lists the override in the header
    proc = _run("cho", tmp_path, "--set", "generate=6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    work = json.loads((tmp_path / "summary.json").read_text())["work"]
    assert work["trained"] == 0 and work["gans_trained"] == 0 and work["generated"] == 0
    train, held = _train_keys(tmp_path)
    for c in ("butterfly", "scorpion"):
        seen = _training_images(tmp_path / "gans" / c)
        assert seen and seen <= train and not seen & held
    with open(tmp_path / "generated" / "fooled.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    assert all((float(r["d_real"]) > 0.5) == (r["kept"] == "1") for r in rows)
    table = (tmp_path / "cho_table.md").read_text()
    assert "74.4" in table and "generate=6" in table and "SMOKE RUN" in table
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["added"] == {c: sum(r["kept"] == "1" and r["label"] == c for r in rows)
                                for c in ("butterfly", "scorpion")}
    assert (tmp_path / "cho_generated.png").is_file() and (tmp_path / "cho_accuracy.png").is_file()


def test_bad_arguments_are_one_line_errors(tmp_path):
    for args in (["thesis-acgan", "--set", "nope=1"], ["cho", "--profile", "gpu"],
                 ["thesis-prf", "--profile", "paper", "--out", str(tmp_path / "p")]):
        proc = subprocess.run([sys.executable, "-m", "gan_aug.reproduce", *args], capture_output=True, text=True)
        lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-1500:]
        assert "Traceback" not in proc.stderr
