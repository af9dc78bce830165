"""Images per second: the fast arbitrary-style network (``--method fast``) vs the faithful NST engine.

A script, not a test (pytest does not collect it)::

    python tests/benchmarks/bench_fast_style.py [--data ../shared/data/isic_uda1] [--size 224] [--n-fast 24]

Both stylise ISIC nevi with melanoma styles at ``size`` px in the same run (the embedded 10-image sample when
``--data`` is absent):

- faithful: :class:`nst_aug.transfer.StyleTransfer` at the README's default generation settings — the
  ``mikolajczyk2019`` preset with 60 L-BFGS evaluations (3 rounds of 20) — on one batch of ``--batch`` pairs
  (the README demo's 4), engine and weights built before the clock starts, the first (tracing) batch timed too
  because a real run pays it once per batch shape;
- fast: :class:`nst_aug.fast.FastStylizer` (Ghiasi et al. 2017 through onnxruntime), one style embedding per
  style image (as ``--method fast`` caches them), then ``--n-fast`` content images one after another (the ONNX
  graphs take one image; onnxruntime already uses every core inside each call), after one warm-up image.

Prints images/s for each and their ratio on a line with the word ``ratio``, against the issue's targets
(fast ≥ 100× the faithful engine and ≥ 2.9 images/s, i.e. Mikołajczyk's 248,489 images in under 24 h).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _pairs(data: Path | None, n: int, size: int):
    """``n`` (NV content, MEL style) square arrays at ``size``; both methods get the same arrays."""
    import numpy as np

    from classify.data import read_isic_csv
    from classify.images import load_square
    from classify.samples import ISIC_SAMPLE_CSV

    csv = (data / "ISIC_2019_Training_GroundTruth.csv") if data and data.is_dir() else None
    real, _ = read_isic_csv(csv if csv and csv.is_file() else ISIC_SAMPLE_CSV, classes=("NV", "MEL"))
    nv = [s for s in real if s.label == "NV"]
    mel = [s for s in real if s.label == "MEL"]
    contents = np.stack([load_square(nv[i % len(nv)].path, size) for i in range(n)])
    styles = np.stack([load_square(mel[i % len(mel)].path, size) for i in range(n)])
    return contents, styles, ("" if csv and csv.is_file() else "embedded sample")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "isic_uda1"),
                   help="an ISIC-layout folder (CSV + images/); the embedded sample when absent")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=4, help="pairs in the faithful engine's batch (README demo: 4)")
    p.add_argument("--steps", type=int, default=60, help="faithful L-BFGS evaluations (README default: 60)")
    p.add_argument("--n-fast", type=int, default=24, help="images timed through the fast network")
    args = p.parse_args(argv)

    from nst_aug.fast import FastStylizer
    from nst_aug.presets import get_preset
    from nst_aug.transfer import StyleTransfer

    contents, styles, note = _pairs(Path(args.data), max(args.batch, args.n_fast + 1), args.size)
    print(f"data: {args.data if not note else note}; {args.size} px")

    engine = StyleTransfer(get_preset("mikolajczyk2019", size=args.size, steps=args.steps))
    t0 = time.perf_counter()
    engine.transfer(contents[:args.batch], styles[:args.batch])
    faithful = args.batch / (time.perf_counter() - t0)
    print(f"faithful engine ({engine.weights_source}; mikolajczyk2019, {args.steps} L-BFGS evaluations, batch "
          f"{args.batch}): {faithful:.4f} images/s ({1 / faithful:.1f} s per image)")

    fast_net = FastStylizer()
    t0 = time.perf_counter()
    embeddings = [fast_net.embed(styles[i]) for i in range(args.n_fast + 1)]  # one per style image
    embed_s = (time.perf_counter() - t0) / (args.n_fast + 1)
    fast_net.stylize(contents[0], embeddings[0])  # warm-up
    t0 = time.perf_counter()
    for i in range(1, args.n_fast + 1):
        fast_net.stylize(contents[i], embeddings[i])
    fast = args.n_fast / (time.perf_counter() - t0)
    print(f"fast network ({fast_net.provenance.split(':')[0]}): {fast:.2f} images/s "
          f"({1 / fast:.3f} s per image; + {embed_s:.3f} s per style embedding, computed once per style)")
    ratio = fast / faithful
    print(f"ratio fast/faithful images/s: {ratio:.0f}x (target >= 100x: {'met' if ratio >= 100 else 'NOT met'}); "
          f"fast {fast:.2f} images/s (target >= 2.9: {'met' if fast >= 2.9 else 'NOT met'}; "
          f"248,489 images in {248_489 / fast / 3600:.1f} h)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
