"""More README prose figures recomputed from their files: UDDN, RL chain, speed, scale, fuzzing, status."""

import glob
import os
import re

from tests.docs.readme_claims import check, load, ratio_range, readme_text
from tests.docs.readme_tables import ROOT

UDDN = "benchmarks/results/uddn_fashion_mnist/results.json"
RL = "benchmarks/results/rl_chain_fashion_mnist/results.json"
COLOUR = "benchmarks/results/rl_chain_colour/results.json"


def _uddn():
    return {
        name: {key: 100 * value for key, value in row.items() if isinstance(value, float) and "l1" not in key}
        for name, row in load(UDDN)["rows"].items()
    }


def _end_to_end(row, attack):
    """The lowest accuracy over the non-oblivious white-box modes (end-to-end gradients, BPDA)."""
    return min(
        value
        for key, value in row.items()
        if key.startswith(f"white_{attack}_") and not key.endswith("_oblivious")
    )


def test_uddn_claims():
    rows = _uddn()
    uddns = [
        rows[name][key]
        for name in ("uddn_no_gnr", "uddn", "uddn+kt")
        for key in ("white_fgsm_oblivious", "white_ifgsm10_oblivious", "black_fgsm", "black_ifgsm10")
    ]
    check(r"\((\d+)–(\d+)% vs (\d+)% clean, no clean cost\)", [*ratio_range(uddns), rows["none"]["clean"]])
    kt, gnr, no_gnr, pixel = rows["uddn+kt"], rows["uddn"], rows["uddn_no_gnr"], rows["pixel_unet"]
    white = ("white_fgsm_oblivious", "white_ifgsm10_oblivious")
    check(
        r"knowledge transfer adds (\S+)–(\S+) points white-box \(FGSM, I-FGSM-10\) but nothing black-box "
        r"\((\S+) and (\S+)\)",
        [
            *ratio_range(kt[k] - gnr[k] for k in white),
            kt["black_fgsm"] - gnr["black_fgsm"],
            kt["black_ifgsm10"] - gnr["black_ifgsm10"],
        ],
    )
    check(r"(\S+)–(\S+) points less white-box accuracy", ratio_range(no_gnr[k] - pixel[k] for k in white))
    check(
        r"gains (\S+) points on black-box FGSM but loses (\S+)–(\S+) on white-box",
        [gnr["black_fgsm"] - no_gnr["black_fgsm"], *ratio_range(no_gnr[k] - gnr[k] for k in white)],
    )
    check(r"far from clean \((\S+), like the attacked input\)", [load(UDDN)["rows"]["uddn"]["l1_white"]])
    denoisers = [
        _end_to_end(rows[name], "ifgsm10") for name in ("dae", "pixel_unet", "uddn_no_gnr", "uddn", "uddn+kt")
    ]
    check(
        r"every denoiser falls to (\d+)–(\d+)% under end-to-end I-FGSM \(ComDefend (\S+)% through BPDA\)",
        [*ratio_range(denoisers), _end_to_end(rows["comdefend"], "ifgsm10")],
    )


