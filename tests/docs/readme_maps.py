"""Row-by-row mappings from README tables to the results files their markers cite (`map=NAME`).

Each mapping is `fn(row, files, options) -> {header: expected}`: `row` maps the
table's header cells to this row's cells, `files` maps each cited file's path to
its loaded data, `options` the marker's other options. `expected` is a
list of numbers in the units and order the cell shows them (a tuple: one shown
number standing for several values), or None for a cell that must hold no
number. Headers left out are not figures. A row the file does not have raises
KeyError with a message.
"""

import re
import statistics

from tests.docs.readme_maps_more import MORE_MAPS, only
from tests.docs.readme_match import expected_mismatches, pool_mismatches
from tests.docs.readme_tables import ROOT, label, load_sources, numbers_in, pct
from tests.docs.readme_tables import lookup as _lookup


def export_latency(row, files, options):
    model = _lookup(only(files)["models"], label(row["model"]), "model")
    tfl = model["tflite"]
    expected = {
        "MFLOPs/img": [model["flops_per_image"] / 1e6],
        "float .tflite": [tfl["float"]["size_bytes"] / 1024],
        "int8 .tflite": [tfl["int8"]["size_bytes"] / 1024],
    }
    for kind in ("float", "int8"):
        expected[f"{kind} 1t XNNPACK"] = [tfl[kind]["ms_1_thread"]]
        expected[f"{kind} 2t XNNPACK"] = [tfl[kind]["ms_2_threads"]]
        expected[f"{kind} 1t reference"] = [tfl[kind]["ms_1_thread_no_xnnpack"]]
    int8 = tfl["int8"]
    expected["int8 agreement"] = (
        [pct(int8["top1_agreement_with_keras"])]
        if "top1_agreement_with_keras" in int8
        else [int8["mean_abs_diff_to_keras"]]
    )
    return expected


_ZOO_ATTACKS = {
    "FGSM": "FGSM",
    "BIM-10": "BIM-10",
    "MI-FGSM-10": "MIFGSM-10",
    "PGD-10 (random start)": "PGD-10",
    "PGD-20 L2": "PGD-20 L2",
}
_ZOO_MINIMAL = {"DeepFool": "DeepFool", "C&W-L2": "C&W-L2", "JSMA": "JSMA"}


def zoo_robustness(row, files, options):
    result = next((r for r in only(files)["results"] if r["model"] == options["model"]), None)
    if result is None:
        raise KeyError(f"model {options['model']!r} is not in the file")
    name = label(row["attack"])
    columns = ("accuracy", "success rate", "mean l0", "mean l2", "mean l∞")
    if name == "clean":
        return {"accuracy": [pct(result["rows"][0]["accuracy"])]}
    minimal = next((prefix for prefix in _ZOO_MINIMAL if name.startswith(prefix)), None)
    if minimal:
        found = [r for r in result["minimal_rows"] if r["attack"].startswith(_ZOO_MINIMAL[minimal])]
        if len(found) != 1:
            raise KeyError(f"attack {name!r}: {len(found)} matching minimal-norm rows in the file")
        entries = found
    else:
        attack, _, budgets = name.partition("ε=")
        attack = _lookup(_ZOO_ATTACKS, attack.strip(), "attack")
        by_name = {r["attack"]: r for r in result["rows"]}
        entries = [_lookup(by_name, f"{attack} eps={eps.strip()}", "attack") for eps in budgets.split("/")]
    expected = {}
    for header, key, scale in zip(
        columns, ("accuracy", "success_rate", "l0", "l2", "linf"), (100, 100, 1, 1, 1)
    ):
        values = [entry[key] * scale for entry in entries]
        if key == "linf" and not minimal and "L2" not in name:
            expected[header] = None  # shown as "ε": an L∞ attack uses its whole budget
        elif len(numbers_in(row[header])) == 1 and len(values) > 1:
            expected[header] = [tuple(values)]
        else:
            expected[header] = values
    return expected


