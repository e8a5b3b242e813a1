"""Unsupervised DCDM training (Kaneda et al., arXiv 2205.10763, Eq. 6).

For unit right-hand sides b (``ritz_data``) and the direction q = M(b) of the preconditioner
M (the net alone, or the net sandwiched between Chebyshev smoothing, see ``composite``), either the
paper's scale-invariant residual after an exact line search (``loss = "residual"``)

    L(b) = || b - A q (q^T b) / (q^T A q) ||^2,

or (``loss = "energy"``, the default: it trains faster here, docs/dcdm.md) the fraction of the
A-norm error of x = 0 left after that line search, 1 - (q^T b)^2 / ((q^T A q)(b^T A^-1 b)),
averaged over a batch. Adam, checkpoint every ``checkpoint_every`` steps (resumable), stop at
``max_steps`` or ``max_minutes``.

Convergence (what DCDM needs from M: a direction whose line search removes most of the A-norm error,
i.e. q ~ A^-1 b): on ``VALIDATION_RHS`` held-out right-hand sides (the same Ritz distribution, a
separate random stream) the mean energy fraction above, with b^T A^-1 b computed exactly
(``a_norm_energy``), measured after training, must be at most
``target`` and at most ``REDUCTION`` times the untrained net's. Otherwise ``NotConverged`` (exit 3)
and no model is written, unless ``require_convergence`` is false (the card then says
``converged: false``). Writes ``<path>.pt`` (weights + card) and ``<path>.json`` (the card: grid,
architecture, smoother, data seed, loss curve, validation, training time).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from ..io import torch_files
from ..io.progress import Progress
from ..parallel import UserError
from . import VALIDATION_RHS
from .chebyshev import smooth_torch
from .model import Architecture, DCDMNet, flops, parameter_count
from .ritz_data import RitzSampler
from .stencil import Laplacian

FORMAT = "dcdm-model-1"
MAX_CHANNELS = 1024                  # a card asking for more is not one of ours (memory guard)
REDUCTION = 0.5                      # a converged net leaves at most this fraction of the untrained net's error
VALIDATION_SEED = 2**32              # + data.seed: never one of the training streams (seed + 1 <= 2^31)


class LossNotFinite(UserError):
    """The training loss became NaN or inf: nothing is written as a model; exit code 3."""

    exit_code = 3


class NotConverged(UserError):
    """The trained net missed its convergence target (``train``): nothing is written as a model; exit code 3."""

    exit_code = 3


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).flatten(1).sum(1).view(-1, *([1] * (a.dim() - 1)))


def composite(net: DCDMNet, lap: Laplacian, b: torch.Tensor, degree: int) -> torch.Tensor:
    """The direction M(b). degree 0: q = net(b) (b unit norm). degree > 0: two-level sandwich
    y = S b;  s = b - A y;  n = net(s/||s||);  y += (n^T s)/(n^T A n) n;  q = y + S(b - A y),
    S = Chebyshev smoothing of the given degree (``chebyshev``)."""
    if degree == 0:
        return net(b) * lap.mask
    y = smooth_torch(lap, lap.diag, b, degree)
    s = b - lap(y)
    n = net(s / _dot(s, s).sqrt()) * lap.mask
    an = lap(n)
    y = y + _dot(n, s) / _dot(n, an) * n
    return y + smooth_torch(lap, lap.diag, b - lap(y), degree)


def dcdm_loss(lap: Laplacian, b: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of || b - A q (q^T b)/(q^T A q) ||^2 (the paper's loss)."""
    aq = lap(q)
    r = b - aq * _dot(q, b) / _dot(q, aq)
    return _dot(r, r).mean()


