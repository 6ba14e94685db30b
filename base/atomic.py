"""Files appear whole or not at all: written beside their final name, then renamed; and
append streams (events, spool) gain whole lines or none.

A full disk or a read-only folder then leaves no 0-byte or truncated artefact that a
report would link to; the caller gets one ``WriteFailed`` naming the file and the reason.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


class WriteFailed(OSError):
    """Could not write ``path``: one clear line, no traceback needed."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(error.errno, f"could not write {path}: {error.strerror or error}")
        self.path = path

    def __str__(self) -> str:
        return self.args[1]


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes ``path`` (fsync'd, renamed)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise exc if isinstance(exc, WriteFailed) else WriteFailed(path, exc) from None
    finally:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)


# How Playwright's driver (Node) words a failed write of a file it saves for us (a trace).
NODE_WRITE_ERRORS = re.compile(r"\b(ENOSPC|EROFS|EACCES|EDQUOT|EIO)\b")


def node_write_error(text: str) -> str | None:
    """The reason, as ``OSError`` says it, when ``text`` is Playwright failing to write a file."""
    found = NODE_WRITE_ERRORS.search(text)
    return os.strerror(getattr(errno, found.group(1))) if found else None


def write_bytes(path: Path, data: bytes) -> None:
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


class Appender:
    """A JSON-lines file written a line at a time: a line that did not fit (full disk) is cut
    back off, so readers never meet half a line and later lines still parse."""

    def __init__(self, path: Path, *, sync: bool = False) -> None:
        self.path, self.sync = path, sync
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WriteFailed(path, exc) from None

    def write(self, line: bytes) -> None:
        size = os.fstat(self._fd).st_size  # one writer: where this line starts
        try:
            if os.write(self._fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write (disk full?)")
            if self.sync:
                os.fsync(self._fd)
        except OSError as exc:
            with suppress(OSError):
                os.ftruncate(self._fd, size)
            raise WriteFailed(self.path, exc) from None

    def close(self) -> None:
        with suppress(OSError):
            os.close(self._fd)