_COMDEFEND_ROWS = {
    "none": "none",
    "ComDefend": "comdefend",
    "ComDefend, residual encoder": "comdefend_residual",
    "DAE": "dae",
    "JPEG q75": "jpeg_q75",
    "bit depth 3": "bit_depth_3",
    "median 2×2": "median_2",
}


def comdefend(row, files, options):
    defense = _lookup(_COMDEFEND_ROWS, label(row["defense"]), "defense")
    found = {
        (r["family"], r["eps"], r["mode"]): r["accuracy"]
        for r in only(files)["rows"]
        if r["defense"] == defense
    }
    expected = {"clean": [pct(_lookup(found, ("clean", 0.0, "clean"), "clean accuracy of"))]}
    for header in row:
        match = re.fullmatch(r"(FGSM|PGD) ([\d.]+) (oblivious|gray-box|adaptive) ?(\(BPDA\))?", header)
        if match:
            key = (match.group(1).lower(), float(match.group(2)), match.group(3).replace("-", "_"))
            expected[header] = [pct(found[key])] if key in found else None
    return expected


_UDDN_ROWS = {
    "none": "none",
    "DAE": "dae",
    "ComDefend": "comdefend",
    "pixel-guided U-Net": "pixel_unet",
    "UDDN, no GNR": "uddn_no_gnr",
    "UDDN (GNR)": "uddn",
    "UDDN + knowledge transfer": "uddn+kt",
    "defensive distillation (T=20)": "defensive_distillation",
}


def uddn(row, files, options):
    """White = crafted on the bare classifier; adaptive = the lowest of every non-oblivious white-box mode."""
    entry = _lookup(only(files)["rows"], _lookup(_UDDN_ROWS, label(row["defense"]), "defense"), "defense")
    expected = {f"L1 {part}": [entry[f"l1_{part}"]] for part in ("clean", "white", "black")}
    expected["clean"] = [pct(entry["clean"])]
    for shown, attack in (("FGSM", "fgsm"), ("I-FGSM-10", "ifgsm10")):
        expected[f"white {shown}"] = [pct(entry[f"white_{attack}_oblivious"])]
        expected[f"black {shown}"] = [pct(entry[f"black_{attack}"])]
        modes = [
            value
            for key, value in entry.items()
            if (key.startswith(f"white_{attack}_") and not key.endswith("_oblivious"))
            or key == f"adaptive_{attack}"
            or key.startswith(f"adaptive_{attack}_")
        ]
        if label(row["defense"]) == "none":  # no defense: the end-to-end attack is the white-box one
            modes = [entry[f"white_{attack}_oblivious"]]
        expected[f"adaptive {shown}"] = [pct(min(modes))] if modes else None
    return expected


_RL_COLUMNS = {"FGSM 1": "1", "2": "2", "4": "4", "8": "8", "16 /255": "16"}


def rl_chain(row, files, options):
    result = _lookup(only(files)["results"], options["classifier"], "classifier")
    name = label(row[next(iter(row))])
    aliases = {"none": "none", "DnCNN-17": "dncnn", "UDDN (zoo)": "uddn", "RL chain": "rl_chain"}
    tool = re.search(r"fgsm(\d+), depth (\d+)", name)
    if tool:
        defense = f"fgsm{tool.group(1)}_depth{tool.group(2)}"
        if name.startswith("best") and result["best_tool"] != defense:
            raise KeyError(f"the file's best tool is {result['best_tool']!r}, not {defense!r}")
    else:
        defense = _lookup(aliases, name, "defense")
    summary = _lookup(result["summary"], defense, "defense")
    expected = {
        "clean": [pct(summary["clean"])],
        "FGSM mean": [pct(summary["oblivious"]["fgsm_mean"])],
        "PGD-10 8/255": [pct(summary["oblivious"]["pgd"])],
        "FGSM mean BPDA": [pct(summary["adaptive"]["fgsm_mean"])],
        "PGD-10 BPDA": [pct(summary["adaptive"]["pgd"])],
    }
    expected.update({header: [pct(summary["oblivious"]["fgsm"][k])] for header, k in _RL_COLUMNS.items()})
    return expected


