"""The thesis's two GAN experiments (Fossen-Romsaas & Storm-Johannessen, ``../papers/003``), end to end.

Both start the same way: the ISIC images of the profile's classes split 80/10/10, stratified, whole lesions on
one side (Table 6.1; HAM10000's ``lesion_id``); the fastai v1 classifier (:func:`classify.experiment.fastai_spec`,
§5) trained on the real training part — the baseline row ``ISIC-0``. Every GAN and the Path-Rank-Filter see the
*training* part only, through the split file (§6.2.1 "the test set is only used to test"; the thesis also
trained its GANs on the validation part: ours keep it out so that the group rule can hold the validation part
clean as well). Every classifier is scored on the one fixed test part.

``thesis-acgan`` (§6, Table 6.2): one ACGAN on all classes (``gans/acgan``); a pool of ACGAN images per class
(``generated/acgan/<class>``); one CycleGAN per class between that class's ACGAN images (A) and its real training
images (B) (``gans/cyclegan_<class>``), which refines the pool (``generated/cyclegan/<class>``: A→B of the same
images); training sets = the real training part + the first n images of each class's pool for n in
``added_per_class``, from ACGAN and from CycleGAN (the CycleGAN set of n holds the translations of the ACGAN set
of n); one classifier each (``runs/<set>``); the table in the thesis's layout (per-class precision/recall,
accuracy) with the thesis's numbers beside.

``thesis-prf`` (§7, Table 7.2): the ``ISIC-0`` classifier ranks the MEL *training* images; Path-Rank-Filter keeps
⌈α·n_correct⌉ (``prf/alpha_<α>/selection.csv``, :mod:`gan_aug.path_rank_filter`); per α one CycleGAN NV→MEL on
all training NV (A) and the selection (B) (``gans/cyclegan_alpha_<α>``); every training NV translated
(``generated/alpha_<α>``); training sets = the real training part + n translated images for n in ``added_mel``,
drawn from one seeded order of the NV sources, the same for every α, so the sets are nested (500 ⊂ 1000 ⊂ …) and
every α translates the same nevi (§7.4); one classifier each; accuracy and MEL precision/recall as in Table 7.2.

Both write ``quality.json`` (FD/KID/precision/recall/GAN-train/GAN-test of each generator's images,
:mod:`gan_aug.quality`), a markdown + CSV table, and a figure.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from classify.data import Sample
from classify.experiment import fastai_spec, train_and_evaluate
from classify.files import write_json
from classify.splits import Split, check_no_leakage, stratified_split, write_split_file

from .common import Counter, gan_quality, generated, isic_data, lesion_group, log
from .profiles import ThesisProfile

#: Thesis Table 6.2: model → ({class: (precision, recall)}, accuracy).
TABLE_6_2_CLASSES = ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC")
TABLE_6_2 = {
    "ISIC-0": ("0.823/0.721 0.894/0.939 0.854/0.877 0.761/0.628 0.786/0.783 0.708/0.708 0.913/0.84 0.683/0.683", 0.856),
    "acgan-250": ("0.763/0.757 0.909/0.911 0.824/0.925 0.736/0.616 0.752/0.692 0.727/0.667 0.957/0.88 0.738/0.714", 0.845),
    "cyclegan-250": ("0.782/0.739 0.903/0.925 0.853/0.889 0.679/0.64 0.78/0.753 0.692/0.75 1.0/0.8 0.712/0.667", 0.85),
    "cyclegan-500": ("0.803/0.748 0.894/0.932 0.864/0.898 0.651/0.651 0.826/0.741 0.857/0.75 0.846/0.88 0.714/0.635", 0.856),
    "acgan-500": ("0.811/0.701 0.883/0.94 0.845/0.883 0.675/0.605 0.795/0.738 0.783/0.75 0.95/0.76 0.695/0.651", 0.847),
    "cyclegan-1000": ("0.797/0.748 0.892/0.93 0.861/0.895 0.671/0.64 0.785/0.722 0.762/0.667 0.84/0.84 0.804/0.651", 0.851),
    "acgan-1000": ("0.812/0.743 0.9/0.938 0.846/0.889 0.671/0.616 0.802/0.753 0.842/0.667 0.88/0.88 0.707/0.651", 0.856),
    "acgan-2000": ("0.839/0.701 0.885/0.946 0.839/0.889 0.685/0.709 0.793/0.73 0.783/0.75 0.95/0.76 0.698/0.587", 0.852),
    "cyclegan-2000": ("0.813/0.759 0.907/0.942 0.842/0.913 0.738/0.686 0.807/0.73 0.857/0.75 0.952/0.8 0.741/0.635", 0.864),
    "acgan-3000": ("0.806/0.706 0.896/0.932 0.844/0.91 0.638/0.698 0.785/0.734 0.8/0.667 1.0/0.8 0.644/0.603", 0.848),
    "cyclegan-3000": ("0.785/0.752 0.895/0.936 0.845/0.886 0.641/0.581 0.824/0.711 0.762/0.667 0.958/0.92 0.696/0.619", 0.85),
}
#: Thesis Table 7.2: number of added MEL → {α: (accuracy, MEL precision, MEL recall)}; ISIC-0 for every α.
TABLE_7_2_ALPHAS = (0.125, 0.25, 0.5, 1.0)
TABLE_7_2 = {
    500: ((0.852, 0.797, 0.712), (0.853, 0.807, 0.712), (0.857, 0.820, 0.724), (0.856, 0.819, 0.710)),
    1000: ((0.851, 0.824, 0.717), (0.848, 0.797, 0.719), (0.861, 0.843, 0.701), (0.851, 0.825, 0.708)),
    2000: ((0.857, 0.815, 0.730), (0.847, 0.817, 0.719), (0.856, 0.836, 0.732), (0.856, 0.828, 0.712)),
    3000: ((0.858, 0.837, 0.715), (0.857, 0.837, 0.728), (0.857, 0.833, 0.726), (0.859, 0.825, 0.746)),
    4000: ((0.854, 0.801, 0.746), (0.856, 0.802, 0.728), (0.864, 0.855, 0.715), (0.854, 0.807, 0.730)),
    5000: ((0.858, 0.848, 0.717), (0.856, 0.804, 0.754), (0.855, 0.818, 0.737), (0.858, 0.811, 0.741)),
    6000: ((0.865, 0.851, 0.759), (0.852, 0.816, 0.724), (0.856, 0.825, 0.730), (0.858, 0.819, 0.741)),
    7000: ((0.854, 0.781, 0.748), (0.864, 0.810, 0.763), (0.849, 0.783, 0.743), (0.856, 0.819, 0.752)),
}
TABLE_7_2_ISIC0 = (0.856, 0.823, 0.721)


def paper_table_6_2(model: str) -> tuple[dict[str, tuple[float, float]], float] | None:
    if model not in TABLE_6_2:
        return None
    cells, acc = TABLE_6_2[model]
    pr = [tuple(float(v) for v in cell.split("/")) for cell in cells.split()]
    return dict(zip(TABLE_6_2_CLASSES, pr)), acc


# ------------------------------------------------------------------------------------------------ shared
class Prepared:
    """What both experiments start from: data, the split, the GAN data source and the ISIC-0 classifier."""

    def __init__(self, profile: ThesisProfile, out: Path, data, counter: Counter, progress: bool = False):
        self.profile, self.out, self.counter, self.progress = profile, out, counter, progress
        real, groups, self.description, self.source = isic_data(data, profile, out)
        self.classes = [c for c in profile.classes if any(s.label == c for s in real)]
        self.split = stratified_split(real, profile.fractions, seed=profile.seed,
                                      group_of=lesion_group(groups) if groups else None)
        self.split_file = out / "split.csv"
        write_split_file(self.split_file, self.split)
        write_json(out / "profile.json", {"profile": profile.to_dict(), "data": self.description})
        log(f"data: {self.description}; {self.split.summary()}; profile {profile.name}")
        self.spec = fastai_spec(profile.clf_arch, size=profile.clf_size, weights=profile.clf_weights,
                                epochs=profile.clf_epochs, freeze_epochs=profile.clf_freeze_epochs,
                                batch_size=profile.clf_batch, seed=profile.seed, lr=profile.clf_lr)
        self.baseline = self.classifier("ISIC-0", [], save_model=True)

    def classifier(self, name: str, synthetic: Sequence[Sample], save_model: bool = False):
        split = Split(self.split.train + list(synthetic), self.split.val, self.split.test)
        check_no_leakage(split)
        res = train_and_evaluate(self.spec, split, self.classes, self.out / "runs" / name, title=name,
                                 save_model=save_model, overwrite=True, verbose="auto" if self.progress else 0)
        self.counter.network(res)
        log(f"{'cached' if res.cached else 'trained'} {name}: accuracy {res.metrics['accuracy']:.3f} "
            f"(+{len(synthetic)} generated)")
        return res

    def data_spec(self, **kw):
        from gan_aug.data import DataSpec

        return DataSpec(**self.source, split_file=str(self.split_file), parts=("train",), **kw)

    def train_gan(self, kind: str, opts, name: str, spec) -> Path:
        from gan_aug.data import load_data
        from gan_aug.kinds import get_kind
        from gan_aug.training import train_or_resume

        gan_data = load_data(get_kind(kind), opts, spec, progress=self.progress, cache=self.out / "gans" / "data")
        _, cached = train_or_resume(kind, opts, self.out / "gans" / name, gan_data, verbose=1 if self.progress else 2)
        self.counter.gan(cached)
        sizes = ", ".join(f"{k} {len(gan_data[k])}" for k in get_kind(kind).data_sets)
        log(f"{'cached' if cached else 'trained'} {kind} {name} ({sizes} training images)")
        return self.out / "gans" / name

    def train_of(self, label: str) -> list[Sample]:
        return [s for s in self.split.train if s.label == label]


def cyclegan_options(profile: ThesisProfile, seed: int):
    from gan_aug.options import CycleGANOptions

    half = max(1, profile.cyclegan_epochs // 2)
    return CycleGANOptions(size=profile.cyclegan_size, load_size=profile.cyclegan_load_size,
                           gen_filters=profile.cyclegan_filters, disc_filters=profile.cyclegan_filters,
                           n_blocks=profile.cyclegan_blocks, n_epochs=half,
                           n_epochs_decay=profile.cyclegan_epochs - half, epochs=profile.cyclegan_epochs,
                           save_every=max(1, profile.cyclegan_epochs // 5), seed=seed, n_samples=4)


# ------------------------------------------------------------------------------------------- §6 ACGAN
def nested_sets(pools: dict[str, list[Sample]], counts: Sequence[int]) -> dict[int, list[Sample]]:
    """For each n in ``counts``: the first n images of every class's pool (capped at the pool), so the set of a
    smaller n is a subset of every larger one."""
    return {n: [s for pool in pools.values() for s in pool[:n]] for n in counts}


def run_acgan(profile: ThesisProfile, out: str | os.PathLike, data=None, progress: bool = False) -> dict:
    """Run (or resume) the thesis's §6 experiment into ``out``; ``progress``: the stages' progress bars."""
    from gan_aug.generate import generate_images
    from gan_aug.options import ACGANOptions

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    counter = Counter()
    prep = Prepared(profile, out, data, counter, progress)
    classes = prep.classes
    opts = ACGANOptions(size=profile.acgan_size, epochs=profile.acgan_epochs, gen_filters=profile.acgan_filters,
                        disc_filters=profile.acgan_filters, batch_size=profile.acgan_batch, seed=profile.seed,
                        save_every=max(1, profile.acgan_epochs // 5), n_samples=6)
    acgan = prep.train_gan("acgan", opts, "acgan", prep.data_spec(classes=tuple(classes)))
    pools: dict[str, dict[str, list[Sample]]] = {"acgan": {}, "cyclegan": {}}
    for c in classes:
        folder = out / "generated" / "acgan" / c
        counter.generation(generate_images(acgan, folder, per_class=profile.acgan_pool, classes=[c],
                                           progress=progress))
        pools["acgan"][c] = sorted(generated(folder), key=lambda s: s.path)
        run = prep.train_gan("cyclegan", cyclegan_options(profile, profile.seed), f"cyclegan_{c}",
                             prep.data_spec(domain_a=str(folder), domain_b=c))
        refined = out / "generated" / "cyclegan" / c
        counter.generation(generate_images(run, refined, samples=pools["acgan"][c], direction="a2b", label=c,
                                           progress=progress))
        by_source = {s.source: s for s in generated(refined)}
        pools["cyclegan"][c] = [by_source[str(Path(s.path).resolve())] for s in pools["acgan"][c]
                                if str(Path(s.path).resolve()) in by_source]
    results = {"ISIC-0": prep.baseline}
    for n, _ in sorted(nested_sets(pools["acgan"], profile.added_per_class).items()):
        for src in ("acgan", "cyclegan"):
            results[f"{src}-{n}"] = prep.classifier(f"{src}-{n}", nested_sets(pools[src], [n])[n])
    quality = {src: gan_quality(profile, prep.split.train, [s for p in pools[src].values() for s in p],
                                prep.split.test, progress=progress) for src in ("acgan", "cyclegan")}
    write_json(out / "quality.json", quality)
    pool_sizes = {c: len(p) for c, p in pools["acgan"].items()}
    files = write_table_6_2(out, profile, classes, results, quality, pool_sizes)
    summary = {"out": str(out), "profile": profile.name, "data": prep.description,
               "accuracy": {k: r.metrics["accuracy"] for k, r in results.items()}, "work": counter.to_dict(),
               "files": {k: str(v) for k, v in files.items()}}
    write_json(out / "summary.json", summary)
    log(f"table: {files['markdown']}")
    return summary


def _order(name: str) -> tuple:
    if name == "ISIC-0":
        return (0, "", 0)
    src, n = name.rsplit("-", 1)
    return (1, src, int(n))


def write_table_6_2(out: Path, profile, classes, results: dict, quality: dict, pool_sizes: dict) -> dict:
    from classify.tables import markdown_table, report_header, too_small, write_markdown, write_table_csv

    names = sorted(results, key=_order)
    rows, csv_rows = [], []
    base = results["ISIC-0"].metrics["accuracy"]
    for name in names:
        m = results[name].metrics
        cells = [f"{m['per_class'][c]['precision']:.3f}/{m['per_class'][c]['recall']:.3f}" for c in classes]
        rows.append([name, *cells, m["accuracy"], m["accuracy"] - base, results[name].n_train])
        csv_rows.append([name, *cells, m["accuracy"], results[name].n_train])
    small = too_small(n_test=results["ISIC-0"].n_test)
    capped = [n for n in profile.added_per_class if any(n > k for k in pool_sizes.values())]
    extra = []
    if small:
        extra.append(f"> Too small to show an effect: {'; '.join(small)}.")
    if capped:
        extra.append(f"> Sets of {capped} per class are capped at the pool ({pool_sizes}).")
    lines = report_header("Thesis Table 6.2: ISIC classifier with ACGAN / CycleGAN images added (precision/recall "
                          "per class, accuracy)", profile.name, profile.departures, extra)
    lines += ["Ours (one fixed test part of "
              f"{results['ISIC-0'].n_test} images):", ""]
    lines += markdown_table(["model", *classes, "accuracy", "Δ vs ISIC-0", "train images"], rows)
    lines += ["", "The thesis (Table 6.2, 2,534 test images):", ""]
    prow = []
    for name, (cells, acc) in TABLE_6_2.items():
        prow.append([name, *cells.split(), acc, acc - TABLE_6_2["ISIC-0"][1]])
    lines += markdown_table(["model", *TABLE_6_2_CLASSES, "accuracy", "Δ vs ISIC-0"], prow)
    lines += ["", "GAN quality of each generator's images against the real training part:", ""]
    lines += _quality_table(quality)
    lines += ["", "What this shows: whether adding n generated images per class moves per-class precision/recall "
              "or accuracy away from ISIC-0 on one test part. The thesis's own differences are within ±0.011 of "
              "ISIC-0's 0.856 — about 28 of its 2,534 test images, one run each, no repeats — and ours rest on "
              f"{results['ISIC-0'].n_test} test images (one image = {1 / max(1, results['ISIC-0'].n_test):.3f}); "
              "neither table can separate such differences from run-to-run noise."]
    md = write_markdown(out / "table_6_2.md", lines)
    csv = write_table_csv(out / "table_6_2.csv", ["model", *classes, "accuracy", "n_train"], csv_rows, profile.name)
    fig = plot_added(out / "table_6_2.png", results, profile.name)
    return {"markdown": md, "csv": csv, "figure": fig}


def _quality_table(quality: dict) -> list[str]:
    from classify.tables import markdown_table

    first = next(iter(quality.values()))
    names = first.get("names", {})
    rows = [[src, q["fd"], q["kid_mean"], q["precision"], q["recall"], q.get("gan_train"), q.get("gan_test"),
             q.get("real_baseline"), q["n_generated"]] for src, q in quality.items()]
    return markdown_table(["generator", names.get("fd", "FD"), names.get("kid", "KID"), "precision", "recall",
                           "GAN-train", "GAN-test", "real→real probe", "images"], rows) + [
        "", f"Features: {first.get('features', '?')}. GAN-train/GAN-test: a linear probe (Shmelkov et al. 2018)."]


def plot_added(path: Path, results: dict, profile: str) -> Path:
    """Accuracy against images added per class, ours and the thesis's, ACGAN and CycleGAN."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from classify.files import save_figure
    from classify.tables import mark_smoke

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (title, acc, base) in zip(axes, (
            ("ours", {k: r.metrics["accuracy"] for k, r in results.items()}, results["ISIC-0"].metrics["accuracy"]),
            ("thesis Table 6.2", {k: v[1] for k, v in TABLE_6_2.items()}, TABLE_6_2["ISIC-0"][1]))):
        for src, colour in (("acgan", "#d9822b"), ("cyclegan", "#1f5fa8")):
            pts = sorted((_order(k)[2], v) for k, v in acc.items() if k.startswith(src + "-"))
            if pts:
                ax.plot(*zip(*pts), "o-", color=colour, label=src)
        ax.axhline(base, color="grey", ls="--", label="ISIC-0")
        _count_axis(ax, sorted({_order(k)[2] for k in acc if k != "ISIC-0"}))
        ax.set_xlabel("generated images added per class")
        ax.set_ylabel("test accuracy")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    mark_smoke(fig, profile)
    return save_figure(fig, path)


