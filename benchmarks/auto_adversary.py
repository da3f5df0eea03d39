"""AutoAdversary vs dense and sparse attacks (seed 003, Tables 3-3 and 3-7) on our data.

For each data set (`--datasets`: fashion_mnist -> zoo `small_cnn_fashion_mnist`,
mnist (MNIST-5k) -> `small_cnn_mnist`, colour -> the held-out 32x32 RGB
`photo_patches` and `small_cnn_photo_patches`, where l0 counts a pixel
once across its 3 channels) the first `--limit` test images that the
classifier gets right are attacked:

* per L-inf budget (8/255, 16/255 and the data set's usual eps): dense PGD-10
  (random start, step 2.5 eps / 10), BIM-10 and MI-FGSM-10, each followed by
  its AutoAdversary pruning (marked *), and JSMA with theta = eps (so
  l-inf = eps; random targets, gamma `--jsma-gamma`; only the first
  `--jsma-limit` images, as it is by far the slowest attack here);
* C&W-L2 (5 x 100), which has no L-inf budget, once per data set;
* the ablation (Table 3-7) for PGD at the usual eps: (1) dense; (2) dense
  restricted to random pixels, as many per image as AutoAdversary keeps;
  (3) dense with an L1 penalty on delta (`l1_penalized_pgd`, weight 0.1);
  (4) the mask without encoder (a free logit per pixel); (5) the full method.
  Every encoder runs with its default Adam rate (`DEFAULT_MASK_LR`).

Columns: ASR (% of the attacked images misclassified; untargeted success,
also for the targeted JSMA), then mean l0 (changed pixels, a pixel counted
once across channels), l1, l2, l-inf of `x_adv - x` over the successful
images (`tfdefend.evaluation.perturbation_norms(per_pixel=True)`), and
seconds ("-": no successful image). Prints Markdown; writes `results.json` and `table.md` to `--output`.
`--merge` keeps the other data sets of an earlier `results.json` with the
same settings, so one data set can be (re)run on its own.

Usage (`--limit 20 --jsma-limit 10`: ~10 CPU minutes; the full run takes hours on 2 CPUs):
    python benchmarks/auto_adversary.py --limit 500 --output benchmarks/results/auto_adversary
"""

import argparse
import json
import os
import time

import numpy as np

from tfdefend import attacks, data, models
from tfdefend.evaluation import perturbation_norms
from tfdefend.utils import atomic_write_text

CLASSIFIERS = {"fashion_mnist": "small_cnn_fashion_mnist", "mnist": "small_cnn_mnist",
               "photo_patches": "small_cnn_photo_patches"}
ALIASES = {"colour": "photo_patches", "color": "photo_patches"}
STEPS = 10
BASES = {"PGD": "pgd", "BIM": "bim", "MI-FGSM": "mifgsm"}  # table label -> the registry's dense attack
COLUMNS = ("asr", "l0", "l1", "l2", "linf", "seconds")


def _predict(model, x):
    return np.argmax(model.predict(x, batch_size=256, verbose=0), axis=1)


def _chunked(fn, x, y, batch_size):
    """Runs `fn(x_chunk, y_chunk)` (returning x_adv or (x_adv, info)) chunk by chunk."""
    outs, infos = [], []
    for start in range(0, len(x), batch_size):
        out = fn(x[start:start + batch_size], y[start:start + batch_size])
        if isinstance(out, tuple):
            out, info = out
            infos.append(info)
        outs.append(out)
    info = {k: np.concatenate([i[k] for i in infos]) for k in infos[0]} if infos else None
    return np.concatenate(outs), info


def _row(method, threshold, model, x, y, x_adv, seconds):
    success = _predict(model, x_adv) != y
    norms = perturbation_norms(x, x_adv, per_pixel=True)
    row = {"threshold": threshold, "method": method, "n": len(x), "asr": 100.0 * float(success.mean())}
    for key in ("l0", "l1", "l2", "linf"):
        row[key] = float(norms[key][success].mean()) if success.any() else None  # no successful image
    row["seconds"] = round(seconds, 1)
    return row


def _timed(model, attack, x, y, batch_size):
    """Runs `attack(model, x_chunk, y_chunk)` over the chunks; returns (x_adv, info, seconds)."""
    start = time.perf_counter()
    x_adv, info = _chunked(lambda a, b: attack(model, a, b), x, y, batch_size)
    return x_adv, info, time.perf_counter() - start


