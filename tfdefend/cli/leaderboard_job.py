"""The job behind `tfdefend leaderboard`: AutoAttack on every zoo classifier and defense of a data set."""

import json
import os
import tempfile

from tfdefend.cli.job_helpers import CALIBRATION_IMAGES

# Preprocessors the registry builds without training, with the parameters they are evaluated at.
BUILT_DEFENSES = (("jpeg", {"quality": 75}, "jpeg_q75"), ("bit_depth", {"bits": 4}, "bit_depth_4"),
                  ("median", {"size": 2}, "median_2x2"))
IDENTITY_BPDA = {"jpeg", "bit_depth", "median"}


def _classifier_entries(loaded, shas):
    from tfdefend.models.zoo import pretrained_info

    plain = [name for name in loaded if pretrained_info(name).get("defense", "none") == "none"]
    entries = []
    for name, model in loaded.items():
        surrogate = next((other for other in plain if other != name), None)
        entries.append({"name": name, "kind": "classifier", "model": model,
                        "threat": "white-box, own gradients",
                        "transfer_from": loaded[surrogate] if surrogate else None, "fingerprint": shas[name]})
    return entries


def _defense_entry(name, preprocessor, classifier_name, classifier, fingerprint, registry_name):
    from tfdefend.attacks import bpda
    from tfdefend.models import DefendedClassifier

    deployed = DefendedClassifier(preprocessor, classifier)
    if hasattr(preprocessor, "differentiable_approximation"):
        threat, attack_model = "BPDA (straight-through binarizer)", bpda(deployed)
    elif registry_name in IDENTITY_BPDA:
        threat, attack_model = "BPDA (identity)", bpda(deployed, approximation="identity")
    elif registry_name == "rl_denoiser_chain":
        threat, attack_model = "end to end through its tools", None
    else:
        threat, attack_model = "end to end, own gradients", None
    return {"name": name, "kind": "defense", "model": deployed, "attack_model": attack_model,
            "threat": f"{threat} -> {classifier_name}", "transfer_from": classifier, "fingerprint": fingerprint}


def _students_for(preprocessor, classifiers):
    """The knowledge-transfer students trained behind `preprocessor` (UDDN's), among the zoo `classifiers`."""
    from tfdefend.models.zoo import pretrained_info

    if not preprocessor.startswith("uddn"):
        return []
    return [c for c in classifiers if pretrained_info(c).get("defense") == "knowledge-transfer"]


def entry_names(dataset, *, include_tflite=True):
    """The names of `dataset`'s leaderboard entries, in the order `build_entries` builds them (no TensorFlow)."""
    from tfdefend.models.zoo import list_pretrained

    names = list_pretrained(dataset=dataset, kind="classifier")
    out = list(names)
    for name in list_pretrained(dataset=dataset, kind="preprocessor"):
        out.append(name)
        out += [f"{name} + {c}" for c in _students_for(name, names)]
    out += [label for _, _, label in BUILT_DEFENSES]
    return out + ([f"{name} (int8 TFLite)" for name in names] if include_tflite else [])


def check_only(dataset, only, include_tflite):
    """All entry names of `dataset` (see `entry_names`); ValueError if `only` names one that is not among them."""
    known = entry_names(dataset, include_tflite=include_tflite)
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise ValueError(f"Unknown leaderboard entries {unknown}; known: {', '.join(known)}.")
    return known


