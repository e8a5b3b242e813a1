"""Case files: TOML -> validated, typed case.

A case file is validated as a whole before any work is done. Every error names the key path,
e.g. ``mesh.shape[1]: must be a positive integer, got -4``. Each solver kind declares its schema
with the small combinators below (``Table``, ``Int``, ``Float``, ``Str``, ``Bool``, ``List``,
``Choice``, ``AnyTable``); ``registry.runner`` attaches it to the kind.

Common sections, valid for every kind:

- ``[case]``: ``kind`` (required), ``name`` (str), ``description`` (str)
- ``[output]``: ``path`` (str, HDF5 file or directory; ``-o`` on the command line overrides)
- ``[petsc]``: PETSc options database entries, e.g. ``ksp_type = "cg"`` (leading dash optional)

Hostile input is refused with a ``CaseError`` before any work (:func:`load`): only regular files
of at most ``MAX_CASE_BYTES``, UTF-8 text, nesting at most ``MAX_DEPTH`` deep, integers within
PETSc's 32-bit ``PetscInt``, booleans never taken for numbers nor floats for integer choices,
grids whose spacing and node count PETSc can represent, ``case.name`` a plain file-name
component, and a run whose memory estimate for its rank count (:attr:`Table.estimate`, default
:func:`grid_estimate`) fits the memory of a node holding its ranks. PETSc type names (``ksp_type``, ``pc_type``) are
checked against PETSc's registry once PETSc is initialised (:func:`check_petsc_types`).
"""
from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np


class CaseError(ValueError):
    """A case file is malformed. ``str(err)`` is ``'<key path>: <message>'``."""

    def __init__(self, path: str, message: str):
        self.key_path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


_MISSING = object()

INT_MAX = 2**31 - 1                  # PETSc's PetscInt (32-bit indices, as built here)
MAX_CASE_BYTES = 1 << 20             # a case file is a few hundred bytes; 1 MiB is generous
MAX_DEPTH = 16                       # tables/arrays nested deeper than this are refused
MAX_STR = 4096                       # characters in any string value
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
PETSC_TYPE_RE = re.compile(r"[A-Za-z0-9_]+")


MODERATE = 1e150                     # |x| above this: products of two such numbers overflow float64


def check_derived(path: str, what: str, make: Callable[[], dict[str, Any]]) -> None:
    """Build the arrays (or numbers) ``make()`` derives from a case, overflow warnings silenced;
    ``CaseError`` at ``path`` if that refuses the values (``ValueError``, ``TypeError``: its
    message), overflows, or gives NaN, inf or a magnitude above ``MODERATE`` (a product or
    harmonic mean of two such values would overflow later)."""
    with np.errstate(all="ignore"):
        try:
            arrays = make()
        except OverflowError:
            raise CaseError(path, f"{what} overflows a float; choose smaller values") from None
        except (ValueError, TypeError) as exc:
            raise CaseError(path, str(exc)) from None
    bad = sorted(k for k, v in arrays.items()
                 if not (np.isfinite(v).all() and np.abs(np.asarray(v)).max(initial=0.0) <= MODERATE))
    if bad:
        raise CaseError(path, f"{what} has NaN, inf or values beyond {MODERATE:g} in {', '.join(bad)}; "
                              "choose smaller values")


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"an integer of {len(str(abs(value)))} digits"
    return str(value)


class Spec(ABC):
    """Base of all schema nodes: ``check(value, path)`` returns the typed value or raises."""

    default: Any = _MISSING
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    @abstractmethod
    def check(self, value: Any, path: str) -> Any:
        """The validated, typed value; raises ``CaseError`` naming ``path``."""

    @abstractmethod
    def describe(self) -> str:
        """A short description of what is accepted (for messages and the schema doc)."""


