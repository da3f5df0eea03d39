"""The pretrained zoo: trained weights shipped in the package, with a manifest.

`zoo/manifest.json` lists every entry with its file, sha256, data set,
clean test accuracy and the exact command that reproduces it. Loading checks
the sha256 and goes through the safe loader (`tfdefend.models.load_model`,
safe mode by default), so a tampered or truncated file is refused instead of
executed.
"""

import json
import os

from tfdefend.models.loading import load_model
from tfdefend.utils.hashing import sha256_file

ZOO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo")
MANIFEST_PATH = os.path.join(ZOO_DIR, "manifest.json")


def read_manifest(path=None):
    """Returns the zoo manifest as a dict name -> entry (empty if none).

    Raises:
        ValueError: If the manifest is not valid JSON with a "models" object.
    """
    path = path or MANIFEST_PATH
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            models = json.load(handle)["models"]
        if not isinstance(models, dict) or not all(isinstance(e, dict) for e in models.values()):
            raise TypeError("entries must be objects")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"The zoo manifest {path!r} is corrupted ({type(exc).__name__}: {exc}); "
                         "reinstall tfdefend.") from None
    return models


def list_pretrained(dataset=None, kind=None, defense=None):
    """Returns the sorted names of the shipped pretrained models, optionally filtered.

    Args:
        dataset: Only entries trained on this data set.
        kind: Only entries of this kind ("classifier", "preprocessor", ...).
        defense: Only classifiers trained with this defense: "none",
            "pgd-at", "trades", "fast-at", "mart", "deepdefense",
            "knowledge-transfer" (the manifest's
            `defense` field; preprocessors have none).
    """
    return sorted(name for name, entry in read_manifest().items()
                  if (dataset is None or entry["dataset"] == dataset)
                  and (kind is None or entry.get("kind", "classifier") == kind)
                  and (defense is None or entry.get("defense") == defense))


def pretrained_info(name):
    """Returns the manifest entry of pretrained model `name`.

    Raises:
        ValueError: If `name` is not in the zoo (the message lists the entries).
    """
    manifest = read_manifest()
    if not isinstance(name, str) or name not in manifest:
        raise ValueError(f"Unknown pretrained model {name!r}; the zoo holds: {', '.join(sorted(manifest)) or 'nothing'}.")
    return dict(manifest[name])


def default_pretrained(dataset):
    """Returns the name of the default pretrained classifier of `dataset`."""
    for name, entry in sorted(read_manifest().items()):
        if entry["dataset"] == dataset and entry.get("default", False):
            return name
    raise ValueError(f"The zoo has no default classifier for dataset {dataset!r}.")


def load_pretrained(name, *, compile=False, safe_mode=True):
    """Loads pretrained model `name` offline, after checking its sha256.

    Args:
        name: One of `list_pretrained()`.
        compile: Passed to `keras.models.load_model`.
        safe_mode: Refuse files that hold Python code (see
            `tfdefend.models.load_model`); the shipped models need none, so
            only pass `safe_mode=False` explicitly for a zoo you built and trust.

    Returns:
        The Keras model.

    Raises:
        ValueError: Unknown name, a malformed manifest entry, the file's
            sha256 does not match the manifest, or the file cannot be loaded
            safely.
        FileNotFoundError: If the weights file is missing from the install.
    """
    entry = pretrained_info(name)
    file, expected = entry.get("file"), entry.get("sha256")
    if not isinstance(file, str) or not file or os.path.basename(file) != file or file in (".", ".."):
        raise ValueError(f"The zoo manifest entry {name!r} has an invalid `file` {file!r} (a file name inside "
                         "the zoo folder is expected).")
    if not isinstance(expected, str) or len(expected) != 64:
        raise ValueError(f"The zoo manifest entry {name!r} has an invalid `sha256` {expected!r} (64 hex digits "
                         "expected).")
    path = os.path.join(ZOO_DIR, file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Weights of {name!r} are missing: {path!r} (reinstall tfdefend).")
    digest = sha256_file(path)
    if digest != expected.lower():
        raise ValueError(f"sha256 mismatch for {name!r}: manifest {expected}, file {digest}; "
                         "the file is corrupted or was modified.")
    return load_model(path, compile=compile, safe_mode=safe_mode)
