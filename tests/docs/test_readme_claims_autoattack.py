"""README prose figures of the AutoAttack section: masking checks, distillation, the leaderboard."""

import glob
import os

from tests.docs.readme_claims import check, load
from tests.docs.readme_tables import ROOT

MASKING = "benchmarks/results/masking_checks.json"
DISTILLATION_AA = "benchmarks/results/masking_checks_distillation_autoattack.json"


def _values(rows, row, check_name):
    return next(c for c in rows[row]["report"]["checks"] if c["name"] == check_name)["values"]


def test_masking_check_claims():
    rows = load(MASKING)["rows"]
    square = _values(rows, "defensive_distillation", "black_box_beats_white_box")
    large = _values(rows, "defensive_distillation", "large_eps_not_zero")
    check(r"APGD-CE stalls where Square breaks (\d+) more images and ε 0.5 leaves (\d+)% standing",
          [square["white_box_robust"] - square["square_robust"], 100 * large["robust_accuracy"]])
    more = _values(rows, "comdefend", "more_steps_help")
    check(r"has not converged at 100 steps \((\d+) more images broken\)",
          [more["white_box_robust"] - more["more_steps_robust"]])


def test_distillation_autoattack_claim():
    row = load(DISTILLATION_AA)["rows"]["defensive_distillation"]
    after = {a["name"]: 100 * a["robust_accuracy"] for a in row["autoattack"]["attacks"]}
    check(r"standard AutoAttack leaves (\d+\.\d)% of the distilled classifier's 200 images robust "
          r"\(APGD-CE alone: (\d+\.\d)%",
          [100 * row["autoattack"]["robust_accuracy"], after["apgd-ce"]])


LINF = "benchmarks/results/leaderboard/fashion_mnist_inf_n100/leaderboard_inf.json"
L2 = "benchmarks/results/leaderboard/fashion_mnist_l2_n100/leaderboard_l2.json"


def _robust(path):
    return {row["name"]: 100 * row["robust_accuracy"] for row in load(path)["rows"]}


RETIRED = "benchmarks/results/leaderboard/retired_issue20_comdefend"
RETIRED_DD = "benchmarks/results/leaderboard/retired_issue23_deepdefense_k10/"


def _retired_rows():
    """The issue-20 ComDefends' leaderboard rows, by (name, norm)."""
    rows = {}
    for path in sorted(glob.glob(os.path.join(ROOT, RETIRED, "*.json"))):
        row = load(os.path.relpath(path, ROOT))
        rows[(row["name"], "l2" if "-l2-" in os.path.basename(path) else "inf")] = row
    assert len(rows) == 4, sorted(rows)
    return rows


def _clean(path):
    return {row["name"]: 100 * row["clean_accuracy"] for row in load(path)["rows"]}


def _retired():
    return {key: 100 * row["robust_accuracy"] for key, row in _retired_rows().items()}


