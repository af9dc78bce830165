"""One fit epoch per model, exact resume, the NaN guard, and the train/generate CLIs, all at 32 px."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from classify.images import save_image
from classify.manifest import read_manifest_rows
from gan_aug import generate, train, training
from gan_aug.options import ACGANOptions, DCGANOptions

TINY_CYCLEGAN = ["--size", "32", "--load-size", "36", "--gen-filters", "4", "--n-blocks", "1",
                 "--disc-filters", "4", "--pool-size", "3", "--n-epochs", "1", "--n-epochs-decay", "1",
                 "--no-jit-compile", "--save-every", "1", "--n-samples", "2", "--quiet"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two small 'domains' of 40 px JPEGs (plus one broken file) and an ISIC-style class-folder tree."""
    root = tmp_path_factory.mktemp("gan_data")
    rng = np.random.default_rng(0)
    for domain, centre in (("A", 220), ("B", 30)):
        for i in range(4):
            img = np.full((40, 40, 3), rng.integers(60, 200, 3), np.uint8)
            img[12:28, 12:28] = centre
            save_image(img, root / domain / f"{domain.lower()}{i}.jpg")
    (root / "A" / "broken.jpg").write_bytes(b"not a jpeg")
    return root


@pytest.fixture(scope="module")
def cyclegan_runs(folders, tmp_path_factory):
    """The same 2-epoch CycleGAN run twice: uninterrupted, and stopped after epoch 1 then resumed."""
    out = tmp_path_factory.mktemp("cyc")
    data = ["--domain-a", str(folders / "A"), "--domain-b", str(folders / "B")]
    assert train.main(["cyclegan", "--out", str(out / "full"), *data, *TINY_CYCLEGAN, "--epochs", "2"]) == 0
    assert train.main(["cyclegan", "--out", str(out / "part"), *data, *TINY_CYCLEGAN, "--epochs", "1"]) == 0
    assert train.main(["cyclegan", "--out", str(out / "part"), *data, "--resume", "--epochs", "2",
                       "--quiet"]) == 0
    return out


