"""Images per second: the fast arbitrary-style network (``--method fast``) vs the faithful NST engine.

A script, not a test (pytest does not collect it)::

    python tests/benchmarks/bench_fast_style.py [--data ../shared/data/isic_uda1] [--size 224] [--n-fast 24]

Both stylise ISIC nevi with melanoma styles at ``size`` px in the same run (the embedded 10-image sample when
``--data`` is absent):

- faithful: :class:`nst_aug.transfer.StyleTransfer` at the README's default generation settings — the
  ``mikolajczyk2019`` preset with 60 L-BFGS evaluations (3 rounds of 20) — on one batch of ``--batch`` pairs
  (the README demo's 4), engine and weights built before the clock starts, the first (tracing) batch timed too
  because a real run pays it once per batch shape;
- fast: :class:`nst_aug.fast.FastStylizer` (Ghiasi et al. 2017, the ONNX graphs run as TensorFlow ops), one
  style embedding per style image (as ``--method fast`` caches them), then ``--n-fast`` content images in
  batches of ``--fast-batch`` (``nst_aug.generate --method fast --batch-size``), after one warm-up batch; the
  transformer at its default 384 px long side and, second, at the content's own size (``content_size=None``);
- for comparison, when ``onnxruntime`` is installed, the same ONNX files through onnxruntime, one image at a
  time (their graphs fix the batch at 1 and the content at 384 px; onnxruntime uses every core inside a call).

Prints images/s for each and the ratio fast/faithful on a line with the word ``ratio``, against the issue's
targets (fast ≥ 100× the faithful engine and ≥ 2.9 images/s, i.e. Mikołajczyk's 248,489 images in under 24 h).
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
    p.add_argument("--fast-batch", type=int, default=8, help="content images per call of the fast network")
    args = p.parse_args(argv)

    from nst_aug.fast import FastStylizer
    from nst_aug.presets import get_preset
    from nst_aug.transfer import StyleTransfer

    import numpy as np

    contents, styles, note = _pairs(Path(args.data), max(args.batch, args.n_fast + args.fast_batch), args.size)
    print(f"data: {args.data if not note else note}; {args.size} px")

    engine = StyleTransfer(get_preset("mikolajczyk2019", size=args.size, steps=args.steps))
    t0 = time.perf_counter()
    engine.transfer(contents[:args.batch], styles[:args.batch])
    faithful = args.batch / (time.perf_counter() - t0)
    print(f"faithful engine ({engine.weights_source}; mikolajczyk2019, {args.steps} L-BFGS evaluations, batch "
          f"{args.batch}): {faithful:.4f} images/s ({1 / faithful:.1f} s per image)")

    def rate(net) -> float:
        """Images/s of ``net`` over ``--n-fast`` contents in batches of ``--fast-batch`` (after a warm-up batch)."""
        b = args.fast_batch
        net.stylize(contents[:b], embeddings[:b])
        t0 = time.perf_counter()
        for start in range(0, args.n_fast, b):
            net.stylize(contents[start:start + b], embeddings[start:start + b])
        return args.n_fast / (time.perf_counter() - t0)

    fast_net = FastStylizer()
    fast_net.embed(styles[:2])  # warm-up (tracing)
    t0 = time.perf_counter()
    embeddings = fast_net.embed(styles[:args.n_fast + args.fast_batch])  # one per style image
    embed_s = (time.perf_counter() - t0) / len(embeddings)
    fast = rate(fast_net)
    print(f"fast network, TensorFlow, 384 px transformer ({fast_net.provenance.split(':')[0]}): {fast:.2f} "
          f"images/s ({1 / fast:.3f} s per image, batches of {args.fast_batch}; + {embed_s:.3f} s per style "
          f"embedding, computed once per style)")
    native = rate(FastStylizer(content_size=None))
    print(f"fast network, TensorFlow, transformer at the content's own {args.size} px: {native:.2f} images/s "
          f"({1 / native:.3f} s per image)")
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: its comparison skipped")
    else:
        from nst_aug.fast import CONTENT_SIZE
        from PIL import Image

        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(str(fast_net.files["transform"]), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]

        def one(content, e):  # the package's way: resize to 384 square, run, resize back
            x = np.asarray(Image.fromarray(content).resize((CONTENT_SIZE, CONTENT_SIZE), Image.LANCZOS), np.float32)
            y = session.run(None, {names[0]: x[None] / 255.0, names[1]: e.reshape(1, 1, 1, 100)})[0][0]
            return np.asarray(Image.fromarray((np.clip(y, 0, 1) * 255).astype(np.uint8)).resize(content.shape[1::-1]))

        one(contents[0], embeddings[0])
        t0 = time.perf_counter()
        for i in range(args.n_fast):
            one(contents[i], embeddings[i])
        onnx_rate = args.n_fast / (time.perf_counter() - t0)
        print(f"fast network, onnxruntime {ort.__version__}, one image at a time at 384 px: {onnx_rate:.2f} images/s "
              f"(TensorFlow batched / onnxruntime: {fast / onnx_rate:.2f}x)")
    ratio = fast / faithful
    print(f"ratio fast/faithful images/s: {ratio:.0f}x (target >= 100x: {'met' if ratio >= 100 else 'NOT met'}); "
          f"fast {fast:.2f} images/s (target >= 2.9: {'met' if fast >= 2.9 else 'NOT met'}; "
          f"248,489 images in {248_489 / fast / 3600:.1f} h)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
