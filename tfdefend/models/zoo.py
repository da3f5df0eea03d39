"""The pretrained zoo: trained weights shipped in the package, with a manifest.

`zoo/manifest.json` lists every entry with its file, sha256, data set,
clean test accuracy and the exact command that reproduces it. Loading checks
the sha256 and uses Keras `safe_mode`, so a tampered or truncated file is
refused instead of executed.
"""

import json
import os

from tfdefend.utils.hashing import sha256_file

ZOO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo")
MANIFEST_PATH = os.path.join(ZOO_DIR, "manifest.json")


def read_manifest(path=None):
    """Returns the zoo manifest as a dict name -> entry (empty if none)."""
    path = path or MANIFEST_PATH
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["models"]


def list_pretrained(dataset=None, kind=None, defense=None):
    """Returns the sorted names of the shipped pretrained models, optionally filtered.

    Args:
        dataset: Only entries trained on this data set.
        kind: Only entries of this kind ("classifier", "preprocessor", ...).
        defense: Only classifiers trained with this defense: "none",
            "pgd-at", "deepdefense", "knowledge-transfer" (the manifest's
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


def load_pretrained(name, *, compile=False):
    """Loads pretrained model `name` offline, after checking its sha256.

    Args:
        name: One of `list_pretrained()`.
        compile: Passed to `keras.models.load_model`.

    Returns:
        The Keras model (loaded with `safe_mode=True`).

    Raises:
        ValueError: Unknown name, or the file's sha256 does not match the manifest.
        FileNotFoundError: If the weights file is missing from the install.
    """
    import keras

    import tfdefend.models  # noqa: F401 - registers the classes for deserialization

    entry = pretrained_info(name)
    path = os.path.join(ZOO_DIR, entry["file"])
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Weights of {name!r} are missing: {path!r} (reinstall tfdefend).")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        raise ValueError(f"sha256 mismatch for {name!r}: manifest {entry['sha256']}, file {digest}; "
                         "the file is corrupted or was modified.")
    return keras.models.load_model(path, compile=compile, safe_mode=True)
