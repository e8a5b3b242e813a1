"""Train neuraloperator's FNO on a generated Darcy dataset read by The Well's ``WellDataset``.

Runs in ``.venv-interop`` (``bash scripts/setup_interop.sh``); the dataset is generated first by
the project in ``.venv``, e.g. (1000 train / 200 test at 65², the table in docs/datasets.md):

    mpirun -n 2 .venv/bin/python -m solvers run cases/darcy_fno_train_rtol1e-8.toml -q   # -> out/darcy_fno_rtol1e-8
    OMP_NUM_THREADS=1 .venv-interop/bin/python scripts/train_fno.py out/darcy_fno_rtol1e-8 --epochs 25

The train and test splits are read through ``WellDataset(path, well_split_name=...)`` with its
default window and ``DefaultChannelsFirstFormatter`` (x = (u(0) = 0, kappa), y = u; see
docs/datasets.md), once, into memory. Inputs and outputs are standardised channel-wise with
neuraloperator's ``UnitGaussianNormalizer`` fitted on the training split; the FNO (Li et al. 2021)
is trained with Adam on the relative L2 loss of the decoded solution, ``||u_pred - u||_2 / ||u||_2``
per sample (neuraloperator's ``LpLoss(d=2, p=2)``), and the reported errors are that loss
averaged over the samples of each split. ``--test-data`` evaluates on another dataset's test split
(the tolerance study: train on data generated at a loose rtol, test on rtol = 1e-8 data);
``--stride 2`` trains and tests on every second node (65² data at 33²).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from neuralop.data.transforms.normalizers import UnitGaussianNormalizer
from neuralop.losses import LpLoss
from neuralop.models import FNO
from the_well.data import WellDataset
from the_well.data.data_formatter import DefaultChannelsFirstFormatter


def load(root: str, split: str, n: int | None, stride: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """(x [N, C, H, W], y [N, 1, H, W]) of the first ``n`` samples of a split, via The Well's loader,
    at every ``stride``-th node (65² -> 33² for 2: the coarse grid's nodes, as the FNO paper
    subsamples its 421² Darcy data)."""
    ds = WellDataset(path=root, well_split_name=split)
    if ds.metadata.n_fields != 1:
        raise SystemExit(f"{root}: expected a steady dataset with the one output field u")
    n = len(ds) if n is None else min(n, len(ds))
    fmt = DefaultChannelsFirstFormatter(ds.metadata)
    (x,), y = fmt.process_input(torch.utils.data.default_collate([ds[i] for i in range(n)]))
    y = y[:, 0].permute(0, 3, 1, 2)                                             # [N, 1, H, W, 1] -> [N, 1, H, W]
    return x[..., ::stride, ::stride].float().contiguous(), y[..., ::stride, ::stride].float().contiguous()


def rel_l2(model, x, y, x_norm, y_norm, batch: int) -> float:
    """Mean over samples of ||decode(model(encode(x))) - y||_2 / ||y||_2."""
    loss = LpLoss(d=2, p=2, reduction="sum")
    model.eval()
    total = 0.0
    with torch.no_grad():
        for a in range(0, len(x), batch):
            pred = y_norm.inverse_transform(model(x_norm.transform(x[a:a + batch])))
            total += float(loss(pred, y[a:a + batch]))
    return total / len(x)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", help="dataset directory written by `python -m solvers run` (a Darcy family)")
    p.add_argument("--test-data", default="", help="dataset whose test split is evaluated (default: data)")
    p.add_argument("--n-train", type=int, default=None, help="first n training samples (default all)")
    p.add_argument("--n-test", type=int, default=None, help="first n test samples (default all)")
    p.add_argument("--stride", type=int, default=1, help="train and test on every stride-th node (default 1)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--modes", type=int, default=12)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default="", help="write the results here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    x_tr, y_tr = load(args.data, "train", args.n_train, args.stride)
    x_te, y_te = load(args.test_data or args.data, "test", args.n_test, args.stride)
    t_load = time.perf_counter() - t0
    x_norm = UnitGaussianNormalizer(dim=[0, 2, 3], eps=1e-7)
    y_norm = UnitGaussianNormalizer(dim=[0, 2, 3], eps=1e-7)
    x_norm.fit(x_tr)
    y_norm.fit(y_tr)
    model = FNO(n_modes=(args.modes, args.modes), in_channels=x_tr.shape[1], out_channels=1,
                hidden_channels=args.width, n_layers=args.layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss = LpLoss(d=2, p=2, reduction="mean")
    xe = x_norm.transform(x_tr)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xe))
        for a in range(0, len(xe), args.batch):
            idx = perm[a:a + args.batch]
            opt.zero_grad()
            out = loss(y_norm.inverse_transform(model(xe[idx])), y_tr[idx])
            out.backward()
            opt.step()
        sched.step()
        if (epoch + 1) % max(1, args.epochs // 10) == 0 or epoch + 1 == args.epochs:
            print(f"epoch {epoch + 1:4d}  train rel L2 {out.item():.4e}  ({time.perf_counter() - t0:.1f} s)", flush=True)
    t_train = time.perf_counter() - t0
    res = {"data": args.data, "test_data": args.test_data or args.data, "resolution": list(x_tr.shape[2:]),
           "stride": args.stride, "n_train": len(x_tr), "n_test": len(x_te), "in_channels": int(x_tr.shape[1]), "epochs": args.epochs,
           "modes": args.modes, "width": args.width, "layers": args.layers, "batch": args.batch, "lr": args.lr,
           "threads": args.threads, "seed": args.seed, "parameters": sum(q.numel() for q in model.parameters()),
           "train_rel_l2": rel_l2(model, x_tr, y_tr, x_norm, y_norm, args.batch),
           "test_rel_l2": rel_l2(model, x_te, y_te, x_norm, y_norm, args.batch),
           "load_seconds": t_load, "train_seconds": t_train}
    print(f"FNO(modes {args.modes}, width {args.width}, {args.layers} layers, {res['parameters']} parameters) on "
          f"{res['n_train']}/{res['n_test']} samples at {'x'.join(map(str, res['resolution']))}, {args.epochs} "
          f"epochs: train rel L2 {res['train_rel_l2']:.4e}, test rel L2 {res['test_rel_l2']:.4e}; "
          f"training {t_train:.1f} s, loading {t_load:.1f} s ({args.threads} thread(s))")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