@dataclass
class Int(Spec):
    default: Any = _MISSING
    min: int | None = None
    max: int | None = None
    doc: str = ""
    even: bool = False

    def check(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CaseError(path, f"must be an integer, got {_fmt(value)}")
        if not -INT_MAX - 1 <= value <= INT_MAX:
            raise CaseError(path, f"must fit PETSc's 32-bit integers (|n| <= {INT_MAX}), got {_fmt(value)}")
        if self.min is not None and value < self.min:
            what = "a positive integer" if self.min == 1 or (self.min > 1 and value < 1) else f"an integer >= {self.min}"
            raise CaseError(path, f"must be {what}, got {value}")
        if self.max is not None and value > self.max:
            raise CaseError(path, f"must be an integer <= {self.max}, got {value}")
        if self.even and value % 2:
            raise CaseError(path, f"must be an even integer, got {value}")
        return value

    def describe(self) -> str:
        lo = "" if self.min is None else f" >= {self.min}"
        hi = "" if self.max is None else f" <= {self.max}"
        return f"integer{lo}{hi}{' (even)' if self.even else ''}"


@dataclass
class Float(Spec):
    """A finite real number (TOML integers are accepted); bounds are inclusive."""

    default: Any = _MISSING
    min: float | None = None
    max: float | None = None
    positive: bool = False
    doc: str = ""

    def check(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CaseError(path, f"must be a number, got {_fmt(value)}")
        if isinstance(value, int) and abs(value) > 2**53:
            raise CaseError(path, f"must be at most 2^53 in magnitude as an integer, got {_fmt(value)}; "
                                  "write large values as floats (e.g. 1e30)")
        value = float(value)
        if not math.isfinite(value):
            raise CaseError(path, f"must be finite, got {value}")
        if self.positive and value <= 0:
            raise CaseError(path, f"must be positive, got {value}")
        if self.min is not None and value < self.min:
            raise CaseError(path, f"must be >= {self.min}, got {value}")
        if self.max is not None and value > self.max:
            raise CaseError(path, f"must be <= {self.max}, got {value}")
        return value

    def describe(self) -> str:
        s = "positive number" if self.positive else "number"
        if self.min is not None:
            s += f" >= {self.min}"
        if self.max is not None:
            s += f" <= {self.max}"
        return s


@dataclass
class Number(Spec):
    """A finite integer or float (never a boolean), returned unchanged (so ``2`` stays ``2``)."""

    default: Any = _MISSING
    doc: str = ""

    def check(self, value: Any, path: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CaseError(path, f"must be a number, got {_fmt(value)}")
        if isinstance(value, int):
            return Int().check(value, path)
        return Float().check(value, path)

    def describe(self) -> str:
        return "number"


@dataclass
class Str(Spec):
    """A string of at most ``MAX_STR`` characters; ``pattern`` (a regex) must match it whole."""

    default: Any = _MISSING
    doc: str = ""
    pattern: re.Pattern | None = None
    rule: str = ""                   # what ``pattern`` means, for the message

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise CaseError(path, f"must be a string, got {_fmt(value)}")
        if len(value) > MAX_STR:
            raise CaseError(path, f"must have at most {MAX_STR} characters, got {len(value)}")
        if self.pattern is not None and not (value == self.default or self.pattern.fullmatch(value)):
            raise CaseError(path, f"must be {self.rule}, got {_fmt(value)}")
        return value

    def describe(self) -> str:
        return "string"


@dataclass
class PetscType(Str):
    """The name of a PETSc ``KSP`` or ``PC`` type (``family`` 'ksp' or 'pc'); for KSPs also one
    of the project's Python KSP types (:data:`solvers.ksp.PYTHON_TYPES`). The name's form is
    checked here; whether PETSc has it, by :func:`check_petsc_types`."""

    family: str = "ksp"
    pattern: re.Pattern | None = PETSC_TYPE_RE
    rule: str = "a PETSc type name (letters, digits, _)"


@dataclass
class Bool(Spec):
    default: Any = _MISSING
    doc: str = ""

    def check(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise CaseError(path, f"must be true or false, got {_fmt(value)}")
        return value

    def describe(self) -> str:
        return "boolean"


@dataclass
class Choice(Spec):
    choices: tuple = ()
    default: Any = _MISSING
    doc: str = ""

    def check(self, value: Any, path: str) -> Any:
        if not any(type(value) is type(c) and value == c for c in self.choices):   # 2.0 is not 2, true not 1
            allowed = ", ".join(_fmt(c) for c in self.choices)
            raise CaseError(path, f"must be one of {allowed}; got {_fmt(value)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(_fmt(c) for c in self.choices)


@dataclass
class List(Spec):
    item: Spec = field(default_factory=lambda: Float())
    default: Any = _MISSING
    min_len: int = 0
    max_len: int | None = None
    doc: str = ""

    def check(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            raise CaseError(path, f"must be a list, got {_fmt(value)}")
        n = len(value)
        if n < self.min_len or (self.max_len is not None and n > self.max_len):
            want = (f"{self.min_len}" if self.max_len == self.min_len
                    else f"{self.min_len} to {self.max_len}" if self.max_len is not None
                    else f"at least {self.min_len}")
            raise CaseError(path, f"must have {want} entries, got {n}")
        return [self.item.check(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def describe(self) -> str:
        n = "" if self.max_len is None else (f" of length {self.min_len}" if self.min_len == self.max_len
                                              else f" of length {self.min_len}-{self.max_len}")
        return f"list{n} of {self.item.describe()}"


@dataclass
class AnyTable(Spec):
    """A free-form table of scalar values (used for ``[petsc]``); ``values`` checks every value."""

    default: Any = field(default_factory=dict)
    doc: str = ""
    values: Spec | None = None

    def check(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            raise CaseError(path, f"must be a table, got {_fmt(value)}")
        for k, v in value.items():
            if not PETSC_TYPE_RE.fullmatch(k.lstrip("-")):
                raise CaseError(_join(path, k), "must be a plain name (letters, digits, _)")
            if isinstance(v, (dict, list)):
                raise CaseError(f"{path}.{k}", "must be a string, number or boolean")
            if isinstance(v, float) and not math.isfinite(v):
                raise CaseError(f"{path}.{k}", f"must be finite, got {v}")
            if isinstance(v, int) and not isinstance(v, bool) and not -INT_MAX - 1 <= v <= INT_MAX:
                raise CaseError(f"{path}.{k}", f"must fit PETSc's 32-bit integers, got {_fmt(v)}")
            if isinstance(v, str) and len(v) > MAX_STR:
                raise CaseError(f"{path}.{k}", f"must have at most {MAX_STR} characters, got {len(v)}")
            if self.values is not None:
                self.values.check(v, f"{path}.{k}")
        return dict(value)

    def describe(self) -> str:
        return "table of scalars"


@dataclass
class Table(Spec):
    """A TOML table with known keys; unknown keys are errors. ``validate`` runs cross-key checks.

    ``estimate`` (a kind's top-level schema only): ``estimate(sections, ranks) -> bytes``, the
    memory a job of ``ranks`` ranks holds, all ranks together (what one node holds when they all
    run on it: data split over the ranks counted once, data every rank keeps counted ``ranks``
    times), computed from the type-checked sections before ``validate`` runs (so a cross-key
    check that builds something cannot exhaust memory); default :func:`grid_estimate`.
    """

    keys: dict[str, Spec] = field(default_factory=dict)
    default: Any = _MISSING
    doc: str = ""
    validate: Callable[[dict, str], None] | None = None
    estimate: Callable[[dict, int], float] | None = None

    def check(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            raise CaseError(path, f"must be a table, got {_fmt(value)}")
        for k in value:
            if k not in self.keys:
                known = ", ".join(sorted(self.keys)) or "(none)"
                raise CaseError(_join(path, k), f"unknown key (known keys: {known})")
        out = {}
        for k, spec in self.keys.items():
            p = _join(path, k)
            if k in value:
                out[k] = spec.check(value[k], p)
            elif spec.required:
                raise CaseError(p, f"missing required key ({spec.describe()})")
            else:
                d = spec.default
                out[k] = d.check({}, p) if isinstance(d, Table) else d
        if self.validate is not None:
            self.validate(out, path)
        return out

    def describe(self) -> str:
        return "table"

    def optional(self) -> "Table":
        """This table with every key optional becomes an optional section (defaults filled in)."""
        return Table(self.keys, default=self, doc=self.doc, validate=self.validate, estimate=self.estimate)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


COMMON = {
    "case": Table({
        "kind": Str(doc="solver kind"),
        "name": Str(default="", doc="a name for the run (used in output)", pattern=NAME_RE,
                    rule="a plain file name (letters, digits, . _ + -; at most 100; no / or leading .)"),
        "description": Str(default="", doc="free text"),
    }),
    "output": Table({
        "path": Str(default="", doc="output HDF5 file (or directory); -o overrides"),
    }).optional(),
    "petsc": AnyTable(doc="PETSc options, e.g. ksp_type = 'cg'"),
}


@dataclass
class Case:
    """A validated case: ``sections`` holds every table with defaults filled in."""

    kind: str
    sections: dict[str, Any]
    text: str
    source: str

    def __getitem__(self, key: str) -> Any:
        return self.sections[key]

    @property
    def name(self) -> str:
        return self.sections["case"]["name"] or Path(self.source).stem

    def petsc_options(self) -> list[str]:
        """The ``[petsc]`` table as an argv list, e.g. ``['-ksp_type', 'cg']``."""
        argv = []
        for k, v in self.sections["petsc"].items():
            argv.append("-" + k.lstrip("-"))
            if isinstance(v, bool):
                argv.append("true" if v else "false")
            elif v != "":
                argv.append(str(v))
        return argv


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in a parsed document (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d <= MAX_DEPTH:
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()))
    return deepest


def parse_text(text: str) -> dict:
    """Parse TOML text; refuses documents nested deeper than ``MAX_DEPTH``. The caller names the
    file in the message."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError("", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise CaseError("", f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    if _depth(raw) > MAX_DEPTH:
        raise CaseError("", f"nested too deeply (more than {MAX_DEPTH} levels)")
    return raw


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def machine_memory() -> int:
    """Bytes of memory this process may use: physical memory, or the cgroup limit if lower."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


# Bytes per grid node of a Krylov solve on a structured grid: an AIJ matrix with 7 entries per
# row (8 B value + 4 B column index, 3D) ~ 90 B, ~20 work vectors (KSP, right-hand side,
# solution, coordinates, exact solution, gathered copies) 160 B, an AMG hierarchy with its
# Galerkin products about twice the fine matrix, and the result being written. Measured peak RSS
# increments are below it (619 B per node for CG + GAMG on 65^3 with its output;
# tests/test_hostile.py::test_estimate_bounds_measured_peak); it is meant to catch runs that
# cannot fit, not to predict RSS.
BYTES_PER_NODE = 1000


def grid_estimate(sections: dict, ranks: int = 1) -> float:
    """Memory of a Krylov solve on ``mesh.shape`` (0 for kinds without a mesh); the grid is split
    over the ranks, so the job holds the same total on any number of them."""
    mesh = sections.get("mesh")
    return float(math.prod(mesh["shape"])) * BYTES_PER_NODE if isinstance(mesh, dict) else 0.0


def validate(raw: dict, schemas: dict[str, Table], text: str = "", source: str = "<string>",
             memory: float | None = None, ranks: int = 1, node_ranks: int | None = None) -> Case:
    """Validate a parsed TOML document against the common sections plus the kind's schema.

    Order: every key's type and range; the memory estimate of a job of ``ranks`` ranks
    (:attr:`Table.estimate`), of which the node holding the most, ``node_ranks`` (default all),
    holds its share, against ``memory`` bytes, one node's (default :func:`machine_memory`);
    then the kind's cross-key checks.
    """
    if "case" not in raw or not isinstance(raw["case"], dict) or "kind" not in raw["case"]:
        raise CaseError("case.kind", "missing required key (one of " + ", ".join(sorted(schemas)) + ")")
    kind = raw["case"]["kind"]
    if not isinstance(kind, str) or kind not in schemas:
        raise CaseError("case.kind", "unknown kind " + _fmt(kind) + "; known kinds: " + ", ".join(sorted(schemas)))
    schema = schemas[kind]
    sections = Table({**COMMON, **schema.keys}).check(raw, "")
    here = ranks if node_ranks is None else node_ranks
    try:
        need = (schema.estimate or grid_estimate)(sections, ranks) * here / ranks
    except OverflowError:                                # e.g. a step count beyond any float
        need = math.inf
    have = machine_memory() if memory is None else memory
    if not need <= have:                                 # NaN (an overflowing estimate) is refused too
        on = f"its {here} rank(s) on this machine" + (f" (of {ranks})" if here != ranks else "")
        raise CaseError("", f"the run needs about {_bytes(need)} of memory (estimate) for {on}, more than "
                            f"the {_bytes(have)} this machine has; make the case smaller or use fewer ranks "
                            "per machine")
    if schema.validate is not None:
        schema.validate(sections, "")
    return Case(kind=kind, sections=sections, text=text, source=source)


def read_case_text(path: str | Path) -> str:
    """The text of a case file: a regular file of at most ``MAX_CASE_BYTES``, UTF-8. Never
    blocks (a FIFO or device is refused before it is opened) and never reads more than the cap."""
    p = Path(path)
    try:
        st = os.stat(p)
    except (OSError, ValueError) as exc:                # ValueError: a NUL in the name
        raise CaseError("", f"case file not found: {p} ({getattr(exc, 'strerror', None) or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "a named pipe" if stat.S_ISFIFO(st.st_mode) \
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file"
        raise CaseError("", f"a case file must be a regular file, {p} is {what}")
    if st.st_size > MAX_CASE_BYTES:
        raise CaseError("", f"{p} has {st.st_size} bytes; a case file may have at most {MAX_CASE_BYTES}")
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise CaseError("", f"a case file must be a regular file, {p} is not")
            data = fh.read(MAX_CASE_BYTES + 1)
    except OSError as exc:
        raise CaseError("", f"cannot read {p}: {exc.strerror}") from None
    if len(data) > MAX_CASE_BYTES:
        raise CaseError("", f"{p}: a case file may have at most {MAX_CASE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CaseError("", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line})") from None


def load(path: str | Path, schemas: dict[str, Table], memory: float | None = None, ranks: int = 1,
         node_ranks: int | None = None) -> Case:
    """Read and validate a case file (:func:`read_case_text`, :func:`validate`). Raises
    ``CaseError`` with a key path."""
    text = read_case_text(path)
    return validate(parse_text(text), schemas, text=text, source=str(path), memory=memory,
                    ranks=ranks, node_ranks=node_ranks)


def check_petsc_types(case: Case, schema: Table) -> None:
    """Every :class:`PetscType` value of ``case`` names a PETSc type (or, for a KSP, one of the
    project's Python KSP types). Before PETSc initialises: one of the types PETSc defines (``PETSc.KSP.Type``,
    ``PETSc.PC.Type``); after: registered in this build (``setType`` on a ``COMM_SELF`` object,
    so e.g. 'hypre' without hypre fails). Not collective. Raises ``CaseError`` naming the key."""
    from petsc4py import PETSc

    from .ksp import PYTHON_TYPES

    def walk(spec: Table, values: dict, path: str):
        for k, sub in spec.keys.items():
            if isinstance(sub, Table) and isinstance(values.get(k), dict):
                yield from walk(sub, values[k], _join(path, k))
            elif isinstance(sub, PetscType):
                yield _join(path, k), sub, values[k]

    for path, spec, value in walk(schema, case.sections, ""):
        cls = PETSc.KSP if spec.family == "ksp" else PETSc.PC
        if spec.family == "ksp" and value in PYTHON_TYPES:
            continue
        if PETSc.Sys.isInitialized():
            obj = cls().create(PETSc.COMM_SELF)
            try:
                obj.setType(value)
                continue
            except PETSc.Error:
                pass
            finally:
                obj.destroy()
        elif value in {v for k, v in vars(cls.Type).items() if not k.startswith("_")}:
            continue
        example = f"cg, gmres, bcgs; or {', '.join(sorted(PYTHON_TYPES))}" if spec.family == "ksp" \
            else "gamg, jacobi, ilu, none"
        raise CaseError(path, f"this PETSc {'build ' if PETSc.Sys.isInitialized() else ''}has no "
                              f"{spec.family.upper()} type {value!r} (e.g. {example})")


def describe_schema(schema: Table, prefix: str = "") -> list[str]:
    """Markdown lines documenting a schema (used by ``python -m solvers schema``)."""
    lines = []
    for k, spec in schema.keys.items():
        p = _join(prefix, k)
        if isinstance(spec, Table):
            lines.append(f"- `[{p}]`{' (optional)' if not spec.required else ''} {spec.doc}".rstrip())
            lines.extend(describe_schema(spec, p))
        elif isinstance(spec, AnyTable):
            lines.append(f"- `[{p}]` (optional) {spec.doc}".rstrip())
        else:
            req = "required" if spec.required else f"default {_fmt(spec.default)}"
            lines.append(f"  - `{p}`: {spec.describe()}, {req}. {spec.doc}".rstrip())
    return lines


def _check_mesh(mesh: dict, path: str) -> None:
    if mesh["extent"] is None:
        mesh["extent"] = [[0.0, 1.0]] * len(mesh["shape"])
    if len(mesh["extent"]) != len(mesh["shape"]):
        raise CaseError(_join(path, "extent"),
                        f"must have one [lo, hi] pair per dimension ({len(mesh['shape'])}), got {len(mesh['extent'])}")
    n = math.prod(mesh["shape"])
    if n > INT_MAX:
        raise CaseError(_join(path, "shape"), f"{n} nodes exceed PETSc's 32-bit index range ({INT_MAX})")
    for d, ((lo, hi), nd) in enumerate(zip(mesh["extent"], mesh["shape"])):
        if hi <= lo:
            raise CaseError(f"{_join(path, 'extent')}[{d}]", f"must satisfy lo < hi, got [{lo}, {hi}]")
        h = (hi - lo) / max(nd - 1, 1)
        # the stencil needs h^2 and 1/h^2 as normal numbers, and the nodes lo + i h distinct
        if not (math.isfinite(hi - lo) and 1e-150 < h < 1e150 and lo + h > lo and hi - h < hi):
            raise CaseError(f"{_join(path, 'extent')}[{d}]", f"spacing h = {h:.3g} of [{lo}, {hi}] with "
                            f"{nd} nodes is not representable (1/h^2 overflows or nodes coincide)")


def mesh_section(min_nodes: int = 3) -> Table:
    """The ``[mesh]`` table shared by every grid-based kind: ``shape`` and ``extent``."""
    return Table({
        "shape": List(Int(min=min_nodes) if min_nodes > 1 else Int(min=1), min_len=2, max_len=3,
                      doc="nodes per dimension, boundary included (2D or 3D)"),
        "extent": List(List(Float(), min_len=2, max_len=2), min_len=2, max_len=3, default=None,
                       doc="[[lo, hi], ...] per dimension; default the unit box"),
    }, validate=_check_mesh, doc="structured vertex grid (meshes.Grid)")


def solver_section(ksp_type: str = "cg", pc_type: str = "gamg", rtol: float = 1e-8,
                   max_it: int = 10000) -> Table:
    """The ``[solver]`` table for PETSc KSP solves (options database entries override it)."""
    return Table({
        "ksp_type": PetscType(default=ksp_type, doc="PETSc KSP type (-ksp_type overrides)", family="ksp"),
        "pc_type": PetscType(default=pc_type, doc="PETSc PC type (-pc_type overrides)", family="pc"),
        "rtol": Float(default=rtol, positive=True, max=1.0, doc="relative tolerance (PETSc default test)"),
        "atol": Float(default=1e-50, positive=True, doc="absolute tolerance"),
        "max_it": Int(default=max_it, min=1, doc="maximum iterations"),
    }, doc="Krylov solver").optional()