def _dense(base, eps, seed):
    """The registry's dense attack `base`: PGD from a random start (step 2.5 * eps / STEPS), BIM, MI-FGSM."""
    attack = attacks.get(base)
    extra = {"step_size": 2.5 * eps / STEPS, "random_start": True, "seed": seed} if base == "pgd" else {}
    return lambda m, x, y: attack(m, x, y, eps=eps, steps=STEPS, **extra)


def _auto(base, eps, args, encoder="auto"):
    return lambda m, x, y: attacks.auto_adversary(
        m, x, y, base=base, eps=eps, steps=STEPS, lam=args.lam, mask_steps=args.mask_steps, encoder=encoder,
        seed=args.seed, return_info=True)


def _jsma(eps, gamma):
    return lambda m, x, target: attacks.jsma(m, x, target, theta=eps, gamma=gamma)


def _l1_pgd(eps):
    return lambda m, x, y: attacks.l1_penalized_pgd(m, x, y, eps=eps, steps=STEPS)


def _cw(m, x, y):
    return attacks.carlini_wagner_l2(m, x, y, binary_search_steps=5, steps=100)


def evaluate(dataset, args):
    """All rows for one data set: the comparison table and the ablation."""
    spec = data.dataset_info(dataset)
    model = models.load_pretrained(CLASSIFIERS[dataset])
    x, y = data.load(dataset, "test", as_numpy=True, limit=max(args.limit * 2, args.limit + 50))
    keep = np.flatnonzero(_predict(model, x) == y)[:args.limit]
    x, y = x[keep], y[keep]
    eps_list = []
    for eps in (8 / 255, 16 / 255, spec.attack_eps):
        if all(abs(eps - e) > 1e-9 for e in eps_list):
            eps_list.append(eps)
    rng = np.random.default_rng(args.seed)
    targets = ((y + rng.integers(1, spec.num_classes, size=y.shape)) % spec.num_classes).astype(np.int32)
    rows, cache = [], {}
    for eps in eps_list:
        label = f"{eps:.4f}"
        for name, base in BASES.items():
            x_adv, _, sec = _timed(model, _dense(base, eps, args.seed), x, y, args.batch_size)
            rows.append(_row(name, label, model, x, y, x_adv, sec))
            x_aa, info, sec = _timed(model, _auto(base, eps, args), x, y, args.batch_size)
            rows.append(_row(f"{name}*", label, model, x, y, x_aa, sec))
            cache[(name, eps)] = (x_adv, x_aa, info, rows[-2], rows[-1])
        print(f"  {dataset} eps={label}: dense and pruned attacks done", flush=True)
        k = min(len(x), args.jsma_limit)  # pairwise saliency: O(pixels^2) per step, so few images
        if k:
            x_adv, _, sec = _timed(model, _jsma(eps, args.jsma_gamma), x[:k], targets[:k], args.batch_size)
            rows.append(_row(f"JSMA (theta=eps, gamma={args.jsma_gamma}, n={k})", label, model, x[:k], y[:k],
                             x_adv, sec))
        print(f"  {dataset} eps={label} done", flush=True)
    x_adv, _, sec = _timed(model, _cw, x, y, args.batch_size)
    rows.append(_row("C&W-L2 (5x100)", "none", model, x, y, x_adv, sec))

    eps = spec.attack_eps
    dense, _, info, dense_row, full_row = cache[("PGD", eps)]
    label = f"{eps:.4f}"
    masked = attacks.random_mask_like(dense - x, info["l0"], seed=args.seed)
    random_adv = np.clip(x + masked, 0.0, 1.0)
    l1_adv, _, l1_sec = _timed(model, _l1_pgd(eps), x, y, args.batch_size)
    none_adv, _, none_sec = _timed(model, _auto("pgd", eps, args, encoder="none"), x, y, args.batch_size)
    ablation = [
        dict(dense_row, method="(1) Dense (PGD)"),
        _row("(2) Dense + random mask (same l0)", label, model, x, y, random_adv, 0.0),
        _row("(3) Dense + l1 on delta", label, model, x, y, l1_adv, l1_sec),
        _row("(4) Dense + l1 on m + binarization (no encoder)", label, model, x, y, none_adv, none_sec),
        dict(full_row, method="(5) Full AutoAdversary (encoder)"),
    ]
    return {"dataset": dataset, "classifier": CLASSIFIERS[dataset], "n": len(x), "usual_eps": eps,
            "rows": rows, "ablation": ablation}


