"""Input throughput: ``classify.pipeline`` + Mikołajczyk's augmentation vs the legacy ImageDataGenerator.

A script, not a test (pytest does not collect it)::

    python tests/benchmarks/bench_input.py [--data ../shared/data/isic_uda1] [--size 224] [--batch 32] [--epochs 2]

Both read the same JPEG folder in the same run, resize to ``size × size`` (squash, bilinear) and apply the same
augmentation settings (:data:`classify.augment.MIKOLAJCZYK_AUGMENT`: rotation 40°, zoom 0.2, shear 11.46°,
horizontal and vertical flips, fill 'nearest'):

- baseline: ``tf.keras.preprocessing.image.ImageDataGenerator`` (TF 2.21 / Keras 3 still ship it as
  ``keras.src.legacy.preprocessing.image.ImageDataGenerator``) with ``flow_from_dataframe`` — decodes with PIL and
  transforms each image with scipy, one image at a time — timed twice: (i) through ``next()`` in the Python
  thread, and (ii) as ``fit`` consumes it: its iterator is a Keras ``PyDataset``, given as many ``workers`` as
  the machine has cores (threads, queue 10) and read through Keras's own ``PyDatasetAdapter.get_tf_dataset()``
  (what ``model.fit`` builds from a ``PyDataset`` on the TensorFlow backend). (ii) is the fair baseline; the
  target is ours ≥ 3× against it;
- ours: ``classify.pipeline.make_dataset`` (parallel tf.io decode, in-graph resize, batched Keras augmentation
  layers, prefetch), first *without* a cache (decodes every epoch, like the baseline: the fair comparison), then
  with the in-memory cache (epochs after the first: what training sees).

Prints images/s for each and the ratios. Every image is consumed once per epoch; the first batch of each
pipeline (tracing, thread start-up) is excluded from the timing.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _time_batches(iterator, n_batches: int) -> tuple[int, float]:
    """Consume one warm-up batch, then ``n_batches``; return (images, seconds) of the timed part."""
    next(iterator)
    images, t0 = 0, time.perf_counter()
    for _ in range(n_batches):
        x = next(iterator)[0]
        images += int(x.shape[0])
    return images, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "isic_uda1"),
                   help="an ISIC-layout folder (CSV + images/) or a class-folder tree")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the data timed per pipeline")
    args = p.parse_args(argv)

    import pandas as pd
    import tensorflow as tf

    from classify.augment import MIKOLAJCZYK_AUGMENT as A, affine_augmentation
    from classify.data import read_class_folders, read_isic_csv
    from classify.pipeline import make_dataset

    data = Path(args.data)
    if (data / "ISIC_2019_Training_GroundTruth.csv").is_file():
        samples, _ = read_isic_csv(data / "ISIC_2019_Training_GroundTruth.csv")
    elif data.is_dir():
        samples, _ = read_class_folders(data)
    else:
        from classify.samples import ISIC_SAMPLE_CSV
        print(f"{data} not found: using the embedded 10-image sample")
        samples, _ = read_isic_csv(ISIC_SAMPLE_CSV)
    classes = sorted({s.label for s in samples})
    n_batches = max(2, int(math.ceil(len(samples) * args.epochs / args.batch)))
    print(f"{len(samples)} images from {data}, {args.size}x{args.size}, batch {args.batch}, "
          f"{n_batches} timed batches per pipeline, {os.cpu_count()} CPUs")

    # ---- baseline: the legacy ImageDataGenerator, same settings ----
    IDG = tf.keras.preprocessing.image.ImageDataGenerator
    gen = IDG(rotation_range=A.rotation_range, zoom_range=A.zoom_range, shear_range=A.shear_range,
              horizontal_flip=A.horizontal_flip, vertical_flip=A.vertical_flip, fill_mode=A.fill_mode)
    frame = pd.DataFrame({"filename": [s.path for s in samples], "class": [s.label for s in samples]})
    flow = gen.flow_from_dataframe(frame, x_col="filename", y_col="class", target_size=(args.size, args.size),
                                   batch_size=args.batch, class_mode="sparse", interpolation="bilinear", seed=0)

    def idg_iter():
        while True:
            yield next(flow)

    n_idg, t_idg = _time_batches(idg_iter(), n_batches)
    rate_next = n_idg / t_idg
    print(f"baseline  {IDG.__module__}.ImageDataGenerator, next(): {rate_next:8.1f} images/s "
          f"({n_idg} in {t_idg:.1f} s)")

    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    workers = os.cpu_count() or 1
    parallel = gen.flow_from_dataframe(frame, x_col="filename", y_col="class", target_size=(args.size, args.size),
                                       batch_size=args.batch, class_mode="sparse", interpolation="bilinear", seed=0)
    parallel._workers, parallel._use_multiprocessing, parallel._max_queue_size = workers, False, 10
    fed = iter(PyDatasetAdapter(parallel, shuffle=False).get_tf_dataset().repeat())
    n_par, t_par = _time_batches(fed, n_batches)
    rate_idg = n_par / t_par
    print(f"baseline  ImageDataGenerator as fit feeds it ({workers} PyDataset workers): {rate_idg:8.1f} images/s "
          f"({n_par} in {t_par:.1f} s)")

    # ---- ours ----
    augment = affine_augmentation(A, seed=0)
    rates = {}
    for label, cache in (("classify.pipeline, no cache (decode every epoch)", False),
                         ("classify.pipeline, in-memory cache (epochs >= 2)", True)):
        ds = make_dataset(samples, classes, args.size, args.batch, "bilinear", fit="squash", shuffle=True,
                          cache=cache, augment=augment, repeat=True)
        it = iter(ds)
        if cache:  # fill the cache first: one full pass
            for _ in range(int(math.ceil(len(samples) / args.batch)) + 1):
                next(it)
        n, t = _time_batches(it, n_batches)
        rates[label] = n / t
        print(f"ours      {label}: {n / t:8.1f} images/s ({n} in {t:.1f} s)")
    for label, rate in rates.items():
        print(f"ratio     {label} / ImageDataGenerator with {workers} workers: {rate / rate_idg:.2f}x "
              f"(/ next(): {rate / rate_next:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
