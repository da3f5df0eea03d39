"""RL denoiser chain (seed 000) vs single tools, DnCNN-17 and UDDN on Fashion-MNIST, with the cost table.

Defenses, each in front of every `--classifiers` entry (the zoo's plain
`small_cnn_fashion_mnist` and its PGD-AT `small_cnn_f16_pgd_at_fashion_mnist`):
- none;
- every single tool of the zoo chain's toolbox (FGSM strength x depth);
- dncnn: a DnCNN-17 (Zhang et al. 2017) trained here on FGSM pairs of all
  five strengths against the plain classifier, pixel MSE (`--cache` keeps it);
- uddn: the zoo's UDDN (logit-guided U-Net);
- rl_chain: the zoo's RL chain (toolbox + DQN agent, at most 3 tools).
The tools, DnCNN and the chain were all trained against the plain
classifier; in front of the PGD-AT classifier they are transferred as is.

Attacks: FGSM at 1, 2, 4, 8, 16 /255 and PGD-10 at `--pgd-eps` /255, both
oblivious (crafted on the bare classifier) and adaptive (BPDA: end to end,
the defense's backward pass replaced by the identity), via
`tfdefend.evaluation.defense_table`.

Cost table: parameters and FLOPs per image at 224x224x3 of DnCNN-17 (64
filters) and of the chain's average executed path: per image, the agent runs
once per decision (until it stops or `max_steps`) and each chosen tool once;
averaged over the clean and FGSM test images' chosen chains measured here.
The TFLite "dense" chain runs every tool at every step: its cost is listed too.

Writes `table.md`, `results.json`, `accuracy_vs_strength.png`,
`chosen_chains.png` and `tools_vs_strength.png` (mean tools per image and the
share of images stopped at once, by strength) to `--output`.

Usage (the zoo's rl_chain / uddn / PGD-AT entries must exist):
    python benchmarks/rl_denoiser_chain.py --limit 500 --cache runs/rl_bench \
        --output benchmarks/results/rl_chain_fashion_mnist
"""

import argparse
import functools
import json
import os
import sys
import time

import keras
import numpy as np

from tfdefend import data, models
from tfdefend.attacks import fgsm, pgd
from tfdefend.evaluation import FLOPS_METHOD, chain_choices, count_flops, defense_table, format_defense_table
from tfdefend.export import export_keras
from tfdefend.utils import atomic_path, atomic_write_text

SEED_COSTS = {"rl_deadv": {"params": 1.96e5, "gflops": 0.474}, "dncnn": {"params": 6.69e5, "gflops": 2.66}}
MODES = ("oblivious", "adaptive")


def attacks(strengths, pgd_eps, pgd_steps):
    """name -> attack(model, x, y), with `family` and `eps` attributes."""
    suite = {}
    for s in strengths:
        fn = functools.partial(lambda model, x, y, eps: fgsm(model, x, y, eps=eps), eps=s / 255)
        fn.family, fn.eps = "fgsm", s / 255
        suite[f"FGSM {s}/255"] = fn
    eps = pgd_eps / 255
    fn = functools.partial(lambda model, x, y, eps: pgd(model, x, y, eps=eps, step_size=2.5 * eps / pgd_steps,
                                                        steps=pgd_steps, random_start=True, seed=0), eps=eps)
    fn.family, fn.eps = "pgd", eps
    suite[f"PGD-{pgd_steps} {pgd_eps:g}/255"] = fn
    return suite


def train_dncnn(classifier, strengths, args):
    """DnCNN-17 on FGSM pairs of every strength (one random strength per image) against `classifier`."""
    path = os.path.join(args.cache, "dncnn.keras") if args.cache else None
    if path and os.path.exists(path):
        return models.load_model(path)
    keras.utils.set_random_seed(0)
    x, y = data.load("fashion_mnist", "train", as_numpy=True, limit=args.dncnn_images)
    rng = np.random.default_rng(0)
    strength = rng.choice(np.asarray(strengths, dtype=np.float32), size=len(x))
    x_adv = np.empty_like(x)
    for s in strengths:
        idx = np.flatnonzero(strength == s)
        for i in range(0, len(idx), 500):
            part = idx[i:i + 500]
            x_adv[part] = np.asarray(fgsm(classifier, x[part], y[part], eps=s / 255))
    dncnn = models.create_model("dncnn", input_shape=x.shape[1:], filters=args.dncnn_filters)
    dncnn.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.perf_counter()
    dncnn.fit(x_adv, x, epochs=args.dncnn_epochs, batch_size=64, shuffle=True, verbose=0)
    print(f"  dncnn trained in {time.perf_counter() - start:.0f} s", flush=True)
    if path:
        export_keras(dncnn, path, include_optimizer=False, overwrite=True)
    return dncnn


