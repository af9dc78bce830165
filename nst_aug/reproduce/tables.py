"""Tables, statistics and figures of the two reproductions.

Mikołajczyk Table I: AUC (MEL vs NV) per architecture × fold, "without" and "with" the synthetic training set,
AVER = the mean over folds, ± the sample standard deviation (ddof = 1). Per architecture, the difference
d_f = AUC_with,f − AUC_without,f across the folds f gets a paired t-test and a percentile bootstrap 95 % CI of
mean(d) (:func:`classify.stats.paired_stats`). The paper's own Table I (§V) is printed beside ours; the paper's
"2.68 %" is the difference of the grand mean AUCs in AUC points (0.8545 − 0.8278 = 0.0268).

Gauld: per-class precision and recall (Gauld, Equations 6–7) for the 8 networks × subsets.

Results are :class:`classify.experiment.RunResult` values; tables and statistics are :mod:`classify.tables` and
:mod:`classify.stats`, files are written atomically.
"""
from __future__ import annotations

import math

from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from classify.files import save_figure
from classify.stats import mean_std, paired_stats
from classify.tables import fmt as _f
from classify.tables import mark_smoke, report_header, too_small, write_markdown, write_table_csv

if TYPE_CHECKING:
    from classify.experiment import RunResult

#: Mikołajczyk & Grochowski, Table I (folds 0–4, AVER), copied from the paper text (../papers/000, §V).
PAPER_TABLE_I: dict[str, dict[str, tuple[float, ...]]] = {
    "without": {
        "vgg9": (0.805, 0.820, 0.845, 0.845, 0.805, 0.824),
        "vgg11": (0.820, 0.799, 0.805, 0.840, 0.845, 0.822),
        "vgg16": (0.830, 0.850, 0.815, 0.875, 0.840, 0.842),
        "densenet121": (0.820, 0.825, 0.810, 0.850, 0.810, 0.823),
    },
    "with": {
        "vgg9": (0.835, 0.880, 0.845, 0.875, 0.850, 0.857),
        "vgg11": (0.815, 0.895, 0.870, 0.885, 0.840, 0.861),
        "vgg16": (0.825, 0.850, 0.835, 0.830, 0.815, 0.831),
        "densenet121": (0.870, 0.895, 0.865, 0.855, 0.860, 0.869),
    },
}
ARCH_NAMES = {"vgg9": "VGG9", "vgg11": "VGG11", "vgg16": "VGG16", "densenet121": "DenseNet121",
              "small_cnn": "small CNN", "resnet50": "ResNet50"}
SETTING_NAMES = {"without": "Without Data Augmentation", "with": "With Data Augmentation (NST)",
                 "with_fast": "With fast style (Ghiasi et al.; ours)"}


#: Below this mean AUC the "without" networks are close to guessing, and Table I's with − without difference
#: answers nothing about the paper's claim (ours; the paper's networks reach 0.82–0.84).
NEAR_CHANCE_AUC = 0.65


def _header(title: str, profile, extra: Sequence[str] = ()) -> list[str]:
    return report_header(title, profile.name, profile.departures, extra)


# ------------------------------------------------------------------------------------------------ Mikołajczyk
def _settings(results: Mapping[tuple[str, str, int], "RunResult"]) -> list[str]:
    """``without``, ``with`` and, when our fast-style arm has results, ``with_fast``."""
    return ["without", "with"] + (["with_fast"] if any(s == "with_fast" for _, s, _ in results) else [])


def mikolajczyk_rows(results: Mapping[tuple[str, str, int], dict], archs: Sequence[str], k: int
                     ) -> list[dict]:
    """One row per (setting, architecture): ``folds`` (AUC or None), ``mean``, ``std``."""
    rows = []
    for setting in _settings(results):
        for arch in archs:
            vals = [None if (r := results.get((arch, setting, i))) is None else r.auc for i in range(k)]
            mean, std = mean_std(vals)
            rows.append({"setting": setting, "arch": arch, "folds": vals, "mean": mean, "std": std})
    return rows


