import keras
import numpy as np
import pytest

from tests.harness import run_trainer_saving_test
from tfdefend.training import GuidedDenoiserTraining

SHAPE = (8, 8, 1)


def _denoiser():
    """A residual-free conv denoiser with batch norm (so its training mode matters)."""
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.Conv2D(1, 3, padding="same")])


def _classifier():
    """A classifier with batch norm: its moving statistics must not change either."""
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.Flatten(), keras.layers.Dense(3)])


def _pairs(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x_clean = rng.uniform(0, 1, (n, *SHAPE)).astype(np.float32)
    x_adv = np.clip(x_clean + rng.choice([-0.1, 0.1], x_clean.shape), 0, 1).astype(np.float32)
    return x_adv, x_clean


def _snapshot(model):
    return [np.array(w) for w in model.weights]


def _unchanged(before, model):
    return all(np.array_equal(b, np.asarray(w)) for b, w in zip(before, model.weights))


def test_compute_loss_matches_numpy_reference():
    x_adv, x_clean = _pairs(8)
    denoiser, classifier = _denoiser(), _classifier()
    trainer = GuidedDenoiserTraining(denoiser, classifier, guidance_weight=2.0, pixel_weight=0.5)
    denoised = np.asarray(trainer(x_adv))
    np.testing.assert_array_equal(denoised, np.asarray(denoiser(x_adv, training=False)))
    guidance = np.abs(np.asarray(classifier(denoised)) - np.asarray(classifier(x_clean))).mean(axis=1).mean()
    pixel = np.abs(denoised - x_clean).reshape(8, -1).mean(axis=1).mean()
    loss = trainer.compute_loss(x_adv, x_clean, trainer(x_adv), training=False)
    assert float(loss) == pytest.approx(2.0 * guidance + 0.5 * pixel, rel=1e-5)
    assert float(trainer.guidance_tracker.result()) == pytest.approx(guidance, rel=1e-5)
    assert float(trainer.pixel_tracker.result()) == pytest.approx(pixel, rel=1e-5)
    with pytest.raises(ValueError, match="clean"):
        trainer.compute_loss(x_adv, None, denoised)


def test_fit_lowers_guided_loss_and_changes_only_the_denoiser():
    keras.utils.set_random_seed(0)
    x_adv, x_clean = _pairs(128)
    denoiser, classifier = _denoiser(), _classifier()
    classifier_before, denoiser_before = _snapshot(classifier), _snapshot(denoiser)
    trainer = GuidedDenoiserTraining(denoiser, classifier, guidance_weight=1.0, pixel_weight=0.1)
    assert not classifier.trainable
    assert {v.path for v in trainer.trainable_variables} == {v.path for v in denoiser.trainable_variables}
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = trainer.evaluate(x_adv, x_clean, batch_size=32, verbose=0, return_dict=True)
    history = trainer.fit(x_adv, x_clean, epochs=6, batch_size=32, verbose=0)
    after = trainer.evaluate(x_adv, x_clean, batch_size=32, verbose=0, return_dict=True)
    assert set(history.history) == {"loss", "guidance_loss", "pixel_loss"}
    assert history.history["guidance_loss"][-1] < history.history["guidance_loss"][0]
    assert after["guidance_loss"] < 0.7 * before["guidance_loss"]
    assert after["loss"] < before["loss"]
    assert _unchanged(classifier_before, classifier)  # batch-norm statistics included
    assert not _unchanged(denoiser_before, denoiser)


def test_config_round_trip_and_keras_file(tmp_path):
    x_adv, x_clean = _pairs(32)
    trainer = GuidedDenoiserTraining(_denoiser(), _classifier(), guidance_weight=0.5, pixel_weight=2.0)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    trainer.fit(x_adv, x_clean, epochs=1, batch_size=16, verbose=0)
    config = trainer.get_config()
    clone = GuidedDenoiserTraining.from_config(config)
    assert (clone.guidance_weight, clone.pixel_weight) == (0.5, 2.0)
    assert not clone.classifier.trainable
    clone.set_weights(trainer.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(x_adv)), np.asarray(trainer(x_adv)))

    loaded = run_trainer_saving_test(trainer, x_adv, (x_adv, x_clean), tmp_path,
                                     outputs=lambda model, x: [model(x), model.classifier(x_clean)],
                                     fit_kwargs={"batch_size": 16})
    assert isinstance(loaded, GuidedDenoiserTraining)


def test_rejects_bad_arguments():
    denoiser, classifier = _denoiser(), _classifier()
    with pytest.raises(ValueError, match="guidance_weight"):
        GuidedDenoiserTraining(denoiser, classifier, guidance_weight=-1.0)
    with pytest.raises(ValueError, match="pixel_weight"):
        GuidedDenoiserTraining(denoiser, classifier, pixel_weight=-0.5)
    with pytest.raises(ValueError, match="both 0"):
        GuidedDenoiserTraining(denoiser, classifier, guidance_weight=0.0, pixel_weight=0.0)
    with pytest.raises(TypeError, match="denoiser"):
        GuidedDenoiserTraining(lambda v: v, classifier)
    with pytest.raises(TypeError, match="classifier"):
        GuidedDenoiserTraining(denoiser, "classifier")
    with pytest.raises(TypeError, match="guidance_weight"):
        GuidedDenoiserTraining(denoiser, classifier, guidance_weight="1")
