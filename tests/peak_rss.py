"""Peak RSS increment of one run, per rank (``tests/test_hostile.py::test_estimate_bounds_measured_peak``).

    [mpirun -n N] python tests/peak_rss.py WARMUP.toml CASE.toml OUTDIR

Runs ``WARMUP`` (a tiny case of the same kind: imports, FFT plans, torch kernels, the writer), then
resets the kernel's peak-RSS counter (``/proc/self/clear_refs`` = 5), runs ``CASE`` through the same
pipeline as ``python -m solvers run`` and prints one line per rank, ``PEAK_RSS rank base peak`` in
bytes (VmRSS before the run, VmHWM after it). Collective.
"""
from __future__ import annotations

import gc
import re
import sys
from pathlib import Path


def _status(key: str) -> int:
    """A ``/proc/self/status`` figure in bytes (VmRSS, VmHWM)."""
    return 1024 * int(re.search(rf"{key}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))


def main(warmup: str, case: str, outdir: str) -> None:
    import petsc4py

    petsc4py.init([sys.argv[0]])
    from mpi4py import MPI

    from solvers.case import load
    from solvers.parallel import Comms
    from solvers.registry import schemas
    from solvers.run import run_case

    comm = MPI.COMM_WORLD
    for i, path in enumerate((warmup, case)):
        c = load(path, schemas(), ranks=comm.size)
        if i:
            gc.collect()
            comm.Barrier()
            base = _status("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")
        run_case(c, Comms(comm), output=Path(outdir) / f"{i}{Path(path).stem}", quiet=True, overwrite=True)
    peak = _status("VmHWM")
    lines = comm.gather(f"PEAK_RSS {comm.rank} {base} {peak}", root=0)
    if comm.rank == 0:
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