def write_mikolajczyk(out: Path, profile, results: Mapping[tuple[str, str, int], "RunResult"], k: int,
                      pseudo: Mapping[str, Mapping[int, dict]] | None = None) -> dict[str, Path]:
    """``table1.md``, ``table1.csv`` (ours and the paper's rows), ``stats.csv`` (one row per architecture and
    comparison: ``with`` − ``without``, and ``with_fast`` − ``without`` for our fast-style arm) and ``fig4.png`` in
    ``out``. ``pseudo``: per synthesis setting (``with``, ``with_fast``) and fold, the pseudo-labelling summary."""
    out = Path(out)
    archs = list(profile.archs)
    rows = mikolajczyk_rows(results, archs, k)
    by = {(r["setting"], r["arch"]): r for r in rows}
    comparisons = [s for s in _settings(results) if s != "without"]
    stats_rows = []
    for setting in comparisons:
        for arch in archs:
            pairs = [(results[(arch, setting, i)].auc, results[(arch, "without", i)].auc)
                     for i in range(k) if (arch, setting, i) in results and (arch, "without", i) in results
                     and results[(arch, setting, i)].auc is not None
                     and results[(arch, "without", i)].auc is not None]
            s = paired_stats([p[0] for p in pairs], [p[1] for p in pairs], profile.bootstrap, profile.seed)
            paper = (PAPER_TABLE_I["with"].get(arch, (None,) * 6)[5], PAPER_TABLE_I["without"].get(arch, (None,) * 6)[5]
                     ) if setting == "with" else (None, None)
            s.update(arch=arch, comparison=setting, paper_with=paper[0], paper_without=paper[1],
                     paper_diff=None if None in paper else paper[0] - paper[1])
            stats_rows.append(s)

    # ---- CSV: ours and the paper's rows
    def four(v):
        return "" if v is None else f"{v:.4f}"

    csv_rows = [["ours", r["setting"], ARCH_NAMES.get(r["arch"], r["arch"]), *map(four, r["folds"]),
                 four(r["mean"]), four(r["std"])] for r in rows]
    # the paper's five folds go under fold_0..fold_4 only when this run has five folds too; otherwise its fold
    # cells stay empty (they are not our folds) and only its AVER and std are comparable
    csv_rows += [["paper", setting, ARCH_NAMES[arch],
                  *([f"{v:.3f}" for v in vals[:5]] if k == 5 else [""] * k),
                  f"{vals[5]:.3f}", f"{np.std(vals[:5], ddof=1):.4f}"]
                 for setting in ("without", "with") for arch, vals in PAPER_TABLE_I[setting].items()]
    csv_path = write_table_csv(out / "table1.csv", ["source", "setting", "architecture",
                                                    *[f"fold_{i}" for i in range(k)], "aver", "std"], csv_rows,
                               profile.name)
    stats_path = write_table_csv(out / "stats.csv", ["arch", "comparison", "n", "mean_without", "mean_with", "diff",
                                                     "t", "p", "ci_low", "ci_high", "paper_without", "paper_with",
                                                     "paper_diff"], stats_rows, profile.name)

    # ---- markdown
    n_done = sum(1 for r in rows for v in r["folds"] if v is not None)
    n_total = len(rows) * k
    extra = []
    if n_done < n_total:
        extra.append(f"- **incomplete: {n_done} of {n_total} networks finished** (– = not yet trained)")
    if results:
        any_r = next(iter(results.values()))
        n_test = sorted({r.n_test for r in results.values()})
        extra.append(f"- test images per fold: {', '.join(map(str, n_test))}; classifier input "
                     f"{any_r.size} px")
        for setting in comparisons:
            n_syn = sorted({r.n_train for (a, s, i), r in results.items() if s == setting})
            if n_syn:
                extra.append(f"- synthetic (pseudo-labelled) training images per fold, "
                             f"{SETTING_NAMES[setting]}: {', '.join(map(str, n_syn))}")
    small = too_small(min((st["n"] for st in stats_rows), default=0),
                      min((r.n_train for r in results.values()), default=None),
                      min((r.n_test for r in results.values()), default=None))
    if small:
        extra.append(f"- **too small to mean anything: {'; '.join(small)}**")
    without = [v for (a, st, i), r in results.items() if st == "without" and (v := r.auc) is not None]
    if without and np.mean(without) < NEAR_CHANCE_AUC:
        weak = (f"the 'without' networks are near chance (mean AUC {np.mean(without):.3f} < {NEAR_CHANCE_AUC}): "
                "no baseline to improve on")
        extra.append(f"- **{weak}**")
        small = small + [weak]
    lines = _header("Mikołajczyk & Grochowski, Table I reproduced: AUC (MEL vs NV) per fold", profile, extra)
    folds_h = " | ".join(str(i) for i in range(k))
    lines += [f"| | Architecture | {folds_h} | AVER (mean ± std) | paper AVER |",
              "|---|---|" + "---|" * k + "---|---|"]
    for r in rows:
        paper = PAPER_TABLE_I.get(r["setting"], {}).get(r["arch"])
        aver = "–" if r["mean"] is None else f"{r['mean']:.3f}" + ("" if r["std"] is None else f" ± {r['std']:.3f}")
        lines.append(f"| {SETTING_NAMES[r['setting']]} | {ARCH_NAMES.get(r['arch'], r['arch'])} | "
                     + " | ".join(_f(v) for v in r["folds"]) + f" | {aver} | {_f(paper[5]) if paper else '–'} |")
    lines += ["", "Paired comparison per architecture (with − without, across folds): paired t-test and a "
              f"percentile bootstrap 95 % CI of the mean difference ({profile.bootstrap} resamples).", "",
              "| Synthetic images | Architecture | folds | without | with | difference | t | p | bootstrap 95 % CI "
              "| paper difference |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in stats_rows:
        lines.append(f"| {'NST' if s['comparison'] == 'with' else 'fast style'} | "
                     f"{ARCH_NAMES.get(s['arch'], s['arch'])} | {s['n']} | {_f(s['mean_without'])} | "
                     f"{_f(s['mean_with'])} | {_f(s['diff'], 4)} | {_f(s['t'], 2)} | {_f(s['p'], 3)} | "
                     f"[{_f(s['ci_low'], 4)}, {_f(s['ci_high'], 4)}] | {_f(s['paper_diff'], 3)} |")
    for setting in comparisons:
        both = [a for a in archs if by[(setting, a)]["mean"] is not None and by[("without", a)]["mean"] is not None]
        if not both:
            continue
        m_with = float(np.mean([by[(setting, a)]["mean"] for a in both]))
        m_without = float(np.mean([by[("without", a)]["mean"] for a in both]))
        over = "" if len(both) == len(archs) else f" (over {', '.join(ARCH_NAMES.get(a, a) for a in both)} only)"
        points = f"{(m_with - m_without) * 100:+.2f} AUC points"
        verdict = f"{points} — not meaningful ({'; '.join(small)})" if small else f"**{points}**"
        if setting == "with":
            lines += ["", f"Grand mean AUC{over}: with {m_with:.4f}, without {m_without:.4f}: difference {verdict}"
                      " (the paper, all four: +2.68, 0.8545 vs 0.8278)."]
        else:
            lines += ["", f"Our fast-style arm (not in the paper){over}: with {m_with:.4f}, without {m_without:.4f}: "
                      f"difference {verdict}."]
    lines += ["", "The paper's Table I (§V), for comparison:", "",
              "| | Architecture | 0 | 1 | 2 | 3 | 4 | AVER |", "|---|---|---|---|---|---|---|---|"]
    for setting in ("without", "with"):
        for arch, vals in PAPER_TABLE_I[setting].items():
            lines.append(f"| {SETTING_NAMES[setting]} | {ARCH_NAMES[arch]} | "
                         + " | ".join(f"{v:.3f}" for v in vals) + " |")
    for setting, by_fold in (pseudo or {}).items():
        lines += ["", f"Pseudo-labels of {SETTING_NAMES[setting]} (§IV.B; threshold = median MEL score so the classes "
                  f"are equal; labeller: {profile.labeller_arch}, its AUC on the fold's real test part beside):", "",
                  "| fold | synthetic images labelled | NV | MEL | threshold | dropped (group rule) | labeller AUC |",
                  "|---|---|---|---|---|---|---|"]
        for i in sorted(by_fold):
            p = by_fold[i]
            c = p.get("counts", {})
            lines.append(f"| {i} | {p.get('n', 0)} | {c.get('NV', 0)} | {c.get('MEL', 0)} | "
                         f"{_f(p.get('threshold'), 4)} | {p.get('dropped', '–')} | {_f(p.get('labeller_auc'))} |")
        aucs = [p["labeller_auc"] for p in by_fold.values() if p.get("labeller_auc") is not None]
        if aucs and setting == "with":
            lines += ["", f"Labeller AUC: mean {np.mean(aucs):.3f}, lowest fold {min(aucs):.3f}"
                      + (" — **below 0.75 on average: its pseudo-labels are close to noise, and 'with' says little "
                         "about the paper's claim**" if np.mean(aucs) < 0.75 else "") + "."]
    fig = plot_fig4(out / "fig4.png", rows, k, profile.name)
    lines += ["", f"![Fig. 4]({fig.name})", ""]
    md_path = write_markdown(out / "table1.md", lines)
    return {"markdown": md_path, "csv": csv_path, "stats": stats_path, "figure": fig}


def plot_fig4(path: Path, rows: Sequence[dict], k: int, profile: str = "") -> Path:
    """Fig. 4: AUC per fold, one colour per architecture, solid = with style transfer (ST), dashed = without,
    dotted = our fast-style arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = {}
    for r in rows:
        c = colours.setdefault(r["arch"], f"C{len(colours)}")
        ys = [np.nan if v is None else v for v in r["folds"]]
        style, name = {"with": ("o-", "with ST"), "without": ("s--", "without ST"),
                       "with_fast": ("^:", "with fast style")}[r["setting"]]
        ax.plot(range(k), ys, style, color=c, label=f"{ARCH_NAMES.get(r['arch'], r['arch'])} {name}")
    ax.set(xlabel="fold", ylabel="AUC", title="AUC per fold and architecture, with or without style transfer (ST)",
           xticks=range(k))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    mark_smoke(fig, profile)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------------------- Gauld
STYLE_ORDER = ("none", "light", "medium", "heavy", "fast")


def gauld_long_rows(results: Mapping[tuple[int, str, bool], "RunResult"], classes: Sequence[str],
                    order: Sequence[str] = STYLE_ORDER) -> list[dict]:
    """One row per (subset, style, static, class) with precision, recall, support (``style``: a Gauld strength
    or a Shinde method, sorted by ``order``)."""
    rows = []
    for (subset, style, static), r in sorted(results.items(), key=lambda kv: (
            kv[0][0], order.index(kv[0][1]) if kv[0][1] in order else 9, kv[0][2])):
        for c in classes:
            m = r.metrics["per_class"][c]
            rows.append({"subset": subset, "style": style, "static": static, "class": c,
                         "precision": m["precision"], "recall": m["recall"], "support": m["support"],
                         "accuracy": r.metrics["accuracy"], "n_train": r.n_train})
    return rows


def recall_trend(rows: Sequence[dict], strengths: Sequence[str], n_boot: int = 10000, seed: int = 0,
                 order: Sequence[str] = STYLE_ORDER, question: str = "Does recall rise with style strength?",
                 every: str = "every strength") -> tuple[str, dict]:
    """Gauld's planned reading — does recall rise with style strength? — answered by paired differences: for each
    static setting and strength, recall(strength) − recall(none) paired over (subset, class), with a paired t-test
    and a bootstrap 95 % CI (:func:`classify.stats.paired_stats`). Returns the sentence and
    ``{"without"|"with": {strength: stats}}``. ``order``/``question``/``every`` let Shinde's methods use it."""
    order = [s for s in order if s != "none" and s in strengths]
    out: dict[str, dict[str, dict]] = {}
    parts = []
    for static in (False, True):
        key = "with" if static else "without"
        base = {(r["subset"], r["class"]): r["recall"] for r in rows
                if r["style"] == "none" and r["static"] == static}
        out[key] = {}
        cells = []
        for strength in order:
            pairs = [(r["recall"], base[(r["subset"], r["class"])]) for r in rows
                     if r["style"] == strength and r["static"] == static and (r["subset"], r["class"]) in base]
            if not pairs:
                continue
            st = paired_stats([a for a, _ in pairs], [b for _, b in pairs], n_boot, seed)
            out[key][strength] = st
            ci = ("no CI" if math.isnan(st["ci_low"])
                  else f"95 % CI [{st['ci_low']:+.3f}, {st['ci_high']:+.3f}]")
            cells.append(f"{strength} {st['diff']:+.3f} ({ci}, n = {st['n']})")
        if cells:
            parts.append(f"{key} static augmentation: " + "; ".join(cells))
    if not parts:
        return "Not enough networks finished to read a trend.", out
    stats = [st for by in out.values() for st in by.values()]
    defined = [st for st in stats if not math.isnan(st["ci_low"])]
    if not defined:
        answer = "Cannot tell (too few paired values for a confidence interval)"
    elif all(st["ci_low"] > 0 for st in defined):
        answer = f"Yes: {every} raises recall beyond the paired noise"
    elif all(st["ci_low"] <= 0 <= st["ci_high"] for st in defined):
        answer = "No detectable change: every interval contains 0"
    elif any(st["ci_high"] < 0 for st in defined):
        answer = f"No: at least one {every.split()[-1]} lowers recall (its interval lies below 0)"
    else:
        answer = "Only partly: some raise recall beyond the noise, others do not"
    return (f"{question} **{answer}**. Recall − recall without style transfer, paired "
            "over subsets × classes: " + " | ".join(parts) + "."), out


def write_gauld(out: Path, profile, results: Mapping[tuple[int, str, bool], "RunResult"], classes: Sequence[str],
                n_expected: int, figures: Sequence[Path] = ()) -> dict[str, Path]:
    """``gauld_table.md``, ``gauld_table.csv`` (long form), ``gauld_precision_recall.png`` in ``out``; ``figures``
    are linked from the table like the precision/recall figure."""
    return write_precision_recall(
        out, profile, results, classes, n_expected, STYLE_ORDER, "gauld",
        "Gauld: per-class precision and recall of the 8 networks"
        + (" (+ 2 of our 'fast' arm)" if profile.fast_style else ""),
        ("style transfer", "style transfer"), trend_arms=profile.strengths,
        closing="Gauld reported no numbers to compare with (the paper gives the design and planned a qualitative "
                "reading: recall rising with style strength would support NST as augmentation).",
        figures=figures)


def write_precision_recall(out: Path, profile, results: Mapping[tuple[int, str, bool], "RunResult"],
                           classes: Sequence[str], n_expected: int, order: Sequence[str], stem: str, title: str,
                           column: tuple[str, str], closing: str, question: str = "Does recall rise with style "
                           "strength?", every: str = "every strength", figures: Sequence[Path] = (),
                           trend_arms: Sequence[str] | None = None) -> dict[str, Path]:
    """The per-class precision/recall report of the Caltech drivers (Gauld, Shinde): ``<stem>_table.md``,
    ``<stem>_table.csv`` (long form), ``<stem>_precision_recall.png``; ``results[(subset, arm, static)]``, arms
    in ``order`` (``none`` first: the paired differences are against it)."""
    out = Path(out)
    rows = gauld_long_rows(results, classes, order)
    csv_path = write_table_csv(out / f"{stem}_table.csv", ["subset", "style", "static", "class", "precision",
                                                           "recall", "support", "accuracy", "n_train"],
                               [{**r, "precision": f"{r['precision']:.4f}", "recall": f"{r['recall']:.4f}",
                                 "accuracy": f"{r['accuracy']:.4f}"} for r in rows], profile.name)
    extra = []
    if len(results) < n_expected:
        extra.append(f"- **incomplete: {len(results)} of {n_expected} networks finished**")
    if results:
        r0 = next(iter(results.values()))
        extra.append(f"- test images per subset: {sorted({r.n_test for r in results.values()})}; "
                     f"classifier: logistic regression (C={profile.l2_c}) on {r0.weights_source} at {r0.size} px")
    small = too_small(len({k[0] for k in results}) if results else 0,
                      min((r.n_train for r in results.values()), default=None),
                      min((r.n_test for r in results.values()), default=None), pairs_name="subset")
    if small:
        extra.append(f"- **too small to mean anything: {'; '.join(small)}**")
    lines = _header(title, profile, extra)
    head = " | ".join(f"{c} P | {c} R" for c in classes)
    lines += [f"| subset | {column[0]} | static aug. | train images | {head} | accuracy |",
              "|---|---|---|---|" + "---|---|" * len(classes) + "---|"]
    for (subset, style, static), r in sorted(results.items(), key=lambda kv: (
            kv[0][0], order.index(kv[0][1]), kv[0][2])):
        pc = r.metrics["per_class"]
        cells = " | ".join(f"{pc[c]['precision']:.3f} | {pc[c]['recall']:.3f}" for c in classes)
        lines.append(f"| {subset} | {style} | {'with' if static else 'without'} | {r.n_train} | {cells} | "
                     f"{r.metrics['accuracy']:.3f} |")
    # mean over subsets
    lines += ["", "Mean over subsets:", "", f"| {column[1]} | static aug. | {head} |",
              "|---|---|" + "---|---|" * len(classes)]
    for style in order:
        for static in (False, True):
            sel = [r for r in rows if r["style"] == style and r["static"] == static]
            if not sel:
                continue
            cells = " | ".join(
                f"{np.mean([r['precision'] for r in sel if r['class'] == c]):.3f} | "
                f"{np.mean([r['recall'] for r in sel if r['class'] == c]):.3f}" for c in classes)
            lines.append(f"| {style} | {'with' if static else 'without'} | {cells} |")
    arms = [a for a in order if a != "none" and any(r["style"] == a for r in rows)
            and (trend_arms is None or a in trend_arms)]
    sentence, _ = recall_trend(rows, arms, order=order, question=question, every=every)
    extra_arms = [a for a in order if a != "none" and a not in arms and any(r["style"] == a for r in rows)]
    if extra_arms:
        extra_sentence, _ = recall_trend(rows, extra_arms, order=order, question="And the extra arm?",
                                         every="the extra arm")
        sentence += " " + extra_sentence
    if small:
        sentence = f"Too small to mean anything ({'; '.join(small)}). " + sentence.replace("**", "")
    lines += ["", sentence, "", closing]
    fig = plot_gauld(out / f"{stem}_precision_recall.png", rows, classes, profile.name, order)
    lines += ["", f"![precision and recall]({fig.name})", ""]
    lines += [f"![{Path(f).stem}]({Path(f).name})" for f in figures]
    md_path = write_markdown(out / f"{stem}_table.md", lines)
    return {"markdown": md_path, "csv": csv_path, "figure": fig}


def plot_gauld(path: Path, rows: Sequence[dict], classes: Sequence[str], profile: str = "",
               order: Sequence[str] = STYLE_ORDER) -> Path:
    """Precision (top) and recall (bottom) per class vs style strength (or Shinde method, in ``order``); dots =
    subsets, line = their mean; solid = without, dashed = with static augmentation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = [s for s in order if any(r["style"] == s for r in rows)]
    fig, axes = plt.subplots(2, len(classes), figsize=(3.6 * len(classes), 6), sharey=True, squeeze=False)
    for j, c in enumerate(classes):
        for i, metric in enumerate(("precision", "recall")):
            ax = axes[i][j]
            for static, ls in ((False, "-"), (True, "--")):
                xs, ms = [], []
                for x, s in enumerate(styles):
                    vals = [r[metric] for r in rows if r["class"] == c and r["style"] == s and r["static"] == static]
                    if vals:
                        ax.scatter([x + (0.08 if static else -0.08)] * len(vals), vals, s=12,
                                   color="C1" if static else "C0", alpha=0.6)
                        xs.append(x)
                        ms.append(np.mean(vals))
                if xs:
                    ax.plot(xs, ms, ls, color="C1" if static else "C0",
                            label="with static aug." if static else "without static aug.")
            ax.set_xticks(range(len(styles)), styles)
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"{c}: {metric}")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    mark_smoke(fig, profile)
    return save_figure(fig, path)
