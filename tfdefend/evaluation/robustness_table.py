"""`robustness_table`: clean and per-attack accuracy, streamed over a dataset."""

import time

from tfdefend.evaluation.batching import iterate_batches
from tfdefend.evaluation.defense_table import MODES, check_attacks, defense_table
from tfdefend.evaluation.metrics import check_adversarial, correct_mask, perturbation_norms, predict_labels
from tfdefend.utils.validation import check_positive_int

NORM_KEYS = ("l0", "l1", "l2", "linf")


def robustness_table(model, data, attacks, *, batch_size=256, limit=None, per_pixel_l0=False,
                     defenses=None, modes=MODES, approximations=None, eot_samples=1):
    """Evaluates `model` clean and under each attack, in constant memory.

    With `defenses`, `model` is the classifier behind each preprocessing
    defense and the table is `defense_table`'s: per defense, clean accuracy
    and accuracy under each attack in the oblivious, gray-box and adaptive
    (BPDA/EOT) threat models.

    The data are streamed batch by batch: only running sums are kept, so a
    `tf.data.Dataset` of any length works. Attacks are given the true labels.

    Args:
        model: A `keras.Model` or callable returning logits.
        data: `(x, y)` arrays, or a `tf.data.Dataset` of `(x, y)` (batched or not).
        attacks: Mapping (or list of pairs) name -> `attack(model, x, y)`
            returning the adversarial batch; see `attack_suite`.
        batch_size: Batch size for unbatched or array data.
        limit: Evaluate at most this many samples.
        per_pixel_l0: Count l0 over spatial positions instead of elements.
        defenses: Optional mapping name -> preprocessor; see `defense_table`.
        modes, approximations, eot_samples: Passed to `defense_table`.

    Returns:
        A list of row dicts. The first row is "clean" (accuracy, n); each
        attack row holds `accuracy`, `success_rate` (over samples the model
        got right when clean), the mean `l0`/`l1`/`l2`/`linf` of the
        perturbation, the max `linf`, and the attack's `seconds`. With
        `defenses`: the rows of `defense_table`.
    """
    if defenses is not None:
        return defense_table(model, defenses, data, attacks, modes=modes, approximations=approximations,
                             eot_samples=eot_samples, batch_size=batch_size, limit=limit)
    batch_size = check_positive_int(batch_size, "batch_size")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    items = check_attacks(attacks)
    n = clean_correct = 0
    sums = {name: {"correct": 0, "fooled": 0, "seconds": 0.0, "max_linf": 0.0,
                   **{key: 0.0 for key in NORM_KEYS}} for name, _ in items}
    for x, y in iterate_batches(data, batch_size, limit):
        correct = correct_mask(model, x, y, batch_size=batch_size)
        n += len(y)
        clean_correct += int(correct.sum())
        for name, attack in items:
            start = time.perf_counter()
            x_adv = check_adversarial(name, x, attack(model, x, y))
            acc = sums[name]
            acc["seconds"] += time.perf_counter() - start
            adv_correct = predict_labels(model, x_adv, batch_size=batch_size) == y
            acc["correct"] += int(adv_correct.sum())
            acc["fooled"] += int((correct & ~adv_correct).sum())
            norms = perturbation_norms(x, x_adv, per_pixel=per_pixel_l0)
            for key in NORM_KEYS:
                acc[key] += float(norms[key].sum())
            acc["max_linf"] = max(acc["max_linf"], float(norms["linf"].max()))
    if n == 0:
        raise ValueError("`data` holds no samples.")
    rows = [{"attack": "clean", "accuracy": clean_correct / n, "n": n}]
    for name, _ in items:
        acc = sums[name]
        rows.append({
            "attack": name,
            "accuracy": acc["correct"] / n,
            "success_rate": acc["fooled"] / clean_correct if clean_correct else float("nan"),
            **{key: acc[key] / n for key in NORM_KEYS},
            "max_linf": acc["max_linf"],
            "seconds": acc["seconds"],
            "n": n,
        })
    return rows


def format_table(rows, columns=("attack", "accuracy", "success_rate", "l0", "l2", "linf", "seconds")):
    """Formats table rows as a Markdown table (missing cells are blank)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, float):
                value = f"{100 * value:.1f}%" if column in ("accuracy", "success_rate") else f"{value:.4g}"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
