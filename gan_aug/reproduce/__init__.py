"""GAN paper reproductions: ``python -m gan_aug.reproduce {thesis-acgan,thesis-prf,cho} --profile {smoke,cpu,paper}``.

- :mod:`.thesis`: Fossen-Romsaas & Storm-Johannessen — §6 (ACGAN → CycleGAN per class, Table 6.2) and §7
  (Path-Rank-Filter → CycleGAN NV→MEL, Table 7.2), with the fastai v1 classifier
  (:func:`classify.experiment.fastai_spec`).
- :mod:`.cho`: Cho §III (DCGAN per class, images that fool the discriminator added, Table I).
- :mod:`.profiles`: the profiles as data, each listing where it departs from its paper.
- :mod:`.common`: data, GAN stages, generated images as samples, GAN quality (:mod:`gan_aug.quality`).

Shared with ``nst_aug.reproduce``: :mod:`classify.drivers` (command line, ``--set``, work counter). Every stage is
cached in the output folder: re-running the same command continues where it stopped.
"""