def test_rl_chain_claims():
    data = load(RL)
    costs, result = data["costs"], data["results"]["small_cnn_fashion_mnist"]
    summary, choices = result["summary"], data["chain_choices"]
    check(
        r"executed path \((\S+) tools and (\S+) agent calls per image, averaged over clean and the five "
        r"strengths\) is (\S+) GFLOPs at 224×224×3, (\d+)% of DnCNN-17's (\S+) \(",
        [costs["chain"]["mean_tools"], costs["chain"]["mean_agent_calls"],
         costs["chain"]["executed_path_flops"] / 1e9,
         100 * costs["chain"]["executed_path_flops"] / costs["dncnn17"]["flops"],
         costs["dncnn17"]["flops"] / 1e9],
    )
    check(r"the dense TFLite graph that runs every tool is unchanged \((\S+) GFLOPs\)",
          [costs["chain"]["dense_flops"] / 1e9])
    none, chain, best = summary["none"], summary["rl_chain"], summary[result["best_tool"]]
    clean = choices["clean"]
    check(r"(\S+)% of clean test images get \"stop\"", [100 * clean["stop_at_once"]])
    check(r"(\S+) tools per clean image", [clean["mean_tools"]])
    check(
        r"clean accuracy through the chain is (\S+)% vs (\S+)% bare, (\S+) points \(",
        [100 * chain["clean"], 100 * none["clean"], 100 * (none["clean"] - chain["clean"])],
    )
    keys = ["clean"] + [f"fgsm{s}" for s in (1, 2, 4, 8, 16)]
    check(r"rises with it,\s+" + r" → ".join([r"(\S+)"] * 6) + r" from clean to 16/255",
          [choices[k]["mean_tools"] for k in keys])
    check(r"share stopped at once falls from (\d+)% to (\d+)%",
          [100 * clean["stop_at_once"], 100 * choices["fgsm16"]["stop_at_once"]])
    check(r"(\d+)% of those images stop at once", [100 * choices["fgsm1"]["stop_at_once"]])
    obl, ada = "oblivious", "adaptive"
    check(
        r"FGSM mean (\S+) vs (\S+)\s+oblivious \((\S+)\) and (\S+) vs (\S+) with BPDA \((\S+)\); PGD-10 8/255 "
        r"(\S+) vs\s+(\S+) oblivious and (\S+) vs (\S+) BPDA",
        [100 * v for v in (chain[obl]["fgsm_mean"], best[obl]["fgsm_mean"],
                           chain[obl]["fgsm_mean"] - best[obl]["fgsm_mean"],
                           chain[ada]["fgsm_mean"], best[ada]["fgsm_mean"],
                           chain[ada]["fgsm_mean"] - best[ada]["fgsm_mean"],
                           chain[obl]["pgd"], best[obl]["pgd"], chain[ada]["pgd"], best[ada]["pgd"])],
    )
    check(r"clean accuracy \(\+(\S+) over that tool\)", [100 * (chain["clean"] - best["clean"])])
    robust = data["results"]["small_cnn_f16_pgd_at_fashion_mnist"]["summary"]
    means = {name: 100 * row["oblivious"]["fgsm_mean"] for name, row in robust.items()}
    check(
        r"\(`small_cnn_f16_pgd_at_fashion_mnist`, (\S+)% clean on these images\) "
        r"every denoiser raises the FGSM "
        r"mean by at most (\S+) points \(chain (\S+) vs (\S+) undefended; best tool (\S+)\)",
        [
            100 * robust["none"]["clean"],
            max(means.values()) - means["none"],
            means["rl_chain"],
            means["none"],
            means[data["results"]["small_cnn_f16_pgd_at_fashion_mnist"]["best_tool"]],
        ],
    )
    assert min(means.values()) >= means["none"]


def test_rl_colour_claims():
    data = load(COLOUR)
    patches, samples = data["photo_patches"], data["colour_samples"]
    check(r"benchmarks/results/rl_chain_colour` \((\S+) min\)", [data["seconds"] / 60])
    check(
        r"`small_cnn_photo_patches` \((\S+)%: which of 9 photos",
        [100 * patches["clean"]["undefended_accuracy"]],
    )
    check(
        r"chain now costs (\S+) points clean",
        [100 * (patches["clean"]["undefended_accuracy"] - patches["clean"]["defended_accuracy"])],
    )
    check(r"clean ones included \((\S+) per image;", [patches["clean"]["mean_tools"]])
    check(r"(\d+)% of clean patches stop at once", [100 * patches["clean"]["stop_at_once"]])
    check(r"rising to (\S+) at 16/255\. The tools", [patches["fgsm16"]["mean_tools"]])
    check(r"the figure's frog: (\d+) dB on clean samples, (\d+) dB on clean patches\)",
          [samples["clean"]["psnr_out_db"], patches["clean"]["psnr_out_db"]])
    best = data["single_tools"][data["best_tool"]]
    check(r"best single tool alone costs (\S+) points clean",
          [100 * (patches["clean"]["undefended_accuracy"] - best["clean"])])
    chain_mean = sum(patches[f"fgsm{k}"]["defended_accuracy"] for k in (1, 2, 4, 8, 16)) / 5
    check(r"five strengths: chain (\S+) vs the best single tool \(\w+\) (\S+)\.",
          [100 * chain_mean, 100 * best["fgsm_mean"]])
    strengths = [f"fgsm{k}" for k in (1, 2, 4, 8, 16)]
    check(
        r"chain at (\d+) / (\d+) / (\d+) / (\d+) / (\d+)% vs (\d+) / (\d+) / (\d+) / (\d+) / (\d+)% bare",
        [100 * samples[s]["prediction_kept_chain"] for s in strengths]
        + [100 * samples[s]["prediction_kept_bare"] for s in strengths],
    )


