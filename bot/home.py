"""ARGOT_HOME holds DM and private-channel questions (argot.db) and private documents
(the index): only the account that runs Argot may read it.

`keep_private(home)` runs before any command touches the home: the process umask
becomes 077 (every file Argot, Chroma, SQLite or the trainer creates is 0600, every
folder 0700), the home is created 0700, and a home made by an earlier release (0755
folders, 0644 files) is tightened in place.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def keep_private(home: Path) -> None:
    os.umask(PRIVATE_UMASK)
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        tighten(home)
    except OSError as exc:  # a read-only or foreign home: the command says what fails
        log.warning("could not make %s private: %s", home, exc)


def tighten(home: Path) -> None:
    """Remove group and other permissions from the home and everything in it."""
    for path in [home, *home.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
