"""The one loader of every YAML file (profiles, classifier rules, schedules): data that
remembers where every value came from, and the error that says so.

One parse (libyaml when present) gives the node tree and the data; we walk the tree once and
record the line of every key path, e.g. ``("devices", 3, "viewport", "width") → 12``. A
pydantic error's ``loc`` (prefixed with where the item sits in the file) is then mapped to the
deepest recorded path, so every message reads ``file:line: field: what is wrong``.
Models read from files derive from ``Frozen``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

Loc = tuple[str | int, ...]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10× faster


class Frozen(BaseModel):
    """Base of every model read from a file: unknown keys are errors (a typo is never silently
    ignored) and a loaded value cannot change under the code that reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True)
class Problem:
    file: str | None
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else f"{self.file}: " if self.file else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


M = TypeVar("M", bound=BaseModel)


class SourceError(ValueError):
    """One or more problems in a data file; ``str()`` lists them all, one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        self.file, self.line, self.field, self.message = first.file, first.line, first.field, first.message
        super().__init__("\n".join(str(p) for p in self.problems))


class ProfileError(SourceError):
    """Problems in profile data."""


def field_name(loc: Iterable[str | int]) -> str:
    """``("devices", 3, "viewport", "width")`` → ``devices[3].viewport.width``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def stamp(paths: Iterable[Path | Traversable]) -> tuple[object, ...]:
    """What reading ``paths`` gives depends on: each file's size and modification time, and the
    working directory (messages name files relative to it). Caching what was read under this key
    lets one process read a file once while it stays as it is. A missing file stamps as None."""
    out: list[object] = [os.getcwd()]
    for path in paths:
        try:
            st = os.stat(str(path))
        except OSError:
            out.append((str(path), None))
        else:
            out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it: short, clickable in terminals."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


class Document:
    """One parsed YAML file (or text named ``name``): its data, the line of every key path, and
    the problems found so far. ``what`` names the kind of file in messages ("rules file")."""

    def __init__(
        self,
        path: Path | Traversable | None = None,
        *,
        text: str | None = None,
        name: str | None = None,
        what: str = "file",
    ) -> None:
        self.path = path
        self.name = name or (display_path(Path(str(path))) if path is not None else "<text>")
        self.lines: dict[Loc, int] = {}
        self.problems: list[Problem] = []
        self.data: Any = None
        try:
            if text is None:
                assert path is not None, "a Document needs a path or a text"
                text = path.read_text(encoding="utf-8")
            loader = _LOADER(text)
            try:  # one parse: the node tree keeps lines, the data is built from it
                node = loader.get_single_node()
                self.data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
        except UnicodeDecodeError as exc:
            self.problems.append(Problem(self.name, None, "", f"not UTF-8 text ({exc.reason})"))
            return
        except OSError as exc:
            self.problems.append(Problem(self.name, None, "", f"cannot read {what}: {exc.strerror or exc}"))
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            detail = " ".join(filter(None, (getattr(exc, "problem", None), getattr(exc, "context", None))))
            line = mark.line + 1 if mark else None
            self.problems.append(Problem(self.name, line, "", f"invalid YAML: {detail or exc}"))
            return
        if node is not None:
            self._walk(node, ())

    def mapping(self, hint: str) -> dict[str, Any] | None:
        """The data when it is a mapping; else None, with ``hint`` recorded as the problem."""
        if isinstance(self.data, dict):
            return self.data
        if not self.problems:
            self.problems.append(Problem(self.name, 1, "", hint))
        return None

    def check(self, error: type[SourceError] = SourceError) -> None:
        """Raise ``error`` listing every problem in line order, if there are any."""
        if self.problems:
            raise error(sorted(self.problems, key=lambda p: p.line or 0))

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    self.problems.append(
                        Problem(self.name, line, field_name((*loc, key)), f"duplicate key (first at line {seen[key]})")
                    )
                seen[key] = line
                self.lines[(*loc, key)] = line
                self._walk(value_node, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*loc, index))

    def locate(self, loc: Iterable[str | int]) -> tuple[int | None, Loc]:
        """Line of the deepest recorded prefix of ``loc`` (a missing field points at its parent)
        and ``loc`` without the parts that have no node of their own (a union's tag such as
        ``feishu``, a validator's name)."""
        parts = _clean_loc(loc)
        found: Loc = ()
        for i, part in enumerate(parts):
            if (*found, part) in self.lines:
                found = (*found, part)
            elif i < len(parts) - 1 or self._is_tag(found, part):
                continue
            else:
                return self.lines.get(found), (*found, part)
        return self.lines.get(found), found

    def line(self, loc: Loc) -> int | None:
        return self.locate(loc)[0]

    def problem(self, loc: Loc, message: str) -> Problem:
        line, where = self.locate(loc)
        return Problem(self.name, line, field_name(where), message)

    def validate(self, model: type[M], data: Any, loc: Loc = ()) -> M | None:
        """The model, or None after recording every validation error with its line."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self.problems.append(self.problem((*loc, *error["loc"]), _message(model, error)))
            return None

    def _is_tag(self, loc: Loc, part: str | int) -> bool:
        """Is ``part`` a value of the mapping at ``loc`` (a discriminated union's tag)?"""
        value: Any = self.data
        for key in loc:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return False
        return isinstance(value, dict) and part not in value and part in value.values()


def _clean_loc(loc: Iterable[str | int]) -> Loc:
    # pydantic adds validator names to some locs (e.g. "function-after[...]"); drop them.
    return tuple(p for p in loc if isinstance(p, int) or "[" not in p)


def _message(model: type[BaseModel], error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        allowed = _fields_at(model, _clean_loc(error["loc"])[:-1])
        key = str(error["loc"][-1])
        near = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return f"unknown field {key!r}; {hint}allowed: {', '.join(allowed)}" if allowed else f"unknown field {key!r}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return "required field is missing"
    return message


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the (nested) model found at ``loc``, for "did you mean" hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None:
            return []
        current = _model_in(field.annotation)
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
