import keras
import numpy as np
import pytest

from tfdefend.attacks import fgsm
from tfdefend.models.denoiser_toolbox import DenoiserToolbox
from tfdefend.training import train_denoiser_toolbox

SHAPE = (8, 8, 1)


def _classifier(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(3)])


def _data(n=96, seed=0):
    """Smooth random images (blocky), so a small CNN can remove sign noise from them."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.2, 0.8, (n, 4, 4, 1))
    x = np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2).astype(np.float32)
    return x, rng.integers(0, 3, n)


def _toolbox():
    return DenoiserToolbox(SHAPE, strengths=(2, 16), depths=(3,), filters=8)


def _weights(model):
    return [np.array(w) for w in model.weights]


def _mse(tool, x_adv, x):
    return float(np.mean((np.asarray(tool(x_adv)) - x) ** 2))


def test_training_lowers_each_tools_error_at_its_strength():
    x, y = _data()
    classifier, toolbox = _classifier(), _toolbox()
    pairs = {s: fgsm(classifier, x, y, eps=s / 255) for s in (2, 16)}
    before = [_mse(tool, pairs[s], x) for tool, s in zip(toolbox.tools, (2, 16))]
    histories = train_denoiser_toolbox(toolbox, classifier, x, y, epochs=6, batch_size=16,
                                       learning_rate=3e-3, seed=0)
    assert list(histories) == toolbox.tool_names
    for name, history in histories.items():
        assert len(history["loss"]) == 6
        assert history["loss"][-1] < history["loss"][0], name
    after = [_mse(tool, pairs[s], x) for tool, s in zip(toolbox.tools, (2, 16))]
    assert after[0] < before[0] and after[1] < 0.8 * before[1]
    # The tools come back without their optimizers, so a saved toolbox holds the weights only.
    assert all(tool.optimizer is None for tool in toolbox.tools)


def test_tools_of_different_strengths_end_up_different():
    x, y = _data()
    classifier, toolbox = _classifier(), _toolbox()
    train_denoiser_toolbox(toolbox, classifier, x, y, epochs=3, batch_size=16, learning_rate=3e-3)
    probe = fgsm(classifier, x[:16], y[:16], eps=16 / 255)
    out_weak, out_strong = (np.asarray(tool(probe)) for tool in toolbox.tools)
    assert np.abs(out_weak - out_strong).mean() > 1e-3
    # The tool trained on the larger strength removes more of a strong perturbation.
    assert np.mean((out_strong - x[:16]) ** 2) < np.mean((out_weak - x[:16]) ** 2)


def test_clean_pairs_teach_the_tools_to_leave_clean_images_alone():
    """With half of the pairs clean identity pairs, a strong tool moves clean images less, and still
    removes much of its own strength's noise."""
    x, y = _data()
    classifier = _classifier()
    moved = {}
    for fraction in (0.0, 0.5):
        toolbox = _toolbox()
        train_denoiser_toolbox(toolbox, classifier, x, y, epochs=6, batch_size=16, learning_rate=3e-3,
                               clean_fraction=fraction, seed=0)
        strong = toolbox.tools[1]
        moved[fraction] = _mse(strong, x, x)
        noisy = fgsm(classifier, x, y, eps=16 / 255)
        assert _mse(strong, noisy, x) < 0.8 * float(np.mean((np.asarray(noisy) - x) ** 2)), fraction
    assert moved[0.5] < 0.8 * moved[0.0], moved


def test_classifier_is_unchanged_and_stays_trainable():
    x, y = _data(32)
    classifier, toolbox = _classifier(), _toolbox()
    before = _weights(classifier)
    for guidance in ("pixels", "logits"):
        train_denoiser_toolbox(toolbox, classifier, x, y, epochs=1, batch_size=16, guidance=guidance)
    assert all(np.array_equal(b, np.asarray(w)) for b, w in zip(before, classifier.weights))
    assert classifier.trainable


def test_logit_guidance_trains_the_tools_and_default_labels_work():
    x, _ = _data(64)
    classifier, toolbox = _classifier(), _toolbox()
    before = _weights(toolbox)
    histories = train_denoiser_toolbox(toolbox, classifier, x, epochs=2, batch_size=16, guidance="logits",
                                       pixel_weight=0.5, attack=("bim", {"steps": 2}), learning_rate=3e-3)
    assert set(histories[toolbox.tool_names[0]]) >= {"loss", "guidance_loss", "pixel_loss"}
    assert any(not np.array_equal(b, np.asarray(w)) for b, w in zip(before, toolbox.weights))


def test_bad_arguments():
    x, y = _data(8)
    classifier, toolbox = _classifier(), _toolbox()
    with pytest.raises(TypeError, match="toolbox"):
        train_denoiser_toolbox(classifier, classifier, x, y)
    with pytest.raises(TypeError, match="classifier"):
        train_denoiser_toolbox(toolbox, lambda v: v, x, y)
    with pytest.raises(ValueError, match="guidance"):
        train_denoiser_toolbox(toolbox, classifier, x, y, guidance="l1")
    with pytest.raises(ValueError, match="attack"):
        train_denoiser_toolbox(toolbox, classifier, x, y, attack="cw")
    with pytest.raises(TypeError, match="attack"):
        train_denoiser_toolbox(toolbox, classifier, x, y, attack=3)
    with pytest.raises(ValueError, match="epochs"):
        train_denoiser_toolbox(toolbox, classifier, x, y, epochs=0)
    for fraction in (1.0, -0.1):
        with pytest.raises(ValueError, match="clean_fraction"):
            train_denoiser_toolbox(toolbox, classifier, x, y, clean_fraction=fraction)
    with pytest.raises(ValueError, match="learning_rate"):
        train_denoiser_toolbox(toolbox, classifier, x, y, learning_rate=-1.0)
    with pytest.raises(ValueError, match="y"):
        train_denoiser_toolbox(toolbox, classifier, x, y[:3])
    with pytest.raises(ValueError, match="x"):
        train_denoiser_toolbox(toolbox, classifier, x * 255, y)
