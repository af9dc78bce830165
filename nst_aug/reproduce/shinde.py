"""Shinde, *Neural Style Transfer for Data Augmentation*: which style features to transfer — our experiment.

Shinde proposes (§3.2–§3.3, §4) but reports no numbers, so this driver asks her question on Gauld's Caltech-101
setup (crab / butterfly / scorpion, 10 training images per class, the rest for test, three subsets, the frozen
VGG16 + logistic-regression classifier, static translation + rotation; :mod:`nst_aug.reproduce.gauld`): does a
classifier gain more from style transfer when the style's Gram matrices use only the positions that matter?

Arms (:class:`~nst_aug.reproduce.profiles.ShindeProfile`), each stylising every training image once with the
``shinde2020`` preset (Gatys loss, noise init, style on every conv layer, 100 L-BFGS evaluations):

- ``none``: the originals only;
- ``full``: Kandinsky's *Composition VII*, whole-image Gram matrices;
- ``saliency`` / ``occlusion``: the same style image, Gram matrices over the top ``select_fraction`` of its
  positions by guided-backprop saliency / occlusion (:mod:`nst_aug.saliency`; §3.2);
- ``blend``: Kandinsky blended (equal Gram weights) with ``blend_k − 1`` other *training* images of the content's
  class (§3.3, and §5's "features … from images in same dataset"; never a test image, never the content itself).

Each arm is trained without and with the static copies; the report (``shinde_table.md``) gives per-class
precision and recall, the paired differences arm − none over subsets × classes with bootstrap CIs
(:func:`~nst_aug.reproduce.tables.recall_trend`), a precision/recall figure, and ``shinde_examples.png``: per
class one content image and its four stylisations, and the style image with the two selections' masks.

Stages resume by themselves in ``OUT``: ``nst/subset<s>/<arm>[/<class>]`` (generation jobs), ``static/``,
``runs/subset<s>/<arm>-<static>/``, ``features/`` (the classifier's cached VGG16 features).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from classify.images import load_fitted
from classify.splits import Split

from . import tables
from .gauld import caltech_experiment, plot_arm_examples
from .profiles import SHINDE_METHODS, ShindeProfile

SELECTIONS = {"saliency": "guided", "occlusion": "occlusion"}


def nst_config(profile: ShindeProfile):
    """``shinde2020`` with the profile's backbone, weights, size and steps; style stays on *every* conv layer of
    whichever backbone runs (Shinde: Gram matrices "for every layer in the model")."""
    from nst_aug.config import CONV_LAYERS
    from nst_aug.presets import get_preset

    return get_preset("shinde2020", backbone=profile.nst_backbone, weights=profile.nst_weights,
                      size=profile.nst_size, fit=profile.nst_fit, init=profile.nst_init, steps=profile.nst_steps,
                      lbfgs_maxfun=profile.nst_steps,
                      style_layers=CONV_LAYERS[profile.nst_backbone], seed=profile.seed)


def generation_jobs(profile: ShindeProfile, split: Split, subset: int, method: str, style: Path, out: Path) -> list:
    """The generation jobs of one arm on one subset: one job over every training image, or (``blend``) one per
    class, whose blend pool is that class's training images."""
    from nst_aug.job import GenerationJob, Input, StyleSelection

    if method not in SHINDE_METHODS or method == "none":
        raise ValueError(f"no generation for arm {method!r}; arms: {', '.join(SHINDE_METHODS)}")
    config = nst_config(profile)
    folder = out / "nst" / f"subset{subset}" / method
    common = dict(styles=(Input(str(style)),), config=config, preset="shinde2020", pairing="all",
                  seed=profile.seed, label="content", batch_size=profile.nst_batch)
    if method != "blend":
        selection = (StyleSelection(SELECTIONS[method], profile.select_fraction) if method in SELECTIONS else None)
        return [GenerationJob(contents=tuple(Input(s.path, s.label) for s in split.train), out=str(folder),
                              selection=selection, inputs={"subset": subset, "arm": method}, **common)]
    jobs = []
    for cls in profile.classes:
        own = tuple(Input(s.path, s.label) for s in split.train if s.label == cls)
        jobs.append(GenerationJob(contents=own, out=str(folder / cls), blend=profile.blend_k, blend_pool=own,
                                  inputs={"subset": subset, "arm": method, "class": cls}, **common))
    return jobs


