"""The check of a folder argument shared by the image-folder reader and the app-bundle client."""

import os


def check_folder(path, *, type_name, missing_name, kind="a path", hint=""):
    """Returns `path` as a str after checking that it names an existing folder.

    Args:
        path: The argument (str or `os.PathLike`).
        type_name: How the TypeError names the argument, e.g. "`bundle_dir`".
        missing_name: How the FileNotFoundError names the folder, e.g. "App bundle".
        kind: What the argument must be, in the TypeError ("a path", "a folder path").
        hint: Text after "is not a folder" in the FileNotFoundError (e.g. how to make one).

    Returns:
        `os.fspath(path)`.

    Raises:
        TypeError: `path` is not a str or `os.PathLike`.
        FileNotFoundError: `path` does not exist or is not a folder.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{type_name} must be {kind}, got {type(path).__name__}.")
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{missing_name} {path!r} does not exist or is not a folder{hint}.")
    return path