def markdown(rows):
    """A Markdown table of result rows."""
    lines = ["| eps | method | ASR (%) | l0 | l1 | l2 | l-inf | seconds |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        norms = " | ".join("-" if r[k] is None else f"{r[k]:.{d}f}" for k, d in (("l0", 1), ("l1", 3), ("l2", 3),
                                                                                 ("linf", 3)))
        lines.append(f"| {r['threshold']} | {r['method']} | {r['asr']:.1f} | {norms} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def load_earlier(path, settings):
    """The JSON of an earlier run to merge, refused unless its settings match (JSMA's count may differ:
    each data set's JSMA rows carry their n)."""
    with open(path) as f:
        earlier = json.load(f)
    compared = [k for k in settings if k != "jsma_limit"]
    if any(earlier["settings"].get(k) != settings[k] for k in compared):
        raise ValueError(f"--merge {path} was run with other settings: {earlier['settings']}")
    return earlier


def section(result, args):
    """The Markdown section of one data set."""
    return (f"## {result['dataset']} ({result['classifier']}, {result['n']} correctly classified test images, "
            f"lam={args.lam}, mask_steps={args.mask_steps})\n\n{markdown(result['rows'])}\n\n"
            f"Ablation (PGD, eps={result['usual_eps']}):\n\n{markdown(result['ablation'])}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=500, help="correctly classified test images per data set")
    parser.add_argument("--datasets", nargs="+", default=["fashion_mnist", "mnist", "colour"])
    parser.add_argument("--output", default="benchmarks/results/auto_adversary")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lam", type=float, default=5.0)
    parser.add_argument("--mask-steps", type=int, default=100)
    parser.add_argument("--jsma-gamma", type=float, default=0.5)
    parser.add_argument("--jsma-limit", type=int, default=100,
                        help="JSMA is slow (pixels^2 per step): images it attacks, 0 for none; "
                             "its rows say how many")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--merge", default=None, metavar="RESULTS_JSON",
                        help="keep the other data sets of this earlier run (same settings)")
    args = parser.parse_args(argv)
    settings = {k: getattr(args, k) for k in ("limit", "lam", "mask_steps", "jsma_gamma", "jsma_limit", "seed",
                                          "batch_size")}
    earlier = load_earlier(args.merge, settings) if args.merge else None  # refused before hours of attacks
    datasets = [ALIASES.get(name, name) for name in args.datasets]
    results, notes = [], []
    for dataset in datasets:
        if dataset not in CLASSIFIERS:
            notes.append(f"skipped {dataset!r}: not one of {sorted(CLASSIFIERS)}")
            print(notes[-1], flush=True)
            continue
        start = time.perf_counter()
        result = evaluate(dataset, args)
        result["seconds"] = round(time.perf_counter() - start, 1)
        result["jsma_limit"] = args.jsma_limit
        results.append(result)
        print("\n" + section(result, args), flush=True)
    if earlier is not None:
        for r in earlier["results"]:
            r.setdefault("jsma_limit", earlier["settings"]["jsma_limit"])
        if any(r["jsma_limit"] != args.jsma_limit for r in earlier["results"]):
            settings["jsma_limit"] = "per data set: results[i].jsma_limit"
        order = [r["dataset"] for r in earlier["results"]] + [r["dataset"] for r in results]
        kept = {r["dataset"]: r for r in earlier["results"]} | {r["dataset"]: r for r in results}
        results = [kept[name] for name in dict.fromkeys(order)]
    sections = [section(result, args) for result in results]
    os.makedirs(args.output, exist_ok=True)
    atomic_write_text(os.path.join(args.output, "results.json"),
                      json.dumps({"settings": settings, "notes": notes, "results": results}, indent=2) + "\n")
    atomic_write_text(os.path.join(args.output, "table.md"), "\n".join(sections + notes) + "\n")
    print(f"wrote {args.output}/results.json and table.md")


if __name__ == "__main__":
    main()
