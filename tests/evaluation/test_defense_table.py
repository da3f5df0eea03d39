import pytest

from tfdefend.evaluation import defense_table, format_defense_table, plot_defense_table
from tfdefend.models import BitDepthReduction


def test_bpda_row_exposes_gradient_masking(digits_model, tmp_path):
    model, x, y, _ = digits_model
    rows = defense_table(model, {"bits3": BitDepthReduction(bits=3)}, (x[:64], y[:64]),
                         eps_values=[0.2], attacks=("pgd",), pgd_steps=10, batch_size=32)
    acc = {(r["defense"], r["mode"], r["attack"]): r["accuracy"] for r in rows}
    assert acc[("none", "clean", "clean")] == 1.0
    assert acc[("bits3", "clean", "clean")] > 0.85
    assert ("none", "gray_box", "pgd") not in acc  # all modes coincide without a defense
    assert acc[("none", "oblivious", "pgd")] < 0.1
    # plain gradients through quantization are zero: the gray-box attack does nothing
    assert acc[("bits3", "gray_box", "pgd")] >= acc[("bits3", "clean", "clean")] - 0.05
    # BPDA gets through, at least as well as transferring the bare-classifier attack
    assert acc[("bits3", "adaptive", "pgd")] < 0.25
    assert acc[("bits3", "adaptive", "pgd")] <= acc[("bits3", "oblivious", "pgd")] + 0.05
    assert all(r["n"] == 64 for r in rows)
    text = format_defense_table(rows)
    assert "| bits3 |" in text and "PGD 0.2 adaptive" in text
    png = plot_defense_table(rows, tmp_path / "plot.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments(digits_model):
    model, x, y, _ = digits_model
    with pytest.raises(ValueError, match="Unknown modes"):
        defense_table(model, {}, (x, y), eps_values=[0.1], modes=("black_box",))
    with pytest.raises(ValueError, match="reserved"):
        defense_table(model, {"none": BitDepthReduction()}, (x, y), eps_values=[0.1])
    with pytest.raises(TypeError, match="defenses"):
        defense_table(model, [BitDepthReduction()], (x, y), eps_values=[0.1])