def energy_loss(lap: Laplacian, b: torch.Tensor, q: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of 1 - (q^T b)^2 / ((q^T A q)(b^T A^-1 b)): the fraction of the A-norm
    error of x = 0 that remains after the exact line search along q (0 for q ~ A^-1 b)."""
    qb = _dot(q, b).flatten()
    return (1.0 - qb * qb / (_dot(q, lap(q)).flatten() * energy)).mean()


def a_norm_energy(shape: Sequence[int], h: Sequence[float], b: torch.Tensor, rtol: float = 1e-8) -> torch.Tensor:
    """b^T A^-1 b of every right-hand side of the batch ``b`` (A = h_0^2 A_II), by batched CG in
    float64 to ``rtol`` (the Ritz estimate the training uses is a lower bound that a net can exploit
    when the Ritz vectors are few)."""
    lap = Laplacian(shape, h, dtype=torch.float64)
    b = b.double()
    x, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), _dot(r, r)
    bb = rr.clone()
    for _ in range(50 * max(shape) + 100):
        ap = lap(p)
        alpha = rr / _dot(p, ap)
        x, r = x + alpha * p, r - alpha * ap
        rr_new = _dot(r, r)
        if bool((rr_new <= rtol ** 2 * bb).all()):
            break
        p, rr = r + rr_new / rr * p, rr_new
    return _dot(b, x).flatten().float()


def validation_fraction(net: DCDMNet, lap: Laplacian, b: torch.Tensor, energy: torch.Tensor, degree: int,
                        chunk: int) -> float:
    """Mean ``energy_loss`` of the direction map M over the right-hand sides ``b`` (chunks of
    ``chunk``, no gradients): the fraction of the A-norm error of x = 0 left after the line search."""
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(b), chunk):
            bi, ei = b[i:i + chunk], energy[i:i + chunk]
            total += energy_loss(lap, bi, composite(net, lap, bi, degree), ei).item() * len(bi)
    return total / len(b)


@dataclass
class TrainConfig:
    shape: tuple[int, ...]
    extent: list
    arch: Architecture
    smoother_degree: int = 4
    loss: str = "energy"
    lanczos_steps: int = 400
    spectrum_decay: float = 0.0
    seed: int = 0
    batch: int = 8
    lr: float = 1e-3
    max_steps: int = 4000
    max_minutes: float = 15.0
    threads: int = 2
    checkpoint_every: int = 100
    target: float = 0.1
    require_convergence: bool = True

    @property
    def h(self) -> tuple[float, ...]:
        return tuple((hi - lo) / (n - 1) for (lo, hi), n in zip(self.extent, self.shape))


def _card(cfg: TrainConfig, net: DCDMNet, losses: list, seconds: float, steps: int,
          validation: dict | None = None) -> dict:
    stride = max(1, len(losses) // 200)
    return {
        "format": FORMAT,
        "grid": {"shape": list(cfg.shape), "extent": [list(e) for e in cfg.extent], "h": list(cfg.h)},
        "architecture": cfg.arch.asdict(),
        "parameters": parameter_count(net),
        "flops_per_apply": flops(cfg.arch, cfg.shape),
        "smoother": {"type": "chebyshev" if cfg.smoother_degree else "none", "degree": cfg.smoother_degree},
        "loss": cfg.loss,
        "data": {"source": "lanczos ritz vectors", "lanczos_steps": cfg.lanczos_steps,
                 "spectrum_decay": cfg.spectrum_decay, "seed": cfg.seed},
        "training": {"batch": cfg.batch, "lr": cfg.lr, "steps": steps, "seconds": round(seconds, 1),
                     "threads": cfg.threads, "torch": str(torch.__version__)},
        "loss_curve": {"step": list(range(0, len(losses), stride)),
                       "loss": [round(float(x), 6) for x in losses[::stride]]},
        "final_loss": float(sum(losses[-50:]) / max(1, len(losses[-50:]))),
        "validation": validation or {},
    }


def train(cfg: TrainConfig, out: str | Path, quiet: bool = False, resume: bool = True,
          log=print) -> dict:
    """Train a DCDM net for ``cfg`` and write ``out`` (.pt) and its card (.json). Returns the card.

    Serial (torch on ``cfg.threads`` threads); a checkpoint ``<out>.ckpt`` is written every
    ``checkpoint_every`` steps and resumed from when ``resume`` is true. A net that misses the
    convergence target (module docstring) raises ``NotConverged`` with the measured and required
    figures, writes no model and keeps a checkpoint of its last step, unless
    ``cfg.require_convergence`` is false.
    """
    out = Path(out).with_suffix(".pt")
    ckpt = out.with_suffix(".ckpt")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    lap = Laplacian(cfg.shape, cfg.h)
    t0 = time.perf_counter()
    sampler = RitzSampler(cfg.shape, cfg.h, cfg.lanczos_steps, cfg.spectrum_decay, cfg.seed)
    log(f"lanczos: {len(sampler.theta)} Ritz vectors, theta in [{sampler.theta[0]:.3e}, "
        f"{sampler.theta[-1]:.3e}] ({time.perf_counter() - t0:.1f} s)")
    net = DCDMNet(cfg.arch)
    b_val, _ = sampler.sample(VALIDATION_RHS, torch.Generator().manual_seed(VALIDATION_SEED + cfg.seed))
    held_out = (b_val, a_norm_energy(cfg.shape, cfg.h, b_val))
    untrained = validation_fraction(net, lap, *held_out, cfg.smoother_degree, cfg.batch)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.max_steps, eta_min=cfg.lr / 20)
    losses: list[float] = []
    step, spent = 0, 0.0
    signature = _card(cfg, net, [], 0.0, 0)
    signature = {k: signature[k] for k in ("grid", "architecture", "smoother", "loss", "data")}
    if resume and ckpt.is_file():
        try:
            state = torch_files.load(ckpt)
        except Exception as exc:  # noqa: BLE001 - whatever a foreign file makes torch raise
            raise ValueError(f"{ckpt} is not a training checkpoint ({torch_files.why_not_loaded(exc)}); delete it or train "
                             "with --restart") from None
        if state.get("signature") != signature:
            raise ValueError(f"checkpoint {ckpt} was written for another configuration; delete it or "
                             "train with --restart")
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        sampler.gen.set_state(state["gen"])
        losses, step, spent = state["losses"], state["step"], state["seconds"]
        if sched.T_max != cfg.max_steps:                # training.max_steps changed: anneal over the new length
            sched.T_max = cfg.max_steps
            for g in opt.param_groups:                  # the closed form at `step`, from which the recursion continues
                g["lr"] = sched.eta_min + (cfg.lr - sched.eta_min) * (1 + math.cos(math.pi * step / cfg.max_steps)) / 2
        log(f"resumed from {ckpt} at step {step}")
    def checkpoint() -> None:
        torch_files.save(ckpt, {"signature": signature, "net": net.state_dict(), "opt": opt.state_dict(),
                                "sched": sched.state_dict(), "gen": sampler.gen.get_state(), "losses": losses,
                                "step": step, "seconds": time.perf_counter() - start})

    bar = Progress(cfg.max_steps, "train-dcdm", quiet=quiet, initial=step, unit="step")
    start = time.perf_counter() - spent
    while step < cfg.max_steps and time.perf_counter() - start < 60 * cfg.max_minutes:
        b, energy = sampler.sample(cfg.batch)
        q = composite(net, lap, b, cfg.smoother_degree)
        loss = dcdm_loss(lap, b, q) if cfg.loss == "residual" else energy_loss(lap, b, q, energy)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if not math.isfinite(loss.item()):
            raise LossNotFinite(f"training loss became {loss.item()} at step {step + 1} (lr {cfg.lr:g}, batch "
                                f"{cfg.batch}); nothing written{f' (checkpoint {ckpt} kept)' if ckpt.is_file() else ''}; "
                                "lower training.lr or change the configuration")
        losses.append(loss.item())
        step += 1
        bar.update(1)
        bar.postfix(loss=f"{losses[-1]:.4f}")
        if step % cfg.checkpoint_every == 0:
            checkpoint()
            if quiet:
                log(f"step {step}: loss {sum(losses[-50:]) / len(losses[-50:]):.4f} "
                    f"({time.perf_counter() - start:.0f} s)")
    bar.close()
    val = validation_fraction(net, lap, *held_out, cfg.smoother_degree, cfg.batch)
    required = min(cfg.target, REDUCTION * untrained)
    validation = {"rhs": VALIDATION_RHS, "error_fraction": val, "untrained": untrained, "target": cfg.target,
                  "required": required, "converged": bool(val <= required)}     # NaN: not converged
    trend = f"training loss {_mean(losses[:50]):.4g} over the first 50 steps, {_mean(losses[-50:]):.4g} over the last 50"
    verdict = (f"held-out A-norm error fraction {val:.4g} (mean over {VALIDATION_RHS} right-hand sides) after {step} "
               f"steps; required <= {required:.4g} (training.target {cfg.target:g}, and {REDUCTION:g} x the untrained "
               f"net's {untrained:.4g}); {trend}")
    if not validation["converged"] and cfg.require_convergence:
        checkpoint()
        raise NotConverged(f"DCDM training did not converge: {verdict}; no model written (checkpoint {ckpt} kept at step "
                           f"{step}: a rerun resumes from it, --restart ignores it); train longer (training.max_steps, "
                           "training.max_minutes), change training.lr, or set training.require_convergence = false "
                           "to keep the model")
    card = _card(cfg, net, losses, time.perf_counter() - start, step, validation)
    torch_files.save(out, {"card": card, "state_dict": net.state_dict()})
    torch_files.save_json(out.with_suffix(".json"), card)
    ckpt.unlink(missing_ok=True)
    log(f"trained {step} steps in {card['training']['seconds']} s, final loss {card['final_loss']:.4f}; "
        f"card {out.with_suffix('.json')}")
    log(f"converged: {verdict}" if validation["converged"] else
        f"did NOT converge (model written: training.require_convergence = false): {verdict}")
    return card


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def load_model(path: str | Path, arch: Architecture | None = None) -> tuple[DCDMNet, dict]:
    """Load a model file; raise ``ValueError`` if it is not one or its weights do not fit its card
    (or the given ``arch``)."""
    path = Path(path)
    try:
        state = torch_files.load(path)
        card = state["card"]
        if card.get("format") != FORMAT:
            raise KeyError("format")
        file_arch = Architecture(**card["architecture"])
        if not (isinstance(file_arch.channels, int) and 1 <= file_arch.channels <= MAX_CHANNELS
                and isinstance(file_arch.levels, int) and 1 <= file_arch.levels <= 8):
            raise ValueError(f"architecture {card['architecture']} out of range")
    except Exception as exc:  # noqa: BLE001 - whatever a foreign file makes torch raise; nothing ran
        raise ValueError(f"{path}: not a DCDM model file ({torch_files.why_not_loaded(exc)})") from None
    if arch is not None and arch != file_arch:
        raise ValueError(f"{path}: architecture {file_arch.asdict()} does not match {arch.asdict()}")
    net = DCDMNet(file_arch)
    try:
        net.load_state_dict(state["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not match the architecture in its card: "
                         f"{str(exc).splitlines()[0]}") from None
    net.eval()
    return net, card


def grid_mismatch(card: dict, shape: Sequence[int]) -> str:
    """'' if the model was trained on ``shape``, else a message naming both grids."""
    trained = tuple(card["grid"]["shape"])
    if tuple(shape) == trained:
        return ""
    return f"model trained on grid {list(trained)}, case grid is {list(shape)}"
