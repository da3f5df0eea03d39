import pytest
import tensorflow as tf

from tfdefend.attacks import fgsm
from tfdefend.evaluation import attack_suite, format_table, robustness_table


def test_table_on_trained_model(digits_model):
    model, x, y, _ = digits_model
    suite = attack_suite([0.05, 0.2], pgd_steps=5)
    rows = robustness_table(model, (x[:64], y[:64]), suite, batch_size=32)
    by_name = {row["attack"]: row for row in rows}
    assert rows[0]["attack"] == "clean" and rows[0]["accuracy"] == 1.0 and rows[0]["n"] == 64
    assert set(by_name) == {"clean", "FGSM eps=0.05", "FGSM eps=0.2", "PGD-5 eps=0.05", "PGD-5 eps=0.2"}
    for name, row in by_name.items():
        if name == "clean":
            continue
        eps = float(name.split("eps=")[1])
        assert row["max_linf"] <= eps + 1e-6
        assert row["success_rate"] == pytest.approx(1.0 - row["accuracy"])  # all clean-correct here
    assert by_name["PGD-5 eps=0.2"]["accuracy"] < 0.2
    assert by_name["PGD-5 eps=0.2"]["accuracy"] <= by_name["FGSM eps=0.2"]["accuracy"]
    assert by_name["PGD-5 eps=0.05"]["accuracy"] > by_name["PGD-5 eps=0.2"]["accuracy"]
    text = format_table(rows)
    assert "| PGD-5 eps=0.2 |" in text and text.count("\n") == len(rows) + 1


def test_streaming_dataset_equals_arrays(digits_model):
    model, x, y, _ = digits_model
    attacks = {"FGSM": lambda m, xb, yb: fgsm(m, xb, yb, eps=0.1)}
    from_arrays = robustness_table(model, (x[:50], y[:50]), attacks, batch_size=16)
    unbatched = tf.data.Dataset.from_tensor_slices((x, y))
    streamed = robustness_table(model, unbatched, attacks, batch_size=16, limit=50)
    for a, b in zip(from_arrays, streamed):
        assert a["accuracy"] == pytest.approx(b["accuracy"])
        assert a.get("l2", 0) == pytest.approx(b.get("l2", 0), rel=1e-5)
        assert a["n"] == b["n"] == 50


def test_bad_arguments(digits_model):
    model, x, y, _ = digits_model
    with pytest.raises(TypeError, match="attacks"):
        robustness_table(model, (x, y), {"bad": 3})
    with pytest.raises(TypeError, match="data"):
        robustness_table(model, x, {})
    with pytest.raises(ValueError, match="labels"):
        robustness_table(model, (x, y[:3]), {})
    with pytest.raises(ValueError, match="include"):
        attack_suite([0.1], include=("fgsm", "nope"))
