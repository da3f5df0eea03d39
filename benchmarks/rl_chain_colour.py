"""RL denoiser chain on colour images: photo patches (numbers) and foolbox's CIFAR-10 samples (figure).

The colour chain (`rl_chain_photo_patches`: 10 light denoisers + DQN agent)
was trained on 32x32 RGB patches of natural photos against the zoo's
`small_cnn_photo_patches` (which photo does a patch come from?; see
`tfdefend.data.photo_patches`). Two parts:

* numbers, on the held-out photo patches: the classifier's accuracy bare
  and through the chain, clean and under FGSM at 1, 2, 4, 8, 16 /255
  (oblivious: crafted on the bare classifier), the chains the agent picks
  and the PSNR to the clean image before and after the chain;
* the qualitative figure, on foolbox's 20 CIFAR-10 samples (real colour
  photos from another source, never seen in training): FGSM against the
  same classifier (labels: its own clean predictions), each image clean,
  attacked and after every step of its chain, with the tools' names. The
  JSON gives, per strength, the PSNR before/after and how often the
  classifier's clean prediction comes back through the chain.

Writes `table.md`, `results.json` and `colour_samples.png` to `--output`.

Usage:
    python benchmarks/rl_chain_colour.py --output benchmarks/results/rl_chain_colour
"""

import argparse
import json
import os
import sys
import time

import keras
import numpy as np

from tfdefend import data, models
from tfdefend.attacks import fgsm
from tfdefend.data.photo_patches import colour_samples
from tfdefend.evaluation import chain_choices
from tfdefend.evaluation.metrics import predict_labels
from tfdefend.utils import atomic_path, atomic_write_text

STRENGTHS = (1, 2, 4, 8, 16)


def psnr(a, b):
    """Per-image PSNR (dB) of images in [0, 1]."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2, axis=(1, 2, 3))
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def chain_steps(chain, x):
    """The chain's actions [N, max_steps] and the image after each step (list of max_steps arrays)."""
    actions = np.asarray(chain.choose(x))
    steps, current = [], np.asarray(x)
    for step in range(actions.shape[1]):
        k = actions[:, step]  # a tool, num_tools at the stop, -1 after it
        runs = (k >= 0) & (k < chain.num_tools)
        moved = np.asarray(chain.toolbox.apply(current, np.clip(k, 0, chain.num_tools - 1), skip=~runs))
        current = np.where(runs[:, None, None, None], moved, current)
        steps.append(current)
    return actions, steps


def patch_inputs(classifier, limit):
    """The held-out photo patches, clean and under FGSM at each strength (oblivious): `({key: x_in}, y)`."""
    x, y = data.load("photo_patches", "test", as_numpy=True, limit=limit)
    return {"clean": x, **{f"fgsm{s}": np.asarray(fgsm(classifier, x, y, eps=s / 255)) for s in STRENGTHS}}, y


def patch_numbers(chain, classifier, inputs, y):
    x = inputs["clean"]
    stats = chain_choices(chain, classifier, x, y, STRENGTHS, top=5)
    for key, x_in in inputs.items():
        stats[key]["psnr_in_db"] = None if key == "clean" else float(np.mean(psnr(x_in, x)))
        stats[key]["psnr_out_db"] = float(np.mean(psnr(np.asarray(chain(x_in)), x)))
    return stats, len(x)


def tool_numbers(chain, classifier, inputs, y):
    """Accuracy behind each single tool of the chain's toolbox, clean and per FGSM strength; the best tool."""
    tools = {}
    for name, tool in zip(chain.toolbox.tool_names, chain.toolbox.tools):
        row = {key: float(np.mean(predict_labels(classifier, np.asarray(tool(x_in))) == y))
               for key, x_in in inputs.items()}
        row["fgsm_mean"] = float(np.mean([row[f"fgsm{s}"] for s in STRENGTHS]))
        tools[name] = row
    return tools, max(tools, key=lambda name: tools[name]["fgsm_mean"])


def sample_numbers(chain, classifier, x):
    """Per strength: PSNR in/out and the share of clean predictions kept, bare and through the chain."""
    clean_pred = predict_labels(classifier, x)
    rows = {}
    for strength in STRENGTHS:
        x_adv = np.asarray(fgsm(classifier, x, clean_pred, eps=strength / 255))
        out = np.asarray(chain(x_adv))
        actions = np.asarray(chain.choose(x_adv))
        rows[f"fgsm{strength}"] = {
            "psnr_in_db": float(np.mean(psnr(x_adv, x))), "psnr_out_db": float(np.mean(psnr(out, x))),
            "prediction_kept_bare": float(np.mean(predict_labels(classifier, x_adv) == clean_pred)),
            "prediction_kept_chain": float(np.mean(predict_labels(classifier, out) == clean_pred)),
            "mean_tools": float(np.mean(np.sum((actions >= 0) & (actions < chain.num_tools), axis=1)))}
    out = np.asarray(chain(x))
    rows["clean"] = {"psnr_out_db": float(np.mean(psnr(out, x))),
                     "prediction_kept_chain": float(np.mean(predict_labels(classifier, out) == clean_pred))}
    return rows