def _count_axis(ax, counts) -> None:
    """A log x axis labelled at the image counts themselves (matplotlib's minor labels overlap: '3×10⁴×10²')."""
    from matplotlib.ticker import NullFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    labels, last = [], None
    for n in counts:  # a label where it has room on the log axis (3000 … 7000 would run together)
        room = last is None or math.log10(n / last) >= 0.2
        labels.append(str(n) if room else "")
        last = n if room else last
    ax.set_xticks(list(counts), labels, fontsize=7)


# --------------------------------------------------------------------------------------------- §7 PRF
def source_order(nv: Sequence[Sample], seed: int) -> list[str]:
    """One seeded order of the NV sources, shared by every α (§7.4: "for every α value the generated melanoma
    image from the same nevus image was used")."""
    paths = sorted(str(Path(s.path).resolve()) for s in nv)
    return [paths[i] for i in np.random.default_rng([seed, 7]).permutation(len(paths))]


def prf_sets(translated: Sequence[Sample], order: Sequence[str], counts: Sequence[int]) -> dict[int, list[Sample]]:
    """For each n: the translations of the first n sources of ``order`` (nested: 500 ⊂ 1000 ⊂ …)."""
    by_source = {s.source: s for s in translated}
    ordered = [by_source[p] for p in order if p in by_source]
    return {n: ordered[:n] for n in counts}


