"""README prose figures of the robust zoo section (TRADES, fast-AT, PGD-AT from scratch, MART)."""

from tests.docs.readme_claims import check, load

ROBUST_ZOO = "benchmarks/results/robust_zoo.json"
SPEED = "benchmarks/results/robust_training_speed.json"


def _models():
    return load(ROBUST_ZOO)["models"]


def test_best_model_against_the_target():
    models = _models()
    trades = models["small_cnn_f16_trades_fashion_mnist"]
    fast = models["small_cnn_f16_fast_at_fashion_mnist"]
    check(r"TRADES reaches (\d+\.\d+)% clean and (\d+\.\d+)% AutoAttack \(L∞ 0.1, the first (\d+(?:,\d+)?) test images\)",
          [100 * trades["clean_accuracy"], 100 * trades["autoattack_inf"]["robust_accuracy"],
           trades["autoattack_inf"]["n"]])
    check(r"fast adversarial training (\d+\.\d+)% clean and (\d+\.\d+)% AutoAttack \((\d+(?:,\d+)?) images\)",
          [100 * fast["clean_accuracy"], 100 * fast["autoattack_inf"]["robust_accuracy"],
           fast["autoattack_inf"]["n"]])
    assert not any(row["meets_target"] for row in models.values())  # the README says the target is missed


def test_training_cost_claims():
    rows = load(SPEED)["rows"]
    check(r"a fast-AT step costs (\d+\.\d+)× a plain one, PGD-AT-10 (\d+\.\d+)×, TRADES-10 (\d+\.\d+)× "
          r"and MART-10 (\d+\.\d+)×",
          [rows[name]["cost_vs_plain"] for name in ("fast-at", "pgd-at", "trades", "mart")])
