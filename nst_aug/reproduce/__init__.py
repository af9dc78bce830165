"""Paper reproduction drivers: ``python -m nst_aug.reproduce {mikolajczyk,gauld} --profile {smoke,cpu,paper}``.

- :mod:`.mikolajczyk`: Mikołajczyk & Grochowski 2018 (NST synthesis, pseudo-labels, 5-fold CV, Table I, Fig. 4).
- :mod:`.gauld`: Gauld 2020 (Caltech-101 crab/butterfly/scorpion, light/medium/heavy Kandinsky NST, 8 networks).
- :mod:`.profiles`: the ``smoke``/``cpu``/``paper`` profiles as data, each listing where it departs from its paper.
- :mod:`.tables`: Table I, paired statistics, Gauld's precision/recall table, figures.
- :mod:`classify.drivers` (shared with ``gan_aug.reproduce``): the command line, ``--set`` overrides, the work
  counter, finding the data.

Every stage is cached in the output folder: re-running the same command skips finished generation and training.
"""