def run(profile: ShindeProfile, out: str | os.PathLike, data=None, style=None, progress: bool = False) -> dict:
    """Run (or resume) the experiment into ``out`` (:func:`nst_aug.reproduce.gauld.caltech_experiment`;
    ``progress``: the stages' progress bars)."""
    arms = [m for m in SHINDE_METHODS if m in profile.methods]

    def jobs(split: Split, subset: int, arm: str, style_path: Path, out: Path) -> list:
        return generation_jobs(profile, split, subset, arm, style_path, out)

    def report(out: Path, results: dict, classes: list, n_expected: int, first_split: Split, style_path: Path):
        examples = plot_examples(out / "shinde_examples.png", profile, first_split, style_path, out)
        files = tables.write_precision_recall(
            out, profile, results, classes, n_expected, SHINDE_METHODS, "shinde",
            "Shinde (our experiment on Gauld's Caltech setup): per-class precision and recall per style-feature "
            "selection", ("style features", "style features"),
            closing="Shinde reported no numbers to compare with: she proposes selecting style positions by saliency "
                    "or occlusion and blending style images; the rows above are the test of that proposal.",
            question="Does selecting or blending style features raise recall over no style transfer?",
            every="every arm", figures=[examples])
        return {**files, "examples": examples}

    return caltech_experiment(profile, out, data, style, arms, jobs, report, progress)


def plot_examples(path: Path, profile: ShindeProfile, split: Split, style: Path, out: Path) -> Path:
    """``shinde_examples.png``: one row per class (its first training image of subset 0 and that image stylised by
    each arm, :func:`~nst_aug.reproduce.gauld.plot_arm_examples`), and a last row with the style image and the
    saliency/occlusion masks that select its positions."""
    arms = [m for m in SHINDE_METHODS if m in profile.methods and m != "none"]
    config = nst_config(profile)

    def masks_row(rows) -> None:
        style_img = load_fitted(style, config.size, config.fit, config.resample)
        rows[0][0].imshow(style_img)
        rows[0][0].set_title("style", fontsize=8)
        for j, (arm, mask) in enumerate(style_masks(profile, style_img).items(), 1):
            shown = style_img.astype(np.float32) * (0.25 + 0.75 * mask[..., None])
            rows[0][j].imshow(shown.astype(np.uint8))
            rows[0][j].set_title(f"{arm}: top {profile.select_fraction:.0%}", fontsize=8)

    return plot_arm_examples(
        path, out, split, profile.classes, arms, lambda arm: (config.size, config.fit, config.resample),
        profile.name, f"Shinde arms ({config.size} px, {config.steps} L-BFGS evaluations, {config.backbone})",
        extra_rows=1, draw_extra=masks_row)


def style_masks(profile: ShindeProfile, style_img: np.ndarray) -> dict[str, np.ndarray]:
    """The 0/1 masks the ``saliency`` and ``occlusion`` arms put on the style image (as the generation jobs
    compute them: :func:`nst_aug.saliency.score_function` of the NST network, top ``select_fraction``)."""
    from nst_aug.saliency import heat_map, score_function, style_mask

    config = nst_config(profile)
    scorer = score_function(None, None, config.backbone, None, config.weights, config.seed)
    x = style_img[None].astype(np.float32)
    return {arm: style_mask(heat_map(scorer, x, method), profile.select_fraction)[0]
            for arm, method in SELECTIONS.items() if arm in profile.methods}
