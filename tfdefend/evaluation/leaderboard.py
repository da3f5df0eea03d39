"""`leaderboard`: AutoAttack robust accuracy and gradient-masking checks for a list of models and defenses.

Each entry is evaluated the way its threat model asks (Carlini et al. 2019):

- a Keras classifier, or a defense whose gradients are informative (a
  denoising network, the RL chain through its chosen tools), is attacked
  end to end with its own gradients;
- a defense with useless gradients (JPEG, quantization, a median filter,
  ComDefend's binarized code) is attacked through a BPDA wrapper (its
  forward pass is exactly the deployed one);
- a randomized defense (one whose outputs differ between two calls on the
  same images) is attacked with AutoAttack's "rand" version (APGD over EOT);
- a deployed `.tflite` artifact (a scores function without gradients) is
  attacked with the Square Attack alone, on what the interpreter computes.

Rows are written one by one into `cache_dir` (when given) and a rerun with
the same settings skips the rows already there, so a killed run resumes.
"""

import hashlib
import json
import math
import os
import time

import numpy as np

from tfdefend.attacks import get as get_attack
from tfdefend.evaluation.masking_checks import masking_checks
from tfdefend.evaluation.metrics import predict_labels
from tfdefend.utils import atomic_write_text
from tfdefend.utils import validation as V

KINDS = ("classifier", "defense", "tflite")
_ENTRY_KEYS = {"name", "kind", "model", "attack_model", "threat", "transfer_from", "eight_bit", "fingerprint"}


def check_entry(entry):
    """Validates one leaderboard entry (a dict); returns it with defaults filled in.

    Keys: `name` (str), `kind` ("classifier", "defense" or "tflite"),
    `model` (the deployed model: logits callable, or a scores function for
    "tflite"), optional `attack_model` (the differentiable stand-in white-box
    attacks use, e.g. `bpda(...)`; default `model`), `threat` (how it is
    attacked, in words), `transfer_from` (a surrogate for the transfer
    check), `eight_bit` (tflite: inputs are 8-bit pixels, so the L-inf budget
    is rounded down to a multiple of 1/255) and `fingerprint` (a string that
    changes when the weights change, e.g. their sha256s; part of the cache key).

    Raises:
        TypeError: `entry` is not a dict, or `model` is not callable.
        ValueError: Missing or unknown keys, a bad `name` or `kind`.
    """
    if not isinstance(entry, dict):
        raise TypeError(f"Each leaderboard entry must be a dict, got {type(entry).__name__}.")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise ValueError(f"Unknown leaderboard entry keys {unknown}; known keys: {sorted(_ENTRY_KEYS)}.")
    name = entry.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"A leaderboard entry needs a non-empty `name` without '/', got {name!r}.")
    if entry.get("kind") not in KINDS:
        raise ValueError(f"Entry {name!r}: `kind` must be one of {KINDS}, got {entry.get('kind')!r}.")
    for key in ("model", "attack_model", "transfer_from"):
        if entry.get(key) is not None and not callable(entry[key]):
            raise TypeError(f"Entry {name!r}: `{key}` must be callable, got {type(entry[key]).__name__}.")
    if entry.get("model") is None:
        raise ValueError(f"Entry {name!r} has no `model`.")
    default_threat = "Square in LiteRT (scores only)" if entry["kind"] == "tflite" else "white-box, own gradients"
    return {"attack_model": None, "transfer_from": None, "eight_bit": False, "fingerprint": "",
            "threat": default_threat, **entry}


def _settings(eps, norm, steps, queries, check_n, seed, n):
    return {"eps": eps, "norm": norm, "steps": steps, "queries": queries, "check_n": check_n, "seed": seed,
            "n": n}


