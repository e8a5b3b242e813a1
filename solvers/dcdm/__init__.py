"""Deep Conjugate Direction Method (Kaneda et al., ICML 2023, arXiv 2205.10763) for Poisson.

A CNN approximates A^-1 r and supplies the search directions of a flexible conjugate-direction
iteration (``solver.py``); ``model.py`` is the network, ``ritz_data.py`` the Lanczos/Ritz
training right-hand sides, ``chebyshev.py`` the optional smoother paired with the net, ``train.py``
the unsupervised training, ``plugin.py`` the ``poisson_dcdm`` / ``dcdm_train`` kinds and the
``train-dcdm`` command.
"""

VALIDATION_RHS = 64      # held-out right-hand sides of the training's convergence check (train.py)