def rl_chain_choices(row, files, options):
    """The chain's behaviour per input: accuracy through it, tools per image, share stopped at once."""
    name = label(row["input"])
    key = "clean" if name == "clean" else "fgsm" + name.replace("FGSM", "").replace("/255", "").strip()
    choices = _lookup(only(files)["chain_choices"], key, "input")
    return {"accuracy through chain": [pct(choices["defended_accuracy"])],
            "undefended": [pct(choices["undefended_accuracy"])],
            "tools / image": [choices["mean_tools"]],
            "stop at once (%)": [pct(choices["stop_at_once"])]}


def rl_colour(row, files, options):
    """Rows: bare, through the chain, best single tool (named), tools per image, % stopped at once."""
    result, name = only(files), label(row["input"])
    tool = re.fullmatch(r"best single tool \((\w+)\)", name)
    if tool:
        if result["best_tool"] != tool.group(1):
            raise KeyError(f"the file's best tool is {result['best_tool']!r}, not {tool.group(1)!r}")
        values = _lookup(result["single_tools"], tool.group(1), "tool")
        return {header: [pct(values["clean" if k is None else f"fgsm{k}"])]
                for header, k in {"clean": None, **_RL_COLUMNS}.items()}
    key, scale = _lookup({"bare classifier": ("undefended_accuracy", pct),
                          "through the chain": ("defended_accuracy", pct),
                          "tools per image (chain)": ("mean_tools", float),
                          "stopped at once (chain, %)": ("stop_at_once", pct)}, name, "row")
    patches = result["photo_patches"]
    expected = {"clean": [scale(patches["clean"][key])]}
    expected.update({header: [scale(patches[f"fgsm{k}"][key])] for header, k in _RL_COLUMNS.items()})
    return expected


def advmask(row, files, options):
    """Mean ± standard deviation (n - 1) over the seeds, computed from the per-seed values."""
    results = only(files)["results"]
    model = _lookup(results, label(row["Model"]), "model")
    methods = {
        "Base": "base",
        "Cutout": "cutout",
        "RE": "re",
        "HaS": "has",
        "GridMask": "gridmask",
        "AdvMask": "advmask",
        "Adv": "adv",
        "Random + Mask": "random_mask",
        "Corner + Mask": "corner_mask",
        "Adv + Mask": "advmask",
    }

    def mean_std(method, metric):
        seeds = _lookup(_lookup(model, methods[method], "method"), metric, "metric")
        return [pct(statistics.mean(seeds)), pct(statistics.stdev(seeds))]

    if options.get("metric") == "ablation":
        method = label(row["Method"])
        _lookup(methods, method, "method")
        return {"clean": mean_std(method, "clean"), "PGD-10": mean_std(method, "pgd")}
    return {header: mean_std(header, options["metric"]) for header in row if header in methods}


MAPS = {
    "export_latency": export_latency,
    "zoo_robustness": zoo_robustness,
    "comdefend": comdefend,
    "uddn": uddn,
    "rl_chain": rl_chain,
    "rl_chain_choices": rl_chain_choices,
    "rl_colour": rl_colour,
    "advmask": advmask,
    **MORE_MAPS,
}


def check_table(table, root=ROOT):
    """Every problem of a marked table: cited files missing, rows the file lacks, numbers that differ."""
    files = load_sources(table.marker, root)
    options = table.marker.options
    labels = int(options.get("labels", 1))
    if "map" not in options:
        return pool_mismatches(table, files, labels)
    mapping = MAPS[options["map"]]
    expected = []
    for row in table.rows:
        try:
            expected.append(mapping(dict(zip(table.header, row)), files, options))
        except KeyError as err:
            expected.append(f"not in the cited file: {err.args[0] if err.args else err}")
    return expected_mismatches(table, expected, labels)
