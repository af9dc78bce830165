"""Paper reproduction drivers: ``python -m nst_aug.reproduce {mikolajczyk,gauld} --profile {smoke,cpu,paper}``.

- :mod:`.mikolajczyk`: Mikołajczyk & Grochowski 2018 (NST synthesis, pseudo-labels, 5-fold CV, Table I, Fig. 4).
- :mod:`.gauld`: Gauld 2020 (Caltech-101 crab/butterfly/scorpion, light/medium/heavy Kandinsky NST, 8 networks).
- :mod:`.profiles`: the ``smoke``/``cpu``/``paper`` profiles as data, each listing where it departs from its paper.
- :mod:`.tables`: Table I, paired statistics, Gauld's precision/recall table, figures.
- :mod:`.common`: cached stages (``done.json``), in-process generation, training one network.

Every stage is cached in the output folder: re-running the same command skips finished generation and training.
"""
