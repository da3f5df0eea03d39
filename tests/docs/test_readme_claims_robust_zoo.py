"""README prose figures of the robust zoo section (TRADES, fast-AT, PGD-AT from scratch, the ResNet)."""

from tests.docs.readme_claims import check, load

ROBUST_ZOO = "benchmarks/results/robust_zoo.json"
SPEED = "benchmarks/results/robust_training_speed.json"


def _models():
    return load(ROBUST_ZOO)["models"]


def test_models_against_the_target():
    models = _models()
    madry = models["small_cnn_f16_pgd_at_scratch_fashion_mnist"]
    trades = models["small_cnn_f16_trades_fashion_mnist"]
    fast = models["small_cnn_f16_fast_at_fashion_mnist"]
    resnet = models["resnet_fast_at_fashion_mnist"]
    check(r"PGD-AT from scratch comes closest: (\d+\.\d+)% clean on the full test split and (\d+\.\d+)% "
          r"AutoAttack \(L∞ 0.1, the first (\d+,\d+) test images\), (\d+\.\d+) points short of the clean target",
          [100 * madry["clean_accuracy"], 100 * madry["autoattack_inf"]["robust_accuracy"],
           madry["autoattack_inf"]["n"], 100 * (0.85 - madry["clean_accuracy"])])
    check(r"TRADES reaches (\d+\.\d+)% clean and (\d+\.\d+)% AutoAttack \((\d+,\d+) images\)",
          [100 * trades["clean_accuracy"], 100 * trades["autoattack_inf"]["robust_accuracy"],
           trades["autoattack_inf"]["n"]])
    check(r"fast adversarial training (\d+\.\d+)% clean and (\d+\.\d+)% \((\d+,\d+) images\)",
          [100 * fast["clean_accuracy"], 100 * fast["autoattack_inf"]["robust_accuracy"],
           fast["autoattack_inf"]["n"]])
    check(r"the ResNet with fast-AT \(5 epochs\) (\d+\.\d+)% clean and (\d+\.\d+)% \((\d+) images\)",
          [100 * resnet["clean_accuracy"], 100 * resnet["autoattack_inf"]["robust_accuracy"],
           resnet["autoattack_inf"]["n"]])
    assert not any(row["meets_target"] for row in models.values())  # the README says the target is missed
    assert madry["autoattack_inf"]["robust_accuracy"] >= 0.70 > madry["clean_accuracy"] - 0.15


def test_trades_versus_pgd_at_claim():
    models = _models()
    madry = models["small_cnn_f16_pgd_at_scratch_fashion_mnist"]
    trades = models["small_cnn_f16_trades_fashion_mnist"]
    assert madry["clean_accuracy"] > trades["clean_accuracy"]
    assert madry["autoattack_inf"]["robust_accuracy"] > trades["autoattack_inf"]["robust_accuracy"]
    check(r"TRADES does not beat PGD-AT here: (\d+\.\d+) points less clean and (\d+\.\d+) less robust",
          [100 * (madry["clean_accuracy"] - trades["clean_accuracy"]),
           100 * (madry["autoattack_inf"]["robust_accuracy"] - trades["autoattack_inf"]["robust_accuracy"])])


def test_training_cost_claims():
    rows = load(SPEED)["rows"]
    check(r"a fast-AT step costs (\d+\.\d+)× a plain one, PGD-AT-7 (\d+\.\d+)× \(target ≤ 8\.5×: met\), "
          r"PGD-AT-10 (\d+\.\d+)×, TRADES-10 (\d+\.\d+)× and MART-10 (\d+\.\d+)×",
          [rows[name]["cost_vs_plain"] for name in ("fast-at", "pgd-at-7", "pgd-at", "trades", "mart")])
    assert rows["pgd-at-7"]["cost_vs_plain"] <= 8.5  # issue 25's target, as the README says


def test_curve_quantization_and_l2_claims():
    models = _models()
    fast, madry = models["small_cnn_f16_fast_at_fashion_mnist"], models["small_cnn_f16_pgd_at_scratch_fashion_mnist"]
    curve = fast["pgd10_curve"]
    assert fast["guard_triggered"] is None
    check(r"fast-AT's held-out PGD-10 accuracy peaked at (\d+\.\d)% and ended at (\d+\.\d)%",
          [100 * max(curve), 100 * curve[-1]])
    check(r"the model ends (\d+\.\d) points below PGD-AT under AutoAttack",
          [100 * (madry["autoattack_inf"]["robust_accuracy"] - fast["autoattack_inf"]["robust_accuracy"])])
    new = [row for name, row in models.items() if not row["finetuned_from"]]
    check(r"the int8 app bundles agree with Keras on (\d+\.\d+)–(\d+\.\d+)% of the test images",
          [100 * min(r["int8_top1_agreement"] for r in new), 100 * max(r["int8_top1_agreement"] for r in new)])
    square = [100 * r["int8_square_inf"]["robust_accuracy"] for r in new]
    check(r"leaves (\d+)–(\d+)% of the first 100 images robust", [min(square), max(square)])
    l2 = [100 * r["autoattack_l2"]["robust_accuracy"] for r in new]
    check(r"AutoAttack leaves the L∞-trained models (\d+)–(\d+)%", [min(l2), max(l2)])
    old = models["small_cnn_f16_pgd_at_fashion_mnist"]
    check(r"below the fine-tuned PGD-AT's (\d+)%", [100 * old["autoattack_l2"]["robust_accuracy"]])
    check(r"fast-AT step, whose 5 ResNet epochs took (\d+\.\d+) hours",
          [models["resnet_fast_at_fashion_mnist"]["train_wall_hours"]])


def test_pgd_at_interval_claim():
    entry = load("tfdefend/models/zoo/manifest.json")["models"]["small_cnn_f16_pgd_at_scratch_fashion_mnist"]
    low, high = entry["ci95"]["clean_accuracy"]
    check(r"its 95% interval, (\d+\.\d+)–(\d+\.\d+)%, holds 85%", [100 * low, 100 * high])
    assert low <= 0.85 <= high