def test_cyclegan_run_folder_contents(cyclegan_runs):
    full = cyclegan_runs / "full"
    rec = json.loads((full / "run.json").read_text())
    assert rec["status"] == "finished" and rec["epochs_done"] == 2
    assert rec["non_defaults"]["size"] == 32 and "pool_size" in rec["non_defaults"]
    assert rec["data"]["domain_a"]["images"] == 4 and rec["data"]["domain_a"]["skipped"] == 1
    assert "not an image" in rec["data"]["domain_a"]["skipped_reasons"][0]
    assert sorted(p.name for p in (full / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    assert (full / "loss_curves.png").stat().st_size > 0
    with open(full / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[0]["lr"]) == pytest.approx(2e-4) and float(rows[1]["lr"]) == pytest.approx(1e-4)


def test_resumed_run_equals_uninterrupted_run(cyclegan_runs):
    a = np.load(cyclegan_runs / "full" / "checkpoints" / "epoch_0002.npz")
    b = np.load(cyclegan_runs / "part" / "checkpoints" / "epoch_0002.npz")
    assert a.files == b.files and len(a.files) > 50
    names = list(a["__names__"])
    assert any("pool" in n for n in names) and any("seed" in n for n in names)  # pools and RNG are saved
    for k in a.files:
        if k != "__names__":
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
    with open(cyclegan_runs / "full" / "history.csv") as f1, open(cyclegan_runs / "part" / "history.csv") as f2:
        h1, h2 = list(csv.DictReader(f1)), list(csv.DictReader(f2))
    assert [r["epoch"] for r in h2] == ["1", "2"]
    assert float(h1[1]["g_loss"]) == pytest.approx(float(h2[1]["g_loss"]), rel=1e-5)


def test_an_existing_run_resumes_and_is_never_replaced_silently(cyclegan_runs, folders, capsys):
    """The one rule for existing output: the same run resumes (here: already finished, nothing retrained);
    other options or --no-resume are refused with one line, and the run's files are untouched."""
    data = ["--domain-a", str(folders / "A"), "--domain-b", str(folders / "B")]
    run = cyclegan_runs / "full"
    before = {p: p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir()}
    assert train.main(["cyclegan", "--out", str(run), *data, *TINY_CYCLEGAN]) == 0
    assert "finished: 2 epochs" in capsys.readouterr().out
    assert train.main(["cyclegan", "--out", str(run), *data, *TINY_CYCLEGAN, "--lr", "0.001"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--lr 0.0002 there, 0.001 here" in err and len(err.splitlines()) == 1
    assert train.main(["cyclegan", "--out", str(run), *data, *TINY_CYCLEGAN, "--no-resume"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir()} == before


def test_generate_translates_both_directions_and_resumes(cyclegan_runs, folders, tmp_path):
    out = tmp_path / "gen"
    run = str(cyclegan_runs / "full")
    assert generate.main([run, "--out", str(out), "--input", str(folders / "A"), "--direction", "a2b"]) == 0
    rows = read_manifest_rows(out)
    assert len(rows) == 4  # the broken file is skipped with its reason
    assert all(r["method"] == "cyclegan" and r["label"] == "B" and r["direction"] == "a2b" for r in rows)
    assert {Path(r["source"]).name for r in rows} == {f"a{i}.jpg" for i in range(4)}
    assert all((out / r["output"]).exists() for r in rows)
    # resumable: a second run writes nothing new; the other direction adds its own rows
    assert generate.main([run, "--out", str(out), "--input", str(folders / "A"), "--direction", "a2b"]) == 0
    assert len(read_manifest_rows(out)) == 4
    assert generate.main([run, "--out", str(out), "--input", str(folders / "B"), "--direction", "b2a"]) == 0
    rows = read_manifest_rows(out)
    assert len(rows) == 8 and sum(r["label"] == "A" for r in rows) == 4


def _tiny(cls, **kw):
    return cls(size=32, gen_filters=4, disc_filters=4, max_filters=16, batch_size=2, epochs=1, save_every=1,
               n_samples=2, jit_compile=False, **kw)


def _image_set(n=4, labels=None):
    from gan_aug.data import ImageSet

    rng = np.random.default_rng(1)
    return ImageSet(rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8), [f"img{i}.png" for i in range(n)],
                    labels or [""] * n, [])


@pytest.mark.parametrize("disc", ["dcgan", pytest.param("resnet18", marks=pytest.mark.slow)])
def test_dcgan_fits_one_epoch(tmp_path, disc):
    opts = _tiny(DCGANOptions, latent_dim=125, discriminator=disc)
    rec = training.train("dcgan", opts, tmp_path, {"images": _image_set(), "spec": "x", "label": "NV"}, verbose=0)
    assert rec["status"] == "finished"
    assert np.isfinite(rec["last_losses"]["g_loss"]) and np.isfinite(rec["last_losses"]["d_loss"])
    assert (tmp_path / "samples" / "epoch_0001.png").exists()


def test_acgan_fits_one_epoch_and_generates_per_class(tmp_path):
    opts = _tiny(ACGANOptions, latent_dim=16)
    data = {"images": _image_set(6, ["NV", "MEL", "NV", "MEL", "NV", "MEL"]), "classes": ["NV", "MEL"]}
    rec = training.train("acgan", opts, tmp_path / "run", data, verbose=0)
    assert rec["status"] == "finished" and set(rec["last_losses"]) >= {"d_class", "g_class", "real_class_acc"}
    out = tmp_path / "gen"
    assert generate.main([str(tmp_path / "run"), "--out", str(out), "--per-class", "3"]) == 0
    rows = read_manifest_rows(out)
    assert sorted(r["label"] for r in rows) == ["MEL"] * 3 + ["NV"] * 3
    first = {r["output"]: (out / r["output"]).read_bytes() for r in rows}
    (out / rows[-1]["output"]).unlink()  # as if killed: the manifest row is kept, so it is not redone ...
    assert generate.main([str(tmp_path / "run"), "--out", str(out), "--per-class", "4"]) == 0
    rows = read_manifest_rows(out)
    assert len(rows) == 8  # ... and only the new index 3 of each class is added
    assert all((out / r["output"]).read_bytes() == first[r["output"]] for r in rows[:5])


class _PoisonAtEpoch(keras.callbacks.Callback):
    """Turn the generator's weights to NaN when epoch ``at`` begins."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            w = self.model.generator.trainable_variables[0]
            w.assign(np.full(w.shape, np.nan, "float32"))


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    opts = _tiny(DCGANOptions, latent_dim=8, discriminator="dcgan").__class__(
        **{**_tiny(DCGANOptions, latent_dim=8, discriminator="dcgan").__dict__, "epochs": 4})
    rec = training.train("dcgan", opts, tmp_path, {"images": _image_set(), "spec": "x", "label": ""}, verbose=0,
                      extra_callbacks=[_PoisonAtEpoch(2)])
    assert rec["status"] == "stopped_nan" and rec["epochs_done"] == 2
    latest = json.loads((tmp_path / "checkpoints" / "latest.json").read_text())
    assert latest["epoch"] == 2
    state = np.load(tmp_path / "checkpoints" / latest["file"])
    assert all(np.isfinite(state[k]).all() for k in state.files if k != "__names__")
    assert not (tmp_path / "checkpoints" / "epoch_0003.npz").exists()