def test_speed_and_scale_claims():
    mlp, cnn = (load(f"benchmarks/results/deep_defense_speed_{m}_before_issue23.json") for m in ("mlp", "small_cnn"))
    check(
        r"MLP plain (\S+) ms, PGD-7 AT (\S+) ms \((\S+)×\), "
        r"Deep Defense (\d+) ms \((\d+)× plain, (\S+)× PGD-7\); "
        r"16-filter CNN (\d+) ms / (\d+) ms \((\S+)×\) / (\S+) s \((\d+)× plain, (\S+)× PGD-7\)",
        [
            1e3 * mlp["seconds_per_step"]["plain"],
            1e3 * mlp["seconds_per_step"]["pgd7_at"],
            mlp["ratios"]["pgd7_at_over_plain"],
            1e3 * mlp["seconds_per_step"]["deep_defense"],
            mlp["ratios"]["deep_defense_over_plain"],
            mlp["ratios"]["deep_defense_over_pgd7_at"],
            1e3 * cnn["seconds_per_step"]["plain"],
            1e3 * cnn["seconds_per_step"]["pgd7_at"],
            cnn["ratios"]["pgd7_at_over_plain"],
            cnn["seconds_per_step"]["deep_defense"],
            cnn["ratios"]["deep_defense_over_plain"],
            cnn["ratios"]["deep_defense_over_pgd7_at"],
        ],
    )
    runs = load("benchmarks/results/distributed_throughput.json")
    check(
        r"1 replica (\d+) images/s, `MirroredStrategy` over 2 logical CPU devices (\d+) images/s, "
        r"ratio (\S+)×",
        [runs["runs"][0]["images_per_second"], runs["runs"][1]["images_per_second"], runs["ratio_2_over_1"]],
    )
    streaming = load("benchmarks/results/streaming_eval.json")["results"]
    check(
        r"over 70k images the median RSS drifts by \+(\d+) MB",
        [next(r for r in streaming if r["n"] == 70000)["rss_drift_mb"]],
    )
    check(
        r"the growth of \+(\d+) to \+(\d+) MB is one batch's", ratio_range(r["growth_mb"] for r in streaming)
    )
    zoo = next(
        r
        for r in load("benchmarks/results/zoo_robustness.json")["results"]
        if r["model"] == "small_cnn_fashion_mnist"
    )
    check(
        r"JSMA touches ~(\d+) of 784 pixels",
        [next(r for r in zoo["minimal_rows"] if "JSMA" in r["attack"])["l0"]],
    )


def test_fuzz_and_distributed_counts_come_from_the_tests():
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "test_*.py")))
    settings = [int(n) for path in files for n in re.findall(r"max_examples\s*=\s*(\d+)", open(path).read())]
    check(r"`tests/fuzz/` holds (\d+) property-based tests", [len(settings)])
    check(r"that run up to (\d+) generated cases", [sum(settings)])
    with open(
        os.path.join(ROOT, "tests", "training", "test_distributed_training.py"), encoding="utf-8"
    ) as handle:
        bound = re.search(r'result\["gap"\] <= ([\d.e-]+) \+ ([\d.e-]+) \* result\["moved"\]', handle.read())
    check(
        r"stay within (\S+) \+ (\S+) × the largest weight change",
        [float(bound.group(1)), float(bound.group(2))],
    )


def test_status_and_cited_paths():
    status = readme_text().split("## Set-up")[0]
    assert "not run" not in status and "advmask_fashion_mnist.json" in status, status
    cited = set(re.findall(r"benchmarks/results/[\w./-]+?(?=[`\s),;]|$)", readme_text()))
    missing = [path for path in cited if not os.path.exists(os.path.join(ROOT, path.rstrip(".")))]
    assert len(cited) > 10 and not missing, f"README cites results that do not exist: {missing}"