def run_prf(profile: ThesisProfile, out: str | os.PathLike, data=None, progress: bool = False) -> dict:
    """Run (or resume) the thesis's §7 experiment into ``out``; ``progress``: the stages' progress bars."""
    from classify.scoring import load_classifier
    from gan_aug.generate import generate_images
    from gan_aug.path_rank_filter import path_rank_filter, write_selection

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    counter = Counter()
    prep = Prepared(profile, out, data, counter, progress)
    for needed in ("NV", "MEL"):
        if needed not in prep.classes:
            raise ValueError(f"thesis-prf needs NV and MEL images; the data has {prep.classes}")
    classifier = load_classifier(out / "runs" / "ISIC-0" / "model.keras")
    mel, nv = prep.train_of("MEL"), prep.train_of("NV")
    order = source_order(nv, profile.seed)
    results, quality, selections = {"ISIC-0": prep.baseline}, {}, {}
    for alpha in profile.alphas:
        tag = f"alpha_{alpha:g}"
        kept, ranked, _ = path_rank_filter(classifier, mel, "MEL", alpha, progress=progress)
        selection = write_selection(out / "prf" / tag, kept, alpha)
        selections[alpha] = {"kept": len(kept), "correct": sum(r.correct for r in ranked), "ranked": len(ranked)}
        log(f"PRF α={alpha:g}: {len(kept)} of {len(ranked)} MEL training images "
            f"({selections[alpha]['correct']} classified correctly)")
        if not kept:
            raise ValueError(f"Path-Rank-Filter α={alpha:g}: the ISIC-0 classifier labels none of the "
                             f"{len(ranked)} MEL training images MEL, so there is nothing to train the CycleGAN "
                             "on; train the classifier longer (--set clf_epochs=…)")
        run = prep.train_gan("cyclegan", cyclegan_options(profile, profile.seed), f"cyclegan_{tag}",
                             prep.data_spec(domain_a="NV", domain_b=str(selection)))
        folder = out / "generated" / tag
        counter.generation(generate_images(run, folder, samples=nv, direction="a2b", label="MEL",
                                                   progress=progress))
        translated = generated(folder)
        for n, extra in prf_sets(translated, order, profile.added_mel).items():
            results[(alpha, n)] = prep.classifier(f"prf-{tag}-{n}", extra)
        # distances against the real MEL training images; GAN-test (does the ISIC-0-like probe call them MEL?)
        # with the probe trained on every class (GAN-train needs two generated classes: not measurable here)
        probe = gan_quality(profile, prep.split.train, translated, prep.split.test, progress=progress)
        quality[tag] = {**gan_quality(profile, mel, translated, progress=progress),
                        **{k: probe[k] for k in ("gan_test", "real_baseline")}, "gan_train": None}
    write_json(out / "quality.json", quality)
    write_json(out / "prf.json", {f"{a:g}": v for a, v in selections.items()})
    files = write_table_7_2(out, profile, results, quality, selections, len(nv))
    summary = {"out": str(out), "profile": profile.name, "data": prep.description,
               "accuracy": {str(k): r.metrics["accuracy"] for k, r in results.items()},
               "work": counter.to_dict(), "files": {k: str(v) for k, v in files.items()}}
    write_json(out / "summary.json", summary)
    log(f"table: {files['markdown']}")
    return summary


