"""One fit epoch per model, exact resume, the NaN guard, and the train/generate CLIs, all at 32 px."""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

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


def _file_stamps(paths) -> dict[str, tuple[int, int]]:
    """``{name: (inode, mtime_ns)}``: a file rewritten since (atomically: a new inode) gets another stamp."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


@pytest.fixture(scope="module")
def cyclegan_resume(folders, tmp_path_factory):
    """The same 2-epoch CycleGAN run twice: uninterrupted (``full``), and stopped after epoch 1 then resumed
    (``part``); with what the resuming process printed and the stamps of ``part``'s epoch-1 files (checkpoint,
    exported generators, sample grid) just before and just after it."""
    out = tmp_path_factory.mktemp("cyc")
    data = ["--domain-a", str(folders / "A"), "--domain-b", str(folders / "B")]
    assert train.main(["cyclegan", "--out", str(out / "full"), *data, *TINY_CYCLEGAN, "--epochs", "2"]) == 0
    part = out / "part"
    assert train.main(["cyclegan", "--out", str(part), *data, *TINY_CYCLEGAN, "--epochs", "1"]) == 0

    def epoch1_files():
        return [*sorted((part / "checkpoints").glob("epoch_0001*")), part / "samples" / "epoch_0001.png"]

    before = _file_stamps(epoch1_files())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert train.main(["cyclegan", "--out", str(part), *data, "--resume", "--epochs", "2", "--quiet"]) == 0
    return SimpleNamespace(out=out, stdout=printed.getvalue(), epoch1_before=before,
                           epoch1_after=_file_stamps(epoch1_files()))


@pytest.fixture(scope="module")
def cyclegan_runs(cyclegan_resume):
    """The folder holding the ``full`` and the resumed ``part`` run (:func:`cyclegan_resume`)."""
    return cyclegan_resume.out


def test_cyclegan_run_folder_contents(cyclegan_runs):
    full = cyclegan_runs / "full"
    rec = json.loads((full / "run.json").read_text())
    assert rec["status"] == "finished" and rec["epochs_done"] == 2
    assert {"nst-aug", "tensorflow", "keras", "numpy", "scipy", "scikit-learn"} <= set(rec["versions"])
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


def test_part_run_really_resumed_from_its_epoch_1_checkpoint(cyclegan_resume):
    """Catches a resume that is ignored (training restarted from epoch 0). With the same seed a restarted run
    retrains epoch 1 into the very weights of the full run, so the equality above would still hold; what tells
    the two apart is what the second process did: it announced the checkpoint it loaded, recorded
    ``initial_epoch: 1``, ran only epoch 2 (Keras's per-epoch line), and left epoch 1's files as the first process
    wrote them."""
    part = cyclegan_resume.out / "part"
    out = cyclegan_resume.stdout
    assert f"resumed from {part / 'checkpoints' / 'epoch_0001.npz'} (epoch 1)" in out
    rec = json.loads((part / "run.json").read_text())
    assert (rec["initial_epoch"], rec["epochs_done"], rec["status"]) == (1, 2, "finished")
    assert "Epoch 2/2" in out and "Epoch 1/2" not in out  # the epochs fit ran in this process
    before = cyclegan_resume.epoch1_before
    assert set(before) == {"epoch_0001.npz", "epoch_0001_gen_ab.keras", "epoch_0001_gen_ba.keras",
                           "epoch_0001.png"}
    assert cyclegan_resume.epoch1_after == before  # epoch 1 not redone: nothing of it rewritten
    latest = json.loads((part / "checkpoints" / "latest.json").read_text())
    assert latest["epoch"] == 2 and (part / "samples" / "epoch_0002.png").is_file()


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


def test_generate_direction_uses_gen_ab_for_a2b_and_gen_ba_for_b2a(cyclegan_runs, folders, tmp_path):
    """Catches the two generators swapped in ``gan_aug.generate``: ``--direction a2b`` must write G_AB's
    translation (A→B, junyanz's G_A), ``b2a`` G_BA's. The same A images go through both directions and through the
    two exported generators called directly (inputs prepared as ``generate.translate`` documents: resized to the
    run's size with its filter, mapped to [-1, 1]); the two generators were initialised and trained apart, so their
    outputs differ and each direction must match its own generator only."""
    from classify.images import load_image
    from gan_aug import layers  # noqa: F401  (registers the generators' custom layers)
    from gan_aug.data import to_uint8

    run = cyclegan_runs / "full"
    _, opts, _ = generate.load_run(run)
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    paths = sorted(str(p.resolve()) for p in (folders / "A").glob("a*.jpg"))
    x = np.stack([load_image(p, size=(opts.size, opts.size), resample=opts.resample) for p in paths])
    x = x.astype("float32") / 127.5 - 1.0
    direct = {}
    for direction, name in (("a2b", "gen_ab"), ("b2a", "gen_ba")):
        gen = keras.saving.load_model(run / "checkpoints" / latest["generators"][name], compile=False)
        direct[direction] = dict(zip(paths, to_uint8(gen(x, training=False))))
    # 1 level = a uint8 rounding flip from float noise; the generators must disagree by more on every image
    assert all(np.abs(direct["a2b"][p].astype(int) - direct["b2a"][p]).max() > 1 for p in paths)
    written = {}
    for direction in ("a2b", "b2a"):
        out = tmp_path / direction
        assert generate.main([str(run), "--out", str(out), "--input", str(folders / "A"), "--direction",
                              direction, "--quiet"]) == 0
        rows = read_manifest_rows(out)
        assert sorted(r["source"] for r in rows) == paths
        written[direction] = {r["source"]: load_image(out / r["output"]) for r in rows}
    for direction, other in (("a2b", "b2a"), ("b2a", "a2b")):
        for p in paths:
            got = written[direction][p].astype(int)
            assert np.abs(got - direct[direction][p]).max() <= 1, (direction, p)
            assert np.abs(got - direct[other][p]).max() > 1, (direction, p)


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


@pytest.mark.parametrize("kind", ["dcgan", "acgan"])
def test_dcgan_and_acgan_resume_equals_uninterrupted(kind, tmp_path, capsys):
    """Catches a DCGAN/ACGAN resume that does not continue the run: state not loaded (fresh weights trained one
    more epoch), part of it left out (optimizer slots, the noise/dropout random state), or the data pipeline
    restarted at epoch 0. Two epochs in one go and one epoch then resumed to two must end in the same state,
    variable for variable (the tolerance of the CycleGAN resume test: float32 rounding only)."""
    if kind == "dcgan":
        one = _tiny(DCGANOptions, latent_dim=8, discriminator="dcgan")
        data = {"images": _image_set(), "spec": "x", "label": "NV"}
    else:
        one = _tiny(ACGANOptions, latent_dim=8)
        data = {"images": _image_set(4, ["NV", "MEL", "NV", "MEL"]), "classes": ["NV", "MEL"]}
    two = dataclasses.replace(one, epochs=2)  # 4 images, batches of 2: two steps per epoch
    training.train(kind, two, tmp_path / "full", data, verbose=0)
    training.train(kind, one, tmp_path / "part", data, verbose=0)
    capsys.readouterr()
    rec = training.train(kind, two, tmp_path / "part", data, resume=True, verbose=0)
    loaded = tmp_path / "part" / "checkpoints" / "epoch_0001.npz"
    assert f"resumed from {loaded} (epoch 1)" in capsys.readouterr().out
    assert rec["initial_epoch"] == 1 and rec["epochs_done"] == 2
    a = np.load(tmp_path / "full" / "checkpoints" / "epoch_0002.npz")
    b = np.load(tmp_path / "part" / "checkpoints" / "epoch_0002.npz")

    def layout(state):  # variable paths without the "_N" Keras appends to auto-named layers built again
        return [re.sub(r"_\d+", "", str(n)) for n in state["__names__"]]

    names = layout(a)
    assert names == layout(b) and a.files == b.files
    assert any("seed" in n for n in names) and any("adam" in n for n in names)  # random state, optimizer slots
    for k in a.files:
        if k != "__names__":
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)


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


@pytest.mark.parametrize("kind", ["dcgan", "acgan"])
def test_dcgan_and_acgan_resume_through_the_command_line(kind, folders, tmp_path, capsys):
    """The README's "the same command resumes" for the noise GANs, through ``gan_aug.train``: a 1-epoch run
    raised to 2 epochs announces the checkpoint it loaded, records ``initial_epoch: 1``, runs only epoch 2, and
    ends in the uninterrupted 2-epoch run's state. Catches a CLI that drops ``--resume`` for these kinds (the
    library test above calls ``training.train`` directly; the CycleGAN CLI tests cover only CycleGAN)."""
    data = ["--input", str(folders / "A")] if kind == "dcgan" else ["--folders", str(folders), "--classes", "A",
                                                                     "B"]
    tiny = ["--size", "32", "--gen-filters", "4", "--disc-filters", "4", "--max-filters", "16", "--batch-size",
            "2", "--latent-dim", "8", "--save-every", "1", "--n-samples", "2", "--no-jit-compile"]
    if kind == "dcgan":
        tiny += ["--discriminator", "dcgan"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert train.main([kind, "--out", str(full), *data, *tiny, "--epochs", "2", "--quiet"]) == 0
    assert train.main([kind, "--out", str(part), *data, *tiny, "--epochs", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert train.main([kind, "--out", str(part), *data, *tiny, "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert f"resumed from {part / 'checkpoints' / 'epoch_0001.npz'} (epoch 1)" in out
    assert "Epoch 2/2" in out and "Epoch 1/2" not in out
    rec = json.loads((part / "run.json").read_text())
    assert (rec["initial_epoch"], rec["epochs_done"], rec["status"]) == (1, 2, "finished")
    a = np.load(full / "checkpoints" / "epoch_0002.npz")
    b = np.load(part / "checkpoints" / "epoch_0002.npz")
    assert a.files == b.files
    for k in a.files:
        if k != "__names__":
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
