"""`SensitivePointCache`: AdvMask's sensitive-point masks, computed once and cached on disk."""

import hashlib
import json
import os
import time
import warnings

import numpy as np

from tfdefend.augment.sensitive_points import sensitive_points
from tfdefend.utils import atomic_path, atomic_write_text, sha256_file
from tfdefend.utils.validation import check_int

FORMAT = 1
MASKS_FILE = "masks.npy"
MANIFEST_FILE = "manifest.json"


def model_sha256(model):
    """sha256 of a Keras model's class name and weights (shapes, dtypes, values, in order)."""
    if not hasattr(model, "get_weights"):
        raise TypeError(f"`model` must be a keras.Model (its weights are hashed), got {type(model).__name__}.")
    digest = hashlib.sha256(type(model).__name__.encode())
    for w in model.get_weights():
        w = np.ascontiguousarray(w)
        digest.update(f"{w.dtype.str}{w.shape}".encode())
        digest.update(w.tobytes())
    return digest.hexdigest()


def data_sha256(x, y):
    """sha256 of the images (as float32) and labels (as int64, or None)."""
    x = np.ascontiguousarray(np.asarray(x, np.float32))
    digest = hashlib.sha256(f"x{x.shape}".encode())
    digest.update(x.tobytes())
    if y is None:
        digest.update(b"y=None")
    else:
        y = np.ascontiguousarray(np.asarray(y).astype(np.int64))
        digest.update(f"y{y.shape}".encode())
        digest.update(y.tobytes())
    return digest.hexdigest()


def _canonical(kwargs):
    try:
        return json.loads(json.dumps(kwargs, sort_keys=True))
    except (TypeError, ValueError):
        raise TypeError(f"attack keyword arguments must be JSON-serializable (numbers, strings, lists), "
                        f"got {kwargs!r}.") from None


class SensitivePointCache:
    """Computes AdvMask's sensitive-point masks with `sensitive_points` and caches them in a directory.

    The directory holds `masks.npy` (uint8 [N, H, W, 1]) and `manifest.json`
    with the sha256 of the model's weights, of the data, of `masks.npy`, and
    the attack keyword arguments. `compute_or_load` loads the masks when all
    of them match and recomputes (batch by batch) otherwise, e.g. after the
    model was trained further, on other data, or with another `eps`. A
    missing, unreadable or inconsistent manifest or mask file is recomputed
    with a warning. Both files are written atomically, masks first, so a
    crash never leaves a manifest that vouches for other masks.

    Args:
        batch_size: Images per `sensitive_points` call (int >= 1).
        verbose: Print progress while computing.

    Attributes:
        last_action: "loaded", "computed" (nothing cached yet) or
            "recomputed" after the latest `compute_or_load`.
        last_reason: Why the cache was not used (None when loaded).
    """

    def __init__(self, batch_size=256, *, verbose=False):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.verbose = bool(verbose)
        self.last_action = None
        self.last_reason = None

    def compute_or_load(self, model, x, y, directory, **attack_kwargs):
        """Returns the masks of `x` for `model`, from `directory` if cached there for the same inputs.

        Args:
            model: The (trained) `keras.Model` whose sensitive points are wanted.
            x: Images [N, H, W, C] in [0, 1].
            y: True labels [N], or None for the model's predictions.
            directory: Cache directory (created if needed).
            **attack_kwargs: Arguments of `sensitive_points` (`eps` is required;
                e.g. `steps`, `lam`, `eta`, `seed`); JSON-serializable.

        Returns:
            float32 NumPy masks [N, H, W, 1] of 0/1.

        Raises:
            TypeError: A model without weights, non-JSON attack arguments.
            ValueError: Bad images/labels or attack arguments (from `sensitive_points`).
        """
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"`directory` must be a path, got {type(directory).__name__}.")
        x = np.asarray(x, np.float32)
        if x.ndim != 4 or x.shape[0] == 0:
            raise ValueError(f"`x` must have shape [N, height, width, channels] with N >= 1, got {x.shape}.")
        kwargs = _canonical(attack_kwargs)
        expected = {"format": FORMAT, "model_sha256": model_sha256(model), "data_sha256": data_sha256(x, y),
                    "attack_kwargs": kwargs}
        masks_path = os.path.join(directory, MASKS_FILE)
        manifest_path = os.path.join(directory, MANIFEST_FILE)
        reason = self._check_cache(masks_path, manifest_path, expected, x.shape)
        if reason is None:
            self.last_action, self.last_reason = "loaded", None
            return np.load(masks_path, allow_pickle=False).astype(np.float32)
        self.last_action = "computed" if reason == "no cache" else "recomputed"
        self.last_reason = reason
        masks, info = self._compute(model, x, y, attack_kwargs)
        os.makedirs(directory, exist_ok=True)
        with atomic_path(masks_path) as tmp:
            np.save(tmp, masks.astype(np.uint8))
        manifest = {**expected, "masks_sha256": sha256_file(masks_path), "shape": list(masks.shape),
                    "mean_points": float(info["l0"].mean()), "success_rate": float(info["success"].mean()),
                    "dense_success_rate": float(info["dense_success"].mean()),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return masks

    def _check_cache(self, masks_path, manifest_path, expected, x_shape):
        """None if the cache is valid, else the reason (str)."""
        if not os.path.exists(manifest_path):
            return "no cache"
        try:
            with open(manifest_path, encoding="utf-8") as handle:
                manifest = json.load(handle)
        except (OSError, ValueError) as err:
            manifest, problem = None, str(err)
        else:
            problem = None if isinstance(manifest, dict) else "not a JSON object"
        if problem is not None:
            warnings.warn(f"Unreadable sensitive-point manifest {manifest_path!r} ({problem}); recomputing.",
                          stacklevel=3)
            return "corrupt manifest"
        for key in ("format", "model_sha256", "data_sha256", "attack_kwargs"):
            if manifest.get(key) != expected[key]:
                return f"{key} changed"
        if manifest.get("shape") != list(x_shape[:3]) + [1]:
            return "shape changed"
        if not os.path.exists(masks_path) or sha256_file(masks_path) != manifest.get("masks_sha256"):
            warnings.warn(f"Sensitive-point masks {masks_path!r} are missing or do not match the manifest; "
                          "recomputing.", stacklevel=3)
            return "masks file changed"
        return None

    def _compute(self, model, x, y, attack_kwargs):
        parts, infos = [], []
        n = len(x)
        y = None if y is None else np.asarray(y)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            masks, info = sensitive_points(model, x[start:stop], None if y is None else y[start:stop],
                                           return_info=True, **attack_kwargs)
            parts.append(masks)
            infos.append(info)
            if self.verbose:
                print(f"  sensitive points: {stop}/{n} images", flush=True)
        info = {key: np.concatenate([i[key] for i in infos]) for key in infos[0]}
        return np.concatenate(parts).astype(np.float32), info
