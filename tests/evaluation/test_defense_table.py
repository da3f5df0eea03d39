import pytest

from tfdefend.evaluation import (
    attack_suite,
    defense_table,
    format_defense_table,
    plot_defense_table,
    robustness_table,
)
from tfdefend.models import BitDepthReduction


def test_bpda_row_exposes_gradient_masking(digits_model, tmp_path):
    model, x, y, _ = digits_model
    suite = attack_suite([0.2], pgd_steps=10, include=("pgd",))
    rows = robustness_table(model, (x[:64], y[:64]), suite, defenses={"bits3": BitDepthReduction(bits=3)},
                            batch_size=32)
    assert {r["family"] for r in rows} == {"clean", "pgd"} and {r["eps"] for r in rows} == {0.0, 0.2}
    acc = {(r["defense"], r["mode"], r["family"]): r["accuracy"] for r in rows}
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
    assert "| bits3 |" in text and "PGD-10 eps=0.2 (adaptive)" in text
    png = plot_defense_table(rows, tmp_path / "plot.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments(digits_model):
    model, x, y, _ = digits_model
    suite = attack_suite([0.1])
    with pytest.raises(ValueError, match="Unknown modes"):
        defense_table(model, {}, (x, y), suite, modes=("black_box",))
    with pytest.raises(ValueError, match="reserved"):
        defense_table(model, {"none": BitDepthReduction()}, (x, y), suite)
    with pytest.raises(TypeError, match="defenses"):
        defense_table(model, [BitDepthReduction()], (x, y), suite)
    with pytest.raises(TypeError, match="attacks"):
        defense_table(model, {}, (x, y), {"bad": 1})
    with pytest.raises(ValueError, match="eps"):
        plot_defense_table([{"defense": "none", "mode": "clean", "attack": "clean", "family": "clean",
                             "eps": 0.0, "accuracy": 1.0, "n": 1}], "unused.png")


@pytest.fixture(scope="module")
def tiny_comdefend():
    """A small ComDefend trained on the digits' training split until it reconstructs well."""
    import keras

    from tfdefend import data
    from tfdefend.models import ComDefend
    from tfdefend.training import train_preprocessor

    keras.utils.set_random_seed(0)
    x, _ = data.load("digits", "train", as_numpy=True)
    model = ComDefend((8, 8, 1), code_channels=8, comcnn_filters=(16, 32, 16), rescnn_filters=(16, 32, 16),
                      seed=0)
    train_preprocessor(model, x, epochs=25, batch_size=32, learning_rate=2e-3, verbose=0)
    return model


def test_bpda_beats_oblivious_attack_on_comdefend(tiny_comdefend):
    from tfdefend import data
    from tfdefend.models import load_pretrained

    model = load_pretrained("small_cnn_digits")
    x, y = data.load("digits", "test", as_numpy=True, limit=100)
    rows = defense_table(model, {"comdefend": tiny_comdefend}, (x, y),
                         attack_suite([0.15], pgd_steps=10, include=("pgd",)), batch_size=50)
    acc = {(r["defense"], r["mode"]): r["accuracy"] for r in rows}
    assert acc[("comdefend", "clean")] > 0.7  # the reconstruction keeps most digits readable
    assert acc[("none", "oblivious")] < acc[("comdefend", "oblivious")]  # ComDefend helps obliviously
    # BPDA (straight-through binarizer) breaks through further than the oblivious attack
    assert acc[("comdefend", "adaptive")] < acc[("comdefend", "oblivious")] - 0.08
    # the binarized code has a zero gradient: the naive gray-box attack is far weaker than BPDA
    assert acc[("comdefend", "gray_box")] > acc[("comdefend", "adaptive")]