def build_entries(dataset, *, include_tflite=True, only=None, workdir=None, log=None):
    """The leaderboard entries of `dataset`: zoo classifiers, defenses in front of the default one, int8 files.

    Args:
        dataset: A data set with zoo classifiers.
        include_tflite: Also the int8 TFLite file of each classifier
            (converted into `workdir`).
        only: Build only these entry names (see `entry_names`).
        workdir: Folder for the `.tflite` files.
        log: Called with a line before each slow step.

    Raises:
        ValueError: A data set without a default zoo classifier; unknown names in `only`.
    """
    known = check_only(dataset, only, include_tflite)
    wanted = set(only or known)
    from tfdefend import data, models
    from tfdefend.models.zoo import default_pretrained, list_pretrained, pretrained_info

    say = log or (lambda _: None)
    default = default_pretrained(dataset)
    names = list_pretrained(dataset=dataset, kind="classifier")
    say(f"Loading {len(names)} zoo classifiers of {dataset} ...")
    loaded = {name: models.load_pretrained(name) for name in names}
    shas = {name: pretrained_info(name)["sha256"] for name in names}
    entries = [e for e in _classifier_entries(loaded, shas) if e["name"] in wanted]
    for name in list_pretrained(dataset=dataset, kind="preprocessor"):
        info = pretrained_info(name)
        students = _students_for(name, names)
        if not wanted & {name, *(f"{name} + {s}" for s in students)}:
            continue
        pre = models.load_pretrained(name)
        if name in wanted:
            entries.append(_defense_entry(name, pre, default, loaded[default], info["sha256"] + shas[default],
                                          info["model"]))
        for student in students:
            if f"{name} + {student}" in wanted:
                entries.append(_defense_entry(f"{name} + {student}", pre, student, loaded[student],
                                              info["sha256"] + shas[student], info["model"]))
    for registry_name, overrides, label in BUILT_DEFENSES:
        if label in wanted:
            pre = models.create_model(registry_name, **overrides)
            entries.append(_defense_entry(label, pre, default, loaded[default],
                                          json.dumps(overrides) + shas[default], registry_name))
    if include_tflite:
        from tfdefend.export import TFLiteScores, export_tflite

        calibration, _ = data.load(dataset, "train", as_numpy=True, limit=CALIBRATION_IMAGES)
        for name in names:
            if f"{name} (int8 TFLite)" not in wanted:
                continue
            say(f"Converting {name} to int8 TFLite ...")
            path = export_tflite(loaded[name], os.path.join(workdir, f"{name}_int8.tflite"),
                                 quantization="int8", representative_data=calibration, overwrite=True)
            entries.append({"name": f"{name} (int8 TFLite)", "kind": "tflite", "model": TFLiteScores(path),
                            "threat": "Square in LiteRT (scores only)", "eight_bit": True,
                            "fingerprint": shas[name] + "int8"})
    return entries


def leaderboard_job(*, dataset, norm, eps, n_examples, steps, queries, check_n, only, include_tflite, seed,
                    batch_size, output, report_only=False, log=None):
    """Runs the leaderboard and writes OUTPUT/leaderboard_NORM.{json,md,png}; returns the Markdown."""
    from tfdefend import data
    from tfdefend.evaluation.leaderboard import leaderboard, to_jsonable
    from tfdefend.evaluation.leaderboard_report import format_leaderboard, plot_leaderboard
    from tfdefend.utils import atomic_write_text
    from tfdefend.utils import validation as V

    say = log or (lambda _: None)
    if eps is None:
        if norm != "inf":
            raise ValueError("`--eps` is required with `--norm l2` (e.g. 1.5 for 28x28 gray images).")
        eps = data.dataset_info(dataset).attack_eps
    if n_examples is not None:
        V.check_positive_int(n_examples, "--n-examples")
    check_only(dataset, only, include_tflite)  # before any data or model is loaded
    x, y = data.load(dataset, "test", as_numpy=True, limit=n_examples)
    os.makedirs(output, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tfdefend_leaderboard_") as workdir:
        entries = build_entries(dataset, include_tflite=include_tflite, only=only, workdir=workdir, log=say)
        rows = leaderboard(entries, x, y, eps=eps, norm=norm, steps=steps, queries=queries, check_n=check_n,
                           seed=seed, batch_size=batch_size, cache_dir=os.path.join(output, "rows"),
                           cached_only=report_only, log=say)
    if not rows:
        raise ValueError(f"No leaderboard row with these settings in {os.path.join(output, 'rows')} yet.")
    norm_text = "L-inf" if norm == "inf" else "L2"
    title = (f"AutoAttack leaderboard, {dataset}, {norm_text} eps = {eps:g}, the first {len(y):,} test images "
             f"({'the full test split' if n_examples is None else '--n-examples'})")
    if len(rows) < len(entries):
        title += f"; {len(rows)} of {len(entries)} entries measured so far"
    stem = os.path.join(output, f"leaderboard_{norm}")
    result = {"dataset": dataset, "norm": norm, "eps": eps, "n": int(len(y)), "n_examples": n_examples,
              "steps": steps, "queries": queries,
              "check_n": check_n, "seed": seed, "rows": rows}
    atomic_write_text(stem + ".json", json.dumps(result, indent=2, default=to_jsonable) + "\n")
    text = format_leaderboard(rows, title=title)
    atomic_write_text(stem + ".md", text + "\n")
    plot_leaderboard(rows, stem + ".png", title=f"{dataset}, {norm_text} eps={eps:g}, n={len(y):,}")
    return text + f"\n\nwrote {stem}.md, {stem}.json and {stem}.png"
