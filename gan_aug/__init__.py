"""gan_aug: DCGAN, ACGAN and CycleGAN for data augmentation, and the thesis's Path-Rank-Filter (Keras 3).

- :mod:`gan_aug.options`   every default with its source;  :mod:`gan_aug.kinds`  the registry of GAN kinds
- :mod:`gan_aug.training`  ``train(kind, options, out, data)``;  :mod:`gan_aug.data`  ``DataSpec``, ``load_data``, pipelines
- ``python -m gan_aug.train`` / ``gan_aug.generate`` / ``gan_aug.path_rank_filter``: the command lines

Submodules are imported on use so that ``import gan_aug`` stays cheap.
"""
from classify import __version__  # noqa: F401  (one version for the whole distribution)