def path_usage(chain, classifier, x, y, strengths):
    """Per input type (clean, fgsm s): mean agent calls and mean uses of each tool per image."""
    out = {}
    stop = chain.stop_action
    for key, eps in [("clean", 0.0)] + [(f"fgsm{s:g}", s / 255) for s in strengths]:
        x_in = x if eps == 0 else np.asarray(fgsm(classifier, x, y, eps=eps))
        actions = np.asarray(chain.choose(x_in))
        stopped = (actions == stop).any(axis=1)
        calls = np.where(stopped, np.argmax(actions == stop, axis=1) + 1, chain.max_steps)
        uses = [float(np.mean(np.sum(actions == k, axis=1))) for k in range(chain.num_tools)]
        out[key] = {"mean_agent_calls": float(np.mean(calls)), "mean_tools": float(sum(uses)), "tool_uses": uses}
    return out


def cost_table(chain, dncnn_filters, usage):
    """Params and FLOPs per image at 224x224x3: DnCNN-17 and the chain (executed path; dense TFLite graph)."""
    shape = (224, 224, 3)
    toolbox = models.DenoiserToolbox(input_shape=shape, strengths=chain.toolbox.strengths,
                                     depths=chain.toolbox.depths, filters=chain.toolbox.tools[0].filters)
    config = {k: v for k, v in chain.agent.get_config().items() if k not in ("name", "trainable")}
    agent = models.DenoiserAgent(**{**config, "input_shape": shape})
    tool_flops = np.array([count_flops(tool, shape) for tool in toolbox.tools], dtype=np.float64)
    agent_flops = count_flops(functools.partial(_agent_step, agent), shape)
    dncnn = {depth: models.create_model("dncnn", input_shape=shape, depth=depth, filters=dncnn_filters)
             for depth in (17, 20)}
    calls = float(np.mean([u["mean_agent_calls"] for u in usage.values()]))
    uses = np.mean([u["tool_uses"] for u in usage.values()], axis=0)
    return {"input_shape": list(shape), "flops_method": FLOPS_METHOD,
            **{f"dncnn{depth}": {"params": int(net.count_params()), "flops": count_flops(net, shape)}
               for depth, net in dncnn.items()},
            "chain": {"params": int(toolbox.count_params() + agent.count_params()),
                      "toolbox_params": int(toolbox.count_params()), "agent_params": int(agent.count_params()),
                      "tool_flops": dict(zip(toolbox.tool_names, tool_flops.tolist())), "agent_flops": agent_flops,
                      "mean_tools": float(uses.sum()), "mean_agent_calls": calls,
                      "executed_path_flops": float(calls * agent_flops + uses @ tool_flops),
                      "dense_flops": float(chain.max_steps * (agent_flops + tool_flops.sum()))},
            "seed_slides": SEED_COSTS}


def _agent_step(agent, x, training=False):
    """One agent decision on a batch-1 image (zero previous action and state): the Q-values."""
    h, c = agent.initial_state(1)
    prev = keras.ops.zeros((1, agent.num_actions))
    return agent([x, prev, h, c], training=training)[0]


def summarize(rows, strengths, pgd_name, tool_names):
    """{defense: {"clean", mode: {"fgsm": {s: acc}, "fgsm_mean", "pgd"}}} and the best single tool."""
    table = {}
    for row in rows:
        table.setdefault(row["defense"], {})[(row["attack"], row["mode"])] = row["accuracy"]
    out = {}
    for defense, acc in table.items():
        entry = {"clean": acc[("clean", "clean")]}
        for mode in MODES:
            pick = "oblivious" if defense == "none" else mode  # undefended: every mode is the same attack
            fgsm_acc = {str(s): acc[(f"FGSM {s}/255", pick)] for s in strengths}
            entry[mode] = {"fgsm": fgsm_acc, "fgsm_mean": float(np.mean(list(fgsm_acc.values()))),
                           "pgd": acc[(pgd_name, pick)]}
        out[defense] = entry
    best_tool = max(tool_names, key=lambda t: out[t]["oblivious"]["fgsm_mean"])
    return out, best_tool


