"""Atomic file writes: write to a temporary sibling, then rename.

Nothing a user saved is overwritten half-way: a crash leaves either the old
file or the new one at the final path, never a truncated mix.
"""

import contextlib
import ctypes
import os
import shutil
import tempfile

_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


@contextlib.contextmanager
def atomic_path(path, *, overwrite=True, suffix=None):
    """Yields a temporary path next to `path`; renames it onto `path` on success.

    The temporary path keeps the final file's suffix (Keras checks that a
    model file ends in `.keras`). It works for files and for directories
    (e.g. a SavedModel): whatever the body writes at the yielded path is
    moved into place with one `os.replace`. A directory replacing an old
    one is swapped in atomically (Linux `renameat2(RENAME_EXCHANGE)`; where
    that is missing, the old one is renamed away first, so a kill between
    the two renames leaves it as `TMP.old`), and the old one is removed only
    after the new one is in place. On an exception the temporary path is
    deleted and `path` is untouched.

    Args:
        path: The final path.
        overwrite: If False and `path` exists, raises `FileExistsError`.
        suffix: Suffix of the temporary name; defaults to `path`'s extension.

    Yields:
        The temporary path (str) to write to.
    """
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists; pass overwrite=True to replace it.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    if suffix is None:
        suffix = os.path.splitext(path)[1]
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{suffix}", dir=directory)
    os.close(fd)
    os.unlink(tmp)
    try:
        yield tmp
        if os.path.isdir(tmp) and os.path.isdir(path):
            if _exchange(tmp, path):  # `tmp` now holds the old directory
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                old = tmp + ".old"
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _exchange(a, b):
    """Atomically swaps paths `a` and `b` (Linux `renameat2`); False where that is not available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):  # not Linux / glibc
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    return False  # e.g. EINVAL on a file system without RENAME_EXCHANGE: fall back


def atomic_write_bytes(path, data, *, overwrite=True):
    """Writes `data` (bytes) to `path` atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def atomic_write_text(path, text, *, overwrite=True, encoding="utf-8"):
    """Writes `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite)