def _mel(result) -> tuple[float, float, float]:
    m = result.metrics
    return m["accuracy"], m["per_class"]["MEL"]["precision"], m["per_class"]["MEL"]["recall"]


def write_table_7_2(out: Path, profile, results: dict, quality: dict, selections: dict, n_nv: int) -> dict:
    from classify.tables import markdown_table, report_header, too_small, write_markdown, write_table_csv

    alphas = list(profile.alphas)
    counts = list(profile.added_mel)
    columns = ["added MEL"] + [f"α={a:g} {k}" for a in alphas for k in ("acc.", "MEL prec", "MEL recall")]
    rows, csv_rows = [], []
    for n in counts:
        cells = [v for a in alphas for v in _mel(results[(a, n)])]
        actual = results[(alphas[0], n)].n_train - results["ISIC-0"].n_train
        rows.append([f"{n}" + (f" ({actual})" if actual != n else ""), *cells])
        csv_rows.append([n, actual, *cells])
    base = _mel(results["ISIC-0"])
    rows.append(["ISIC-0", *[v for _ in alphas for v in base]])
    csv_rows.append(["ISIC-0", 0, *[v for _ in alphas for v in base]])
    small = too_small(n_test=results["ISIC-0"].n_test)
    extra = [f"> Too small to show an effect: {'; '.join(small)}."] if small else []
    if any(n > n_nv for n in counts):
        extra.append(f"> Only {n_nv} training NV to translate: larger sets hold all of them (actual count in "
                     "brackets).")
    extra.append("> PRF kept (of the MEL training images classified correctly): "
                 + ", ".join(f"α={a:g}: {s['kept']}/{s['correct']}" for a, s in selections.items()))
    lines = report_header("Thesis Table 7.2: ISIC classifier with CycleGAN NV→MEL images (Path-Rank-Filter α)",
                          profile.name, profile.departures, extra)
    lines += ["Ours:", ""] + markdown_table(columns, rows)
    pcols = ["added MEL"] + [f"α={a:g} {k}" for a in TABLE_7_2_ALPHAS for k in ("acc.", "MEL prec", "MEL recall")]
    prow = [[n, *[v for t in vals for v in t]] for n, vals in TABLE_7_2.items()]
    prow.append(["ISIC-0", *[v for _ in TABLE_7_2_ALPHAS for v in TABLE_7_2_ISIC0]])
    lines += ["", "The thesis (Table 7.2):", ""] + markdown_table(pcols, prow)
    lines += ["", "GAN quality of each α's translated images against the real MEL training images (GAN-test: the "
              "probe trained on every real class; GAN-train needs two generated classes):", ""] + _quality_table(quality)
    lines += ["", "What this shows: whether adding CycleGAN melanomas made from nevi changes accuracy or MEL "
              "precision/recall, and whether a stricter filter (smaller α) makes better training images. The thesis's "
              "accuracies span 0.847–0.865 around ISIC-0's 0.856 with no trend in α or n; ours are single runs on "
              f"{results['ISIC-0'].n_test} test images, so differences of a few images are noise."]
    md = write_markdown(out / "table_7_2.md", lines)
    csv = write_table_csv(out / "table_7_2.csv", ["added_mel", "actual"] + [c.replace(" ", "_") for c in columns[1:]],
                          csv_rows, profile.name)
    fig = plot_prf(out / "table_7_2.png", results, alphas, counts, profile.name)
    return {"markdown": md, "csv": csv, "figure": fig}