def markdown(results, choices, costs, strengths, pgd_name):
    lines = []
    for classifier, result in results.items():
        summary, best = result["summary"], result["best_tool"]
        lines += [f"### {classifier} ({result['n']} test images; accuracy %)", "",
                  "| defense | clean | " + " | ".join(f"FGSM {s}" for s in strengths)
                  + f" | FGSM mean | {pgd_name} | FGSM mean BPDA | {pgd_name} BPDA |",
                  "|---" * (6 + len(strengths)) + "|"]
        for defense, entry in summary.items():
            obl, ada = entry["oblivious"], entry["adaptive"]
            label = f"{defense} (best tool)" if defense == best else defense
            cells = [f"{100 * entry['clean']:.1f}"] + [f"{100 * obl['fgsm'][str(s)]:.1f}" for s in strengths]
            cells += [f"{100 * obl['fgsm_mean']:.1f}", f"{100 * obl['pgd']:.1f}",
                      f"{100 * ada['fgsm_mean']:.1f}", f"{100 * ada['pgd']:.1f}"]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["### Chains the agent picks (plain classifier, oblivious FGSM)", "",
              "| input | accuracy through chain | undefended | tools / image | stop at once | most frequent chains |",
              "|---|---|---|---|---|---|"]
    for key, row in choices.items():
        top = ", ".join(f"{chain} {100 * share:.0f}%" for chain, share in list(row["chains"].items())[:3])
        lines.append(f"| {key} | {100 * row['defended_accuracy']:.1f} | {100 * row['undefended_accuracy']:.1f} | "
                     f"{row['mean_tools']:.2f} | {100 * row['stop_at_once']:.0f}% | {top} |")
    ch, seed = costs["chain"], costs["seed_slides"]
    lines += ["", "### Cost per 224x224x3 image", "",
              "| network | params | GFLOPs | seed's slides |", "|---|---|---|---|",
              f"| DnCNN-17 (trained here) | {costs['dncnn17']['params']:,} | {costs['dncnn17']['flops'] / 1e9:.2f} | |",
              (f"| DnCNN-20 (DnCNN-B) | {costs['dncnn20']['params']:,} | {costs['dncnn20']['flops'] / 1e9:.2f} | "
               f"{seed['dncnn']['params']:.3g} params, {seed['dncnn']['gflops']} GFLOPs |"),
              (f"| RL chain, executed path ({ch['mean_tools']:.2f} tools, {ch['mean_agent_calls']:.2f} agent calls) | "
              f"{ch['params']:,} | {ch['executed_path_flops'] / 1e9:.2f} | {seed['rl_deadv']['params']:.3g} params, "
              f"{seed['rl_deadv']['gflops']} GFLOPs |"),
              (f"| RL chain, dense (TFLite: every tool at every step) | {ch['params']:,} | "
              f"{ch['dense_flops'] / 1e9:.2f} | |"), "", f"FLOPs: {costs['flops_method']}."]
    return "\n".join(lines) + "\n"


