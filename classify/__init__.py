"""classify: the base of the toolkit — data, leakage-safe splits, augmentation, the papers' classifiers,
training and evaluation (:mod:`classify.experiment`), scoring with a saved model (:mod:`classify.scoring`),
atomic files, tables and statistics. ``nst_aug`` and ``gan_aug`` build on it; it imports neither.

Submodules are imported on use so that ``import classify`` stays cheap.
"""
#: The version of the toolkit (the ``nst-aug`` distribution: ``classify``, ``nst_aug`` and ``gan_aug``).
__version__ = "0.2.0"