def _cache_path(cache_dir, entry, settings):
    key = json.dumps({**settings, "fingerprint": entry["fingerprint"], "threat": entry["threat"]}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return os.path.join(cache_dir, f"{entry['name']}-{settings['norm']}-{digest}.json")


def is_randomized(model, x):
    """Whether `model` gives different logits on two calls with the same images (a randomized defense)."""
    first, second = np.asarray(model(x)), np.asarray(model(x))
    return not np.allclose(first, second, atol=1e-5)


def _evaluate_tflite(entry, x, y, *, eps, norm, queries, seed, batch_size):
    scores = entry["model"]
    eps_used = math.floor(eps * 255 + 1e-6) / 255 if norm == "inf" and entry["eight_bit"] else eps
    began = time.perf_counter()
    correct = predict_labels(scores, x, batch_size=batch_size) == y
    robust = correct.copy()
    todo = np.flatnonzero(correct)
    for chunk in np.array_split(todo, max(1, math.ceil(todo.size / batch_size))):
        if chunk.size == 0:  # never query an empty batch
            continue
        x_adv = get_attack("square")(scores, x[chunk], y[chunk], eps=eps_used, norm=norm, queries=queries,
                                     seed=seed)
        robust[chunk] = predict_labels(scores, x_adv, batch_size=batch_size) == y[chunk]
    seconds = time.perf_counter() - began
    attack = {"name": "square", "robust_accuracy": float(robust.mean()), "broken": int(correct.sum() - robust.sum()),
              "ran_on": int(correct.sum()), "seconds": seconds, "cost_per_image": queries}
    note = ("black-box only (no gradients in LiteRT): an upper bound on the robust accuracy; "
            + (f"8-bit inputs, so eps = {eps_used:.5f} ({round(eps_used * 255)}/255)" if eps_used != eps else ""))
    return {"clean_accuracy": float(correct.mean()), "robust_accuracy": float(robust.mean()),
            "eps_used": eps_used, "version": "square", "attacks": [attack], "masking": None,
            "warnings": [], "note": note.rstrip("; ")}


def _evaluate_keras(entry, x, y, *, eps, norm, steps, queries, check_n, seed, batch_size):
    model = entry["model"]
    attack_model = entry["attack_model"] or model
    randomized = is_randomized(model, x[:min(len(x), 16)])
    version = "rand" if randomized else "standard"
    _, report = get_attack("auto_attack")(attack_model, x, y, eps=eps, norm=norm, version=version,
                                          steps=steps, queries=queries, seed=seed, batch_size=batch_size)
    m = min(check_n, len(x))
    masking = None
    if m > 0:
        masking = masking_checks(model, x[:m], y[:m], eps=eps, norm=norm,
                                 attack_model=entry["attack_model"], transfer_from=entry["transfer_from"],
                                 steps=steps, seed=seed, batch_size=batch_size)
    return {"clean_accuracy": report["clean_accuracy"], "robust_accuracy": report["robust_accuracy"],
            "eps_used": eps, "version": version, "attacks": report["attacks"], "masking": masking,
            "warnings": list(masking["warnings"]) if masking else [], "note": ""}


def evaluate_entry(entry, x, y, *, eps, norm="inf", steps=100, queries=5000, check_n=500, seed=0, batch_size=500):
    """One leaderboard row: clean and AutoAttack robust accuracy, per-attack figures, masking checks.

    Args:
        entry: A dict as `check_entry` describes.
        x: Images [N, H, W, C] in [0, 1].
        y: True int labels [N].
        eps: The budget in `norm`.
        norm: "inf" or "l2".
        steps: APGD / FAB iterations.
        queries: Square Attack queries per image.
        check_n: Images (the first ones) the gradient-masking checks run on;
            0 skips them.
        seed: Seed of every random start and search.
        batch_size: Images per attack call.

    Returns:
        A dict: `name`, `kind`, `threat`, `n`, `eps`, `eps_used`, `norm`,
        `version`, `clean_accuracy`, `robust_accuracy`, `attacks` (as
        `auto_attack`'s report), `masking` (`masking_checks`' result or
        None), `warnings`, `note`, `seconds`.
    """
    entry = check_entry(entry)
    norm = V.check_norm(norm)
    eps = V.check_eps(eps, norm=norm, clip=(0.0, 1.0))
    x = np.asarray(x, np.float32)
    y = np.asarray(y).astype(np.int64)
    began = time.perf_counter()
    if entry["kind"] == "tflite":
        row = _evaluate_tflite(entry, x, y, eps=eps, norm=norm, queries=queries, seed=seed, batch_size=batch_size)
    else:
        row = _evaluate_keras(entry, x, y, eps=eps, norm=norm, steps=steps, queries=queries, check_n=check_n,
                              seed=seed, batch_size=batch_size)
    return {"name": entry["name"], "kind": entry["kind"], "threat": entry["threat"],
            "fingerprint": entry["fingerprint"], "n": int(len(y)), "eps": eps,
            "norm": norm, **row, "check_n": 0 if entry["kind"] == "tflite" else min(check_n, len(y)),
            "seconds": time.perf_counter() - began}


def leaderboard(entries, x, y, *, eps, norm="inf", steps=100, queries=5000, check_n=500, seed=0, batch_size=500,
                cache_dir=None, cached_only=False, log=None):
    """Evaluates every entry (see `evaluate_entry`) and returns the rows, best robust accuracy first.

    With `cache_dir`, each finished row is written there atomically, and a
    row already there for the same entry (name, threat, fingerprint) and
    settings is read back instead of recomputed: a killed run resumes.
    `cached_only=True` computes nothing: it returns the rows already in
    `cache_dir` (a report of a run still going or stopped half-way).

    Raises:
        ValueError / TypeError: Bad entries (see `check_entry`), duplicate
            names, an empty `x` or labels that do not match it.
    """
    entries = [check_entry(e) for e in entries]
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"Leaderboard entry names must be unique, got {names}.")
    x = np.asarray(x, np.float32)
    y = np.asarray(y)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"`x` must be a non-empty image batch [N, H, W, C], got shape {x.shape}.")
    if y.shape != (len(x),):
        raise ValueError(f"`y` must hold one label per image, shape ({len(x)},), got {y.shape}.")
    if cached_only and not cache_dir:
        raise ValueError("`cached_only=True` needs the `cache_dir` to read the rows from.")
    say = log or (lambda _: None)
    settings = _settings(eps, V.check_norm(norm), steps, queries, check_n, seed, len(x))
    rows = []
    for i, entry in enumerate(entries, 1):
        path = _cache_path(cache_dir, entry, settings) if cache_dir else None
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                rows.append(json.load(handle))
            say(f"[{i}/{len(entries)}] {entry['name']}: read back from {path}")
            continue
        if cached_only:
            say(f"[{i}/{len(entries)}] {entry['name']}: not measured yet with these settings")
            continue
        say(f"[{i}/{len(entries)}] {entry['name']} ({entry['threat']}) on {len(x):,} images ...")
        row = evaluate_entry(entry, x, y, eps=eps, norm=norm, steps=steps, queries=queries, check_n=check_n,
                             seed=seed, batch_size=batch_size)
        say(f"    clean {100 * row['clean_accuracy']:.2f}%, robust {100 * row['robust_accuracy']:.2f}% "
            f"({row['seconds']:.0f} s){'; ' + '; '.join(row['warnings']) if row['warnings'] else ''}")
        if path:
            atomic_write_text(path, json.dumps(row, indent=2, default=to_jsonable) + "\n")
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["robust_accuracy"], -r["clean_accuracy"], r["name"]))


def to_jsonable(value):
    """`json.dumps` default for the NumPy scalars and arrays a row may hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot write {type(value).__name__} to JSON.")