def test_leaderboard_claims():
    linf, l2 = _robust(LINF), _robust(L2)
    retired = _retired()
    check(r"kept the most of the preprocessing defenses \((\d+)% at L∞ 0.1 and (\d+)% at L2 1.5, close to its "
          r"PGD-10 BPDA figure then; the residual encoder (\d+)% / (\d+)%",
          [retired[("comdefend_fashion_mnist", "inf")], retired[("comdefend_fashion_mnist", "l2")],
           retired[("comdefend_residual_fashion_mnist", "inf")], retired[("comdefend_residual_fashion_mnist", "l2")]])
    clean, clean_l2 = _clean(LINF), _clean(L2)
    for name in ("comdefend_fashion_mnist", "comdefend_residual_fashion_mnist"):
        assert clean[name] == clean_l2[name]  # the same 100 images, one clean figure
    check(r"have their rows on both boards\s+\(ComDefend (\d+)% at L∞, (\d+)% at L2, clean (\d+)%; the residual "
          r"encoder (\d+)% and (\d+)%,\s+clean (\d+)%\)",
          [linf["comdefend_fashion_mnist"], l2["comdefend_fashion_mnist"], clean["comdefend_fashion_mnist"],
           linf["comdefend_residual_fashion_mnist"], l2["comdefend_residual_fashion_mnist"],
           clean["comdefend_residual_fashion_mnist"]])
    check(r"The retrained ComDefends keep (\d+)% and (\d+)% \(residual\) at L∞ 0\.1 \((\d+)% and (\d+)% before\)",
          [linf["comdefend_fashion_mnist"], linf["comdefend_residual_fashion_mnist"],
           retired[("comdefend_fashion_mnist", "inf")], retired[("comdefend_residual_fashion_mnist", "inf")]])
    check(r"At L2 1\.5\s+the plain ComDefend keeps (\d+)% \((\d+)% before\), the residual encoder (\d+)% \((\d+)%\s+before\)",
          [l2["comdefend_fashion_mnist"], retired[("comdefend_fashion_mnist", "l2")],
           l2["comdefend_residual_fashion_mnist"], retired[("comdefend_residual_fashion_mnist", "l2")]])
    replaced = {norm: 100 * load(path)["robust_accuracy"] for norm, path in (
        ("inf", RETIRED_DD + "small_cnn_f16_deepdefense_fashion_mnist-inf-7237df5bbeda.json"),
        ("l2", RETIRED_DD + "small_cnn_f16_deepdefense_fashion_mnist-l2-cdce2ff71780.json"))}
    check(r"the 10-class one it replaced kept (\d+)% / (\d+)%", [replaced["inf"], replaced["l2"]])
    denoisers = [board[name] for board in (linf, l2) for name in
                 ("uddn_fashion_mnist", "uddn_fashion_mnist + uddn_student_fashion_mnist", "dae_fashion_mnist")]
    check(r"the DAE fall to (\d+)–(\d+)% under AutoAttack", [min(denoisers), max(denoisers)])
    check(r"The RL chain keeps (\d+)% \(L∞\) and (\d+)% \(L2\)",
          [linf["rl_chain_fashion_mnist"], l2["rl_chain_fashion_mnist"]])
    check(r"Deep Defense keeps (\d+)% \(L∞\) / (\d+)% \(L2\); PGD-AT (\d+)% / (\d+)%",
          [linf["small_cnn_f16_deepdefense_fashion_mnist"], l2["small_cnn_f16_deepdefense_fashion_mnist"],
           linf["small_cnn_f16_pgd_at_fashion_mnist"], l2["small_cnn_f16_pgd_at_fashion_mnist"]])
    check(r"keep (\d+)% \(PGD-AT\) and (\d+)% \(Deep Defense\) at 25/255",
          [linf["small_cnn_f16_pgd_at_fashion_mnist (int8 TFLite)"],
           linf["small_cnn_f16_deepdefense_fashion_mnist (int8 TFLite)"]])
    robust_zoo = [linf[name] for name in ("small_cnn_f16_trades_fashion_mnist", "small_cnn_f16_fast_at_fashion_mnist",
                                          "small_cnn_f16_pgd_at_scratch_fashion_mnist", "resnet_fast_at_fashion_mnist")]
    check(r"the robust zoo trained from scratch \(below\) keeps (\d+)–(\d+)% at L∞", [min(robust_zoo), max(robust_zoo)])
    rows = load(LINF)["rows"]
    adversarially_trained = [r for r in rows if r["kind"] == "classifier" and ("pgd_at" in r["name"] or "trades" in r["name"]
                                                                                or "fast_at" in r["name"])]
    assert len(adversarially_trained) == 5 and not any(r["warnings"] for r in adversarially_trained)
    comdefend = _retired_rows()[("comdefend_fashion_mnist", "inf")]
    check(r"one 100-image row costs (\d+) s \(an undefended classifier\) to (\d+) minutes \(the first ComDefend",
          [min(r["seconds"] for r in rows if r["kind"] == "classifier"), comdefend["seconds"] / 60])
    hours = [sum(r["seconds"] for r in load(path)["rows"]) / 3600 for path in (LINF, L2)]
    check(r"\((\d\.\d) and (\d\.\d) hours of row time for the rows shown", hours)
    assert len(load(L2)["rows"]) == len(rows)  # both boards complete


def test_art_comparison_claims():
    small, large = load("benchmarks/results/autoattack_speed_200.json"), load("benchmarks/results/autoattack_speed_1000.json")
    check(r"Our ensemble is (\d+\.\d)× faster than ART's on 200 images and leaves fewer points robust "
          r"\((\d+\.\d) vs (\d+\.\d)\)",
          [small["auto_attack_speedup_vs_art"], 100 * small["auto_attack"]["robust_accuracy"],
           100 * small["art_auto_attack_robust_accuracy"]])
    assert small["auto_attack"]["robust_accuracy"] < small["art_auto_attack_robust_accuracy"]
    speedups = sorted(r["apgd_ce_speedup_vs_art"] for r in (small, large))
    ratios = sorted(r["apgd_ce_ratio_to_limit"] for r in (small, large))
    check(r"our APGD-CE is (\d+\.\d)–(\d+\.\d)× faster than ART's and runs at (\d+\.\d+)–(\d+\.\d+) of the raw",
          [*speedups, *ratios])
    check(r"our APGD-CE leaves (\d+\.\d) points more robust than ART's \((\d+) image; on 1,000, (\d+\.\d) points "
          r"fewer\)",
          [100 * (small["apgd_ce_robust_accuracy"] - small["art_apgd_ce_robust_accuracy"]),
           round(small["n"] * (small["apgd_ce_robust_accuracy"] - small["art_apgd_ce_robust_accuracy"])),
           100 * (large["art_apgd_ce_robust_accuracy"] - large["apgd_ce_robust_accuracy"])])
