"""Which directory of a store holds its RocksDB database, and moving it to a fresh copy.

RocksDB records every flush and compaction in its MANIFEST file and starts a new one
only when the database is opened (or at 1 GiB). A serving store flushes whenever a query
checkpoint is taken, so the MANIFEST grows for as long as the server runs, and every
opening of a checkpoint reads all of it: 3,000 checkpoints made it 9.5 MB and the opening
190 ms instead of 10 ms. The database cannot be reopened in place while readers hold
it (their iterators keep RocksDB's lock), so it is *rolled*: backed up into a new
directory (hard links; the writer paused), opened there (RocksDB writes a small
MANIFEST), and swapped in; ``settings.json`` names the directory in use. Readers still
on the old handle finish on it; the old directory is removed at the next roll or open.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph

#: The directory of a store made before rolling existed (and of every new store).
FIRST = "graph"
#: Rolled copies are ``graph-1``, ``graph-2``, ...
_ROLLED = "graph-"
#: The settings key naming the directory in use.
SETTING = "graph_directory"
#: Roll once the MANIFEST is this large: opening a checkpoint then reads at most this
#: much (about 40 ms), and a roll (a backup and an opening) costs about as much.
ROLL_BYTES = 2 * 2**20


def current(path: Path, settings: dict[str, Any]) -> Path:
    """The database directory of the store at *path*."""
    return path / str(settings.get(SETTING, FIRST))


def manifest_bytes(directory: Path) -> int:
    """Size of the database's MANIFEST file(s) (0 if there is none)."""
    total = 0
    for manifest in directory.glob("MANIFEST-*"):
        try:
            total += manifest.stat().st_size
        except FileNotFoundError:
            continue
    return total


def roll(store: pyoxigraph.Store, path: Path, directory: Path, save: Callable[[str], None]) -> tuple[pyoxigraph.Store, Path]:
    """Copy the open database *store* (in *directory*) to a new directory of *path*,
    open it there and record it with *save* (its name); returns the new handle and
    directory. The caller must hold back writes meanwhile. If anything fails, the old
    store stays in use and the half-made copy is removed."""
    number = 1 + max((_number(d) for d in path.glob(f"{_ROLLED}*")), default=0)
    target = path / f"{_ROLLED}{number}"
    try:
        store.backup(str(target))
        rolled = pyoxigraph.Store(str(target))
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    save(target.name)  # from here on, an opening of the store finds the new directory
    remove_retired(path, keep={directory, target})
    return rolled, target


def remove_retired(path: Path, keep: set[Path]) -> None:
    """Remove database directories of *path* other than those in *keep*: the ones
    rolled away from, and half-made copies of a roll a crash cut short."""
    for directory in [path / FIRST, *path.glob(f"{_ROLLED}*")]:
        if directory.is_dir() and directory not in keep:
            shutil.rmtree(directory, ignore_errors=True)


def _number(directory: Path) -> int:
    suffix = directory.name[len(_ROLLED):]
    return int(suffix) if suffix.isdigit() else 0