def plot_accuracy(results, strengths, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    for ax, (classifier, result) in zip(axes[0], results.items()):
        shown = ["none", result["best_tool"], "dncnn", "uddn", "rl_chain"]
        for i, defense in enumerate(shown):
            entry = result["summary"][defense]
            for mode, style in (("oblivious", "-"), ("adaptive", ":")):
                if defense == "none" and mode == "adaptive":
                    continue
                acc = [100 * entry[mode]["fgsm"][str(s)] for s in strengths]
                ax.plot(strengths, acc, style, marker="o", ms=3, color=plt.cm.tab10(i),
                        label=f"{defense} ({mode})" if defense != "none" else "none")
        ax.set_xscale("log", base=2)
        ax.set_xticks(strengths, [str(s) for s in strengths])
        ax.set_xlabel("FGSM strength (/255)")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(classifier)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def plot_choices(choices, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(choices)
    chains = sorted({c for row in choices.values() for c in list(row["chains"])[:4]})
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bottom = np.zeros(len(keys))
    for i, chain in enumerate(chains):
        share = np.array([100 * choices[k]["chains"].get(chain, 0.0) for k in keys])
        ax.bar(keys, share, bottom=bottom, color=plt.cm.tab20(i % 20), label=chain)
        bottom += share
    ax.bar(keys, 100 - bottom, bottom=bottom, color="lightgrey", label="other")
    ax.set_ylabel("% of test images")
    ax.set_title("Chains chosen by the agent, per input")
    ax.legend(fontsize=6, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    _save(fig, path)


def plot_tools(choices, strengths, path):
    """Mean tools per image and share stopped at once, clean and per FGSM strength."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["clean"] + [f"fgsm{s:g}" for s in strengths]
    labels = ["clean"] + [f"{s:g}" for s in strengths]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(labels, [choices[k]["mean_tools"] for k in keys], marker="o", label="tools per image")
    ax.set_xlabel("input (FGSM strength /255)")
    ax.set_ylabel("mean tools per image")
    twin = ax.twinx()
    twin.plot(labels, [100 * choices[k]["stop_at_once"] for k in keys], marker="s", color="tab:orange",
              label="stopped at once (%)")
    twin.set_ylabel("% stopped at once")
    twin.set_ylim(0, 100)
    fig.legend(loc="upper center", fontsize=8)
    ax.set_title("How much the chain does, by attack strength")
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path):
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", default="rl_chain_fashion_mnist", help="zoo name or .keras file of the chain")
    parser.add_argument("--uddn", default="uddn_fashion_mnist", help="zoo name or .keras file of the UDDN")
    parser.add_argument("--classifiers", nargs="+",
                        default=["small_cnn_fashion_mnist", "small_cnn_f16_pgd_at_fashion_mnist"])
    parser.add_argument("--limit", type=int, default=500, help="test images")
    parser.add_argument("--pgd-eps", type=float, default=8.0, help="PGD budget in /255 units")
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--dncnn-images", type=int, default=6000)
    parser.add_argument("--dncnn-epochs", type=int, default=1)
    parser.add_argument("--dncnn-filters", type=int, default=64)
    parser.add_argument("--cache", default=None, help="directory keeping the DnCNN trained here")
    parser.add_argument("--output", default="benchmarks/results/rl_chain_fashion_mnist")
    args = parser.parse_args(argv)
    command = "python benchmarks/rl_denoiser_chain.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.cache:
        os.makedirs(args.cache, exist_ok=True)
    x, y = data.load("fashion_mnist", "test", as_numpy=True, limit=args.limit)
    chain = models.load_model_or_pretrained(args.chain)
    strengths = list(chain.toolbox.strengths)
    plain = models.load_model_or_pretrained(args.classifiers[0])
    defenses = dict(zip(chain.toolbox.tool_names, chain.toolbox.tools))
    defenses.update(dncnn=train_dncnn(plain, strengths, args),
                    uddn=models.load_model_or_pretrained(args.uddn),
                    rl_chain=chain)
    suite = attacks(strengths, args.pgd_eps, args.pgd_steps)
    pgd_name = list(suite)[-1]
    results = {}
    for name in args.classifiers:
        start = time.perf_counter()
        classifier = models.load_model_or_pretrained(name)
        rows = defense_table(classifier, defenses, (x, y), suite, modes=MODES, batch_size=250)
        summary, best = summarize(rows, strengths, pgd_name, chain.toolbox.tool_names)
        results[name] = {"n": rows[0]["n"], "rows": rows, "summary": summary, "best_tool": best}
        print(f"{name}: {time.perf_counter() - start:.0f} s\n{format_defense_table(rows)}", flush=True)
    choices = chain_choices(chain, plain, x, y, strengths)
    costs = cost_table(chain, 64, path_usage(chain, plain, x, y, strengths))  # the paper's DnCNN width
    table = markdown(results, choices, costs, strengths, pgd_name)
    print(table)
    os.makedirs(args.output, exist_ok=True)
    payload = {"command": command.strip(), "results": results, "chain_choices": choices, "costs": costs}
    atomic_write_text(os.path.join(args.output, "results.json"), json.dumps(payload, indent=2) + "\n")
    atomic_write_text(os.path.join(args.output, "table.md"), f"`{command.strip()}`\n\n{table}")
    plot_accuracy(results, strengths, os.path.join(args.output, "accuracy_vs_strength.png"))
    plot_choices(choices, os.path.join(args.output, "chosen_chains.png"))
    plot_tools(choices, strengths, os.path.join(args.output, "tools_vs_strength.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
