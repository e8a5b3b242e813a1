"""Finite-difference operators of the Poisson family on a :class:`meshes.Grid`.

Discretises  -div(K grad u) + c u = f  with Dirichlet data u = g on the boundary, using the
standard 5-point (2D) / 7-point (3D) stencil with face coefficients

    K_{i+1/2} = 2 K_i K_{i+1} / (K_i + K_{i+1})   (harmonic mean, default)  or  (K_i + K_{i+1}) / 2

so that row i reads  sum_d [ K_{i+1/2}(u_i - u_{i+1}) + K_{i-1/2}(u_i - u_{i-1}) ] / h_d^2 + c_i u_i.
K = 1, c = 0 is Poisson; c = -k^2 Helmholtz; c = 1/dt an implicit heat step.

Boundary nodes are eliminated symmetrically: their rows are ``s * u = s * g`` (s = sum_d 2/h_d^2
times the mean K, so the boundary block sits inside the interior spectrum) and their couplings
to interior rows are moved to the right-hand side through ``lift``. A is therefore symmetric
(SPD for c >= 0) and CG applies. Assembly is vectorised and parallel: each rank builds the CSR
rows it owns, with neighbour columns mapped to PETSc's ordering through the DMDA's AO.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from petsc4py import PETSc

from meshes import Grid


@dataclass
class DirichletOperator:
    """A (symmetric) matrix with symmetrically eliminated Dirichlet boundary rows.

    ``A``: the system matrix; ``lift``: interior-row x boundary-column couplings;
    ``bc_scale``: the diagonal of boundary rows; ``mask``: 1.0 on boundary nodes.
    """

    grid: Grid
    A: PETSc.Mat
    lift: PETSc.Mat
    bc_scale: float
    mask: PETSc.Vec

    def rhs(self, f: PETSc.Vec | float, g: PETSc.Vec | float = 0.0) -> PETSc.Vec:
        """b = f - lift g on interior rows, b = s g on boundary rows. Collective."""
        grid = self.grid
        fv = f if isinstance(f, PETSc.Vec) else grid.set_local(grid.create_vec(), f)
        gv = g if isinstance(g, PETSc.Vec) else grid.set_local(grid.create_vec(), g)
        gb = gv.copy()
        gb.pointwiseMult(gb, self.mask)           # g on the boundary, 0 inside
        b = fv.copy()
        interior = self.mask.duplicate()
        interior.set(1.0)
        interior.axpy(-1.0, self.mask)
        b.pointwiseMult(b, interior)              # f inside, 0 on the boundary
        tmp = b.duplicate()
        self.lift.mult(gb, tmp)
        b.axpy(-1.0, tmp)
        b.axpy(self.bc_scale, gb)
        for v in (tmp, interior, gb):
            v.destroy()
        return b

    def destroy(self) -> None:
        for obj in (self.A, self.lift, self.mask):
            obj.destroy()


def _face_mean(a: np.ndarray, b: np.ndarray, mean: str) -> np.ndarray:
    if mean == "harmonic":
        return 2.0 * a * b / (a + b)
    if mean == "arithmetic":
        return 0.5 * (a + b)
    raise ValueError(f"mean must be 'harmonic' or 'arithmetic', got {mean!r}")


def assemble(grid: Grid, kappa: PETSc.Vec | None = None, shift: PETSc.Vec | float = 0.0,
             mean: str = "harmonic") -> DirichletOperator:
    """Assemble -div(kappa grad u) + shift u with symmetric Dirichlet elimination. Collective.

    ``kappa`` (nodal, > 0) defaults to 1; ``shift`` is a constant or a nodal vector.
    """
    dim, shape, h = grid.dim, grid.shape, grid.h
    idx = [i.ravel(order="F") for i in grid.local_indices()]        # PETSc local order
    nloc = idx[0].size
    if kappa is None:
        kg = np.ones(tuple(e - s for s, e in grid.ghost_ranges))
    else:
        kg = grid.ghosted(kappa)
        if np.any(kg <= 0) or not np.all(np.isfinite(kg)):
            raise ValueError("kappa must be positive and finite at every node")
    k_mean = grid.comm.allreduce(float(np.sum(grid.local_array(kappa))) if kappa is not None else float(nloc))
    k_mean /= grid.size
    bc_scale = float(sum(2.0 / hd ** 2 for hd in h) * k_mean)

    gofs = [s for s, _ in grid.ghost_ranges]
    kc = kg[tuple(i - o for i, o in zip(idx, gofs))]
    on_bnd = np.zeros(nloc, dtype=bool)
    for d in range(dim):
        on_bnd |= (idx[d] == 0) | (idx[d] == shape[d] - 1)
    if isinstance(shift, PETSc.Vec):
        c = shift.getArray(readonly=True).copy()
    else:
        c = np.full(nloc, float(shift))

    # Columns: centre + 2*dim neighbours; weight 0 / column -1 where absent.
    ncol = 2 * dim + 1
    cols_nat = np.full((nloc, ncol), -1, dtype=PETSc.IntType)
    vals = np.zeros((nloc, ncol))
    nbr_bnd = np.zeros((nloc, ncol), dtype=bool)
    diag = c.copy()
    centre_nat = grid.natural_index(idx)
    cols_nat[:, 0] = centre_nat
    col = 1
    for d in range(dim):
        for step in (-1, 1):
            nb = [i.copy() for i in idx]
            nb[d] = nb[d] + step
            inside = (nb[d] >= 0) & (nb[d] < shape[d]) & ~on_bnd
            nb_safe = [np.clip(n, 0, s - 1) for n, s in zip(nb, shape)]
            kn = kg[tuple(n - o for n, o in zip(nb_safe, gofs))]
            w = _face_mean(kc, kn, mean) / h[d] ** 2
            diag = diag + np.where(inside, w, 0.0)
            vals[:, col] = np.where(inside, -w, 0.0)
            cols_nat[:, col] = np.where(inside, grid.natural_index(nb_safe), -1)
            nb_on_bnd = np.zeros(nloc, dtype=bool)
            for e in range(dim):
                nb_on_bnd |= (nb_safe[e] == 0) | (nb_safe[e] == shape[e] - 1)
            nbr_bnd[:, col] = inside & nb_on_bnd
            col += 1
    vals[:, 0] = np.where(on_bnd, bc_scale, diag)

    cols = np.full_like(cols_nat, -1)
    present = cols_nat >= 0
    cols[present] = grid.petsc_index(cols_nat[present])

    A = _csr_matrix(grid, cols, vals, present & ~nbr_bnd)
    lift = _csr_matrix(grid, cols, vals, present & nbr_bnd)
    mask = grid.set_local(grid.create_vec(), on_bnd.reshape(grid.local_shape, order="F").astype(float))
    return DirichletOperator(grid, A, lift, bc_scale, mask)


def _csr_matrix(grid: Grid, cols: np.ndarray, vals: np.ndarray, keep: np.ndarray) -> PETSc.Mat:
    """An MPIAIJ matrix from per-row column/value arrays (entries where ``keep``)."""
    c = np.where(keep, cols, np.iinfo(PETSc.IntType).max)
    order = np.argsort(c, axis=1, kind="stable")
    c = np.take_along_axis(c, order, axis=1)
    v = np.take_along_axis(np.where(keep, vals, 0.0), order, axis=1)
    k = np.take_along_axis(keep, order, axis=1)
    indptr = np.concatenate([[0], np.cumsum(k.sum(axis=1))]).astype(PETSc.IntType)
    nloc = cols.shape[0]
    M = PETSc.Mat().createAIJ(size=((nloc, grid.size), (nloc, grid.size)),
                              csr=(indptr, c[k].astype(PETSc.IntType), v[k]),
                              comm=PETSc.Comm(grid.comm))
    M.assemble()
    return M
