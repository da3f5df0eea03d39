"""More README row mappings (see `readme_maps`): AutoAdversary, PGD speed, streaming, fuzz tests."""

import os
import re

from tests.docs.readme_tables import label, lookup


def only(files):
    """The single cited file's data."""
    if len(files) != 1:
        raise KeyError(f"this mapping reads one file, the marker cites {len(files)}")
    return next(iter(files.values()))


_AA_DATA = {"Fashion": "fashion_mnist", "MNIST-5k": "mnist", "colour patches": "photo_patches"}
_AA_METHODS = {
    "PGD ASR / l0": "PGD",
    "PGD* ASR / l0": "PGD*",
    "BIM* ASR / l0": "BIM*",
    "MI-FGSM* ASR / l0": "MI-FGSM*",
    "JSMA ASR / l0": "JSMA",
    "C&W-L2 ASR / l0": "C&W-L2",
}


def _threshold(text):
    if "/" in text:
        top, bottom = text.split("/")
        return f"{int(top) / int(bottom):.4f}"
    return f"{float(text):.4f}"


def auto_adversary(row, files, options):
    """ASR / l0 per data set and budget; "–" where no image succeeded; JSMA's "(N images)" is its limit."""
    data, _, eps = label(row["data, ε"]).partition(", ")
    dataset = lookup(_AA_DATA, data, "data set")
    result = next((r for r in only(files)["results"] if r["dataset"] == dataset), None)
    if result is None:
        raise KeyError(f"data set {dataset!r} is not in the file")
    threshold = _threshold(eps)
    expected = {}
    for header, method in _AA_METHODS.items():
        cell = row.get(header, "")
        wanted_threshold = "none" if method == "C&W-L2" else threshold
        found = [
            r
            for r in result["rows"]
            if r["threshold"] == wanted_threshold
            and (r["method"] == method or (method in ("JSMA", "C&W-L2") and r["method"].startswith(method)))
        ]
        if method == "C&W-L2" and not cell:
            expected[header] = None  # shown once per data set
            continue
        if len(found) != 1:
            raise KeyError(f"{method} at {wanted_threshold}: {len(found)} rows in the file")
        entry = found[0]
        values = [entry["asr"]] + ([] if entry["l0"] is None else [entry["l0"]])
        if "images" in cell:
            values.append(result["jsma_limit"])
        expected[header] = values
    return expected


_SPEED_ROWS = {
    "raw limit": "raw limit (10 x fwd+bwd)",
    "tfdefend.attacks.pgd": "tfdefend.attacks.pgd",
    "ART": "ART PGD",
    "foolbox": "foolbox PGD",
}


def attack_speed(row, files, options):
    name = label(row["method"])
    key = next((key for prefix, key in _SPEED_ROWS.items() if name.startswith(prefix)), None)
    entry = next((r for r in only(files)["results"] if r["method"] == key), None)
    if entry is None:
        raise KeyError(f"method {name!r} is not in the file")
    return {
        "seconds": [entry["seconds"]],
        "images/s": [entry["images_per_s"]],
        "vs the raw limit": [entry["ratio_to_limit"]],
    }


def streaming(row, files, options):
    """Seconds, seconds per 1,000 images, peak RSS and its growth during evaluation, per data set size."""
    n = int(label(row["images"]).replace(",", ""))
    entry = next((r for r in only(files)["results"] if r["n"] == n), None)
    if entry is None:
        raise KeyError(f"size {n} is not in the file")
    return {
        "images": [n],
        "seconds": [entry["seconds"]],
        "s / 1k images": [entry["seconds"] / n * 1000],
        "peak RSS": [entry["peak_rss_mb"]],
        "RSS growth during evaluation": [entry["growth_mb"]],
    }


def fuzz_examples(row, files, options):
    """The generated cases of a fuzz test file: the sum of its Hypothesis `max_examples` settings."""
    name = label(row["file"])
    text = next((text for path, text in files.items() if os.path.basename(path) == name), None)
    if text is None:
        raise KeyError(f"{name} is not among the cited files")
    return {"examples": [sum(int(n) for n in re.findall(r"max_examples\s*=\s*(\d+)", text))]}


MORE_MAPS = {
    "auto_adversary": auto_adversary,
    "attack_speed": attack_speed,
    "streaming": streaming,
    "fuzz_examples": fuzz_examples,
}
