"""Training hyperparameters of the PINN (the ``[pinn]`` table of a case file); torch-free so that
reading a case or the schema never imports torch."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PINNConfig:
    """Hyperparameters (the ``[pinn]`` table of a case file)."""

    networks: str = "per_region"       # "per_region" | "single"
    parity: str = "auto"               # "auto" (when V is symmetric) | "on" | "off"
    width: int = 24
    depth: int = 2
    activation: str = "tanh"           # "tanh" | "sin"
    collocation: int = 96              # residual points per region, resampled every epoch
    quadrature: int = 64               # Gauss-Legendre points per region (R, norm, orthogonality)
    ritz_epochs: int = 1000
    adam_epochs: int = 300
    lr_ritz: float = 1e-2              # network learning rate, Ritz phase (Adam)
    lr: float = 1e-3                   # network learning rate, PINN phase (Adam)
    lr_energy: float = 1e-3            # learning rate of E / S, PINN phase (Adam)
    lr_decay: float = 0.1              # each Adam phase decays its rates exponentially by this factor
    lbfgs_rounds: int = 2              # L-BFGS rounds on Gauss-Legendre points, a new rule each round
    lbfgs_iters: int = 150
    w_norm: float = 1.0
    w_orth: float = 10.0
    w_ritz: float = 0.1                # Rayleigh-quotient term kept in the PINN loss (0: pure PINN)
    seed: int = 0
    tails: str = "auto"                # "auto": exponential factor in the outer regions with V > min V | "off"
    tail_kappa: str = "depth"          # tails' initial κ: 0.7 √((V - min V)/c) "depth" | 0.7 √((V - E_{n-1})/c) "previous"
    ritz_polish: int = 150             # L-BFGS iterations on the Ritz loss per polish round (0: none)
    polish_rounds: int = 3             # polish rounds, each after an output-layer Rayleigh–Ritz solve
    energy: str = "rayleigh"           # reported E: "rayleigh" (quotient of the final ψ) | "trained"
    energy_quadrature: int = 200       # Gauss-Legendre points per V-region for the final quotient
    rayleigh_ritz: bool = True         # finally solve for the output layers (Rayleigh–Ritz, orthogonal projection)