def figure(chain, classifier, x, labels, cifar_names, strengths, shown, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(chain.toolbox.tool_names)
    photo_names = list(data.dataset_info("photo_patches").class_names)
    clean_pred = predict_labels(classifier, x)
    cols = 2 + chain.max_steps
    rows = [(i, s) for s in strengths for i in shown]
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.9 * cols, 2.05 * len(rows)), squeeze=False)
    for r, (i, strength) in enumerate(rows):
        x_adv = np.asarray(fgsm(classifier, x[i:i + 1], clean_pred[i:i + 1], eps=strength / 255))
        actions, steps = chain_steps(chain, x_adv)
        panels = [(x[i], f"{cifar_names[labels[i]]}\nclean → {photo_names[clean_pred[i]]}"),
                  (x_adv[0], (f"FGSM {strength}/255\n{psnr(x_adv, x[i:i + 1])[0]:.1f} dB → "
                             f"{photo_names[predict_labels(classifier, x_adv)[0]]}"))]
        for step, image in enumerate(steps):
            a = int(actions[0, step])
            label = "stop" if a >= chain.num_tools else "(stopped)" if a < 0 else names[a]
            pred = photo_names[predict_labels(classifier, image)[0]]
            panels.append((image[0], f"{label}\n{psnr(image, x[i:i + 1])[0]:.1f} dB → {pred}"))
        for c, (image, title) in enumerate(panels):
            axes[r][c].imshow(np.clip(image, 0, 1), interpolation="nearest")
            axes[r][c].set_title(title, fontsize=6.5)
            axes[r][c].axis("off")
    fig.suptitle("RL chain on foolbox's CIFAR-10 samples (classifier: which photo? see rl_chain_colour.py)",
                 fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def markdown(patches, n_patches, samples, command, seconds, tools, best_tool):
    lines = ["# RL denoiser chain on colour images", "",
             (f"Held-out photo patches ({n_patches}, 32×32 RGB), `small_cnn_photo_patches` behind "
             "`rl_chain_photo_patches`, FGSM crafted on the bare classifier (oblivious):"), "",
             ("| input | bare accuracy | through the chain | best single tool | PSNR in → out (dB) | tools / image "
              "| stop at once | top chains |"),
             "|---|---|---|---|---|---|---|---|"]
    for key, row in patches.items():
        psnr_in = "—" if row["psnr_in_db"] is None else f"{row['psnr_in_db']:.1f}"
        chains = ", ".join(f"{c} {100 * share:.0f}%" for c, share in list(row["chains"].items())[:3])
        lines.append(f"| {key} | {100 * row['undefended_accuracy']:.1f}% | {100 * row['defended_accuracy']:.1f}% "
                     f"| {100 * tools[best_tool][key]:.1f}% | {psnr_in} → {row['psnr_out_db']:.1f} "
                     f"| {row['mean_tools']:.2f} | {100 * row['stop_at_once']:.0f}% | {chains} |")
    chain_mean = np.mean([patches[f"fgsm{s}"]["defended_accuracy"] for s in STRENGTHS])
    lines += ["", f"FGSM mean over {', '.join(map(str, STRENGTHS))} /255: chain {100 * chain_mean:.1f}%, best "
              f"single tool ({best_tool}) {100 * tools[best_tool]['fgsm_mean']:.1f}%."]
    lines += ["", "foolbox's 20 CIFAR-10 samples (labels: the classifier's clean predictions):", "",
              "| input | PSNR in → out (dB) | prediction kept, bare | through the chain |", "|---|---|---|---|"]
    for key, row in samples.items():
        if key == "clean":
            continue
        lines.append(f"| {key} | {row['psnr_in_db']:.1f} → {row['psnr_out_db']:.1f} | "
                     f"{100 * row['prediction_kept_bare']:.0f}% | {100 * row['prediction_kept_chain']:.0f}% |")
    lines += ["", (f"Clean samples through the chain: {samples['clean']['psnr_out_db']:.1f} dB, prediction kept "
              f"{100 * samples['clean']['prediction_kept_chain']:.0f}%."), "",
              f"Command: `{command}` ({seconds / 60:.1f} min).", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", default="rl_chain_photo_patches", help="zoo name or .keras file")
    parser.add_argument("--classifier", default="small_cnn_photo_patches", help="zoo name or .keras file")
    parser.add_argument("--limit", type=int, default=None, help="photo-patch test images")
    parser.add_argument("--show", type=int, nargs="+", default=[0, 2, 4, 11], help="samples in the figure")
    parser.add_argument("--show-strengths", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--output", default="benchmarks/results/rl_chain_colour")
    args = parser.parse_args(argv)
    command = "python benchmarks/rl_chain_colour.py " + " ".join(argv if argv is not None else sys.argv[1:])
    start = time.perf_counter()
    chain = models.load_model_or_pretrained(args.chain)
    classifier = models.load_model_or_pretrained(args.classifier)
    inputs, y = patch_inputs(classifier, args.limit)
    patches, n_patches = patch_numbers(chain, classifier, inputs, y)
    tools, best_tool = tool_numbers(chain, classifier, inputs, y)
    x, labels, cifar_names = colour_samples(32)
    samples = sample_numbers(chain, classifier, x)
    os.makedirs(args.output, exist_ok=True)
    figure(chain, classifier, x, labels, cifar_names, args.show_strengths, args.show,
           os.path.join(args.output, "colour_samples.png"))
    seconds = time.perf_counter() - start
    text = markdown(patches, n_patches, samples, command, seconds, tools, best_tool)
    print(text)
    atomic_write_text(os.path.join(args.output, "table.md"), text)
    atomic_write_text(os.path.join(args.output, "results.json"), json.dumps({
        "photo_patches": patches, "photo_patch_images": n_patches, "colour_samples": samples,
        "single_tools": tools, "best_tool": best_tool,
        "chain": args.chain, "classifier": args.classifier, "command": command, "seconds": round(seconds, 1),
        "versions": {"keras": keras.__version__}}, indent=2) + "\n")
    print(f"wrote {args.output}/table.md, results.json, colour_samples.png")


if __name__ == "__main__":
    main()