def plot_prf(path: Path, results: dict, alphas, counts, profile: str) -> Path:
    """MEL recall and accuracy against added MEL images, one line per α; the thesis's beside."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from classify.files import save_figure
    from classify.tables import mark_smoke

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    base = _mel(results["ISIC-0"])
    for a in alphas:
        axes[0].plot(counts, [_mel(results[(a, n)])[2] for n in counts], "o-", label=f"ours α={a:g}")
        axes[1].plot(counts, [_mel(results[(a, n)])[0] for n in counts], "o-", label=f"ours α={a:g}")
    for i, a in enumerate(TABLE_7_2_ALPHAS):
        ns = list(TABLE_7_2)
        axes[0].plot(ns, [TABLE_7_2[n][i][2] for n in ns], "x:", alpha=0.6, label=f"thesis α={a:g}")
        axes[1].plot(ns, [TABLE_7_2[n][i][0] for n in ns], "x:", alpha=0.6, label=f"thesis α={a:g}")
    for ax, b, tb, name in ((axes[0], base[2], TABLE_7_2_ISIC0[2], "MEL recall"),
                            (axes[1], base[0], TABLE_7_2_ISIC0[0], "accuracy")):
        ax.axhline(b, color="grey", ls="--", label="ours ISIC-0")
        ax.axhline(tb, color="black", ls=":", label="thesis ISIC-0")
        _count_axis(ax, sorted(set(counts) | set(TABLE_7_2)))
        ax.set_xlabel("generated MEL images added")
        ax.set_ylabel(name)
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    mark_smoke(fig, profile)
    return save_figure(fig, path)
