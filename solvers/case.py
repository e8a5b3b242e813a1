"""Case files: TOML -> validated, typed case.

A case file is validated as a whole before any work is done. Every error names the key path,
e.g. ``mesh.shape[1]: must be a positive integer, got -4``. Each solver kind declares its schema
with the small combinators below (``Table``, ``Int``, ``Float``, ``Str``, ``Bool``, ``List``,
``Choice``, ``AnyTable``); ``registry.runner`` attaches it to the kind.

Common sections, valid for every kind:

- ``[case]``: ``kind`` (required), ``name`` (str), ``description`` (str)
- ``[output]``: ``path`` (str, HDF5 file or directory; ``-o`` on the command line overrides)
- ``[petsc]``: PETSc options database entries, e.g. ``ksp_type = "cg"`` (leading dash optional)
"""
from __future__ import annotations

import math
import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


class CaseError(ValueError):
    """A case file is malformed. ``str(err)`` is ``'<key path>: <message>'``."""

    def __init__(self, path: str, message: str):
        self.key_path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


_MISSING = object()


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


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
class Str(Spec):
    default: Any = _MISSING
    doc: str = ""

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise CaseError(path, f"must be a string, got {_fmt(value)}")
        return value

    def describe(self) -> str:
        return "string"


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
        if value not in self.choices:
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
    """A free-form table of scalar values (used for ``[petsc]``)."""

    default: Any = field(default_factory=dict)
    doc: str = ""

    def check(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            raise CaseError(path, f"must be a table, got {_fmt(value)}")
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                raise CaseError(f"{path}.{k}", "must be a string, number or boolean")
            if isinstance(v, float) and not math.isfinite(v):
                raise CaseError(f"{path}.{k}", f"must be finite, got {v}")
        return dict(value)

    def describe(self) -> str:
        return "table of scalars"


@dataclass
class Table(Spec):
    """A TOML table with known keys; unknown keys are errors. ``validate`` runs cross-key checks."""

    keys: dict[str, Spec] = field(default_factory=dict)
    default: Any = _MISSING
    doc: str = ""
    validate: Callable[[dict, str], None] | None = None

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
        return Table(self.keys, default=self, doc=self.doc, validate=self.validate)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


COMMON = {
    "case": Table({
        "kind": Str(doc="solver kind"),
        "name": Str(default="", doc="a name for the run (used in output)"),
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


def parse_text(text: str, source: str = "<string>") -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError("", f"{source}: not valid TOML: {exc}") from None


def validate(raw: dict, schemas: dict[str, Table], text: str = "", source: str = "<string>") -> Case:
    """Validate a parsed TOML document against the common sections plus the kind's schema."""
    if "case" not in raw or not isinstance(raw["case"], dict) or "kind" not in raw["case"]:
        raise CaseError("case.kind", "missing required key (one of " + ", ".join(sorted(schemas)) + ")")
    kind = raw["case"]["kind"]
    if kind not in schemas:
        raise CaseError("case.kind", "unknown kind " + _fmt(kind) + "; known kinds: " + ", ".join(sorted(schemas)))
    top = Table({**COMMON, **schemas[kind].keys}, validate=schemas[kind].validate)
    return Case(kind=kind, sections=top.check(raw, ""), text=text, source=source)


def load(path: str | Path, schemas: dict[str, Table]) -> Case:
    """Read and validate a case file. Raises ``CaseError`` with a key path."""
    p = Path(path)
    if not p.is_file():
        raise CaseError("", f"case file not found: {p}")
    text = p.read_text()
    return validate(parse_text(text, str(p)), schemas, text=text, source=str(p))


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
    for d, (lo, hi) in enumerate(mesh["extent"]):
        if hi <= lo:
            raise CaseError(f"{_join(path, 'extent')}[{d}]", f"must satisfy lo < hi, got [{lo}, {hi}]")


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
        "ksp_type": Str(default=ksp_type, doc="PETSc KSP type (-ksp_type overrides)"),
        "pc_type": Str(default=pc_type, doc="PETSc PC type (-pc_type overrides)"),
        "rtol": Float(default=rtol, positive=True, max=1.0, doc="relative tolerance (PETSc default test)"),
        "atol": Float(default=1e-50, positive=True, doc="absolute tolerance"),
        "max_it": Int(default=max_it, min=1, doc="maximum iterations"),
    }, doc="Krylov solver").optional()
