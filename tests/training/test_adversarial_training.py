import keras
import numpy as np
import pytest

from tests.harness import run_trainer_saving_test
from tfdefend.attacks import fgsm, pgd
from tfdefend.training import AdversarialTraining

SHAPE = (8, 8, 1)


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                             keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(np.asarray(model(x, training=False)), axis=1) == y))


def _digits_train():
    from tfdefend.data import load

    return load("digits", split="train", as_numpy=True)


def test_adversarial_batch_respects_eps_matches_public_attacks_and_fools(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:64], y[:64]
    eps = 0.2
    for attack, step, reference in (("fgsm", None, fgsm(model, x, y, eps=eps)),
                                    ("pgd", 0.05, pgd(model, x, y, eps=eps, step_size=0.05, steps=7))):
        trainer = AdversarialTraining(model, attack=attack, eps=eps, steps=7, step_size=step,
                                      random_start=False)
        x_adv = np.asarray(trainer.adversarial_batch(x, y))
        assert np.abs(x_adv - x).max() <= eps + 1e-6 and x_adv.min() >= 0.0 and x_adv.max() <= 1.0
        np.testing.assert_allclose(x_adv, reference, atol=1e-5)
        assert _accuracy(model, x_adv, y) < 0.5
    # Random start: still inside the ball, seeded, and different per call.
    trainer = AdversarialTraining(model, attack="pgd", eps=eps, steps=3, seed=3)
    first, second = (np.asarray(trainer.adversarial_batch(x, y)) for _ in range(2))
    assert np.abs(first - x).max() <= eps + 1e-6 and not np.array_equal(first, second)
    again = AdversarialTraining(model, attack="pgd", eps=eps, steps=3, seed=3)
    np.testing.assert_array_equal(np.asarray(again.adversarial_batch(x, y)), first)
    l2 = AdversarialTraining(model, attack="pgd", eps=1.0, steps=3, norm="l2", seed=0)
    delta = (np.asarray(l2.adversarial_batch(x, y)) - x).reshape(len(x), -1)
    assert np.linalg.norm(delta, axis=1).max() <= 1.0 + 1e-5


def test_a_few_epochs_raise_fgsm_accuracy(digits_model):
    keras.utils.set_random_seed(0)  # fit's shuffling: the same batches whichever tests ran before
    model, x_test, y_test, _ = digits_model
    x_train, y_train = _digits_train()
    classifier = type(model).from_config(model.get_config())
    classifier.set_weights(model.get_weights())
    before = _accuracy(classifier, fgsm(classifier, x_test, y_test, eps=0.1), y_test)
    trainer = AdversarialTraining(classifier, attack="fgsm", eps=0.1, ratio=0.5)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = trainer.fit(x_train, y_train, batch_size=64, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "clean_loss", "adv_loss", "accuracy", "adv_accuracy"}
    assert history.history["adv_accuracy"][-1] > history.history["adv_accuracy"][0]
    after = _accuracy(classifier, fgsm(classifier, x_test, y_test, eps=0.1), y_test)
    assert after > before + 0.1
    assert _accuracy(classifier, x_test, y_test) >= 0.9


def test_loss_mixes_clean_and_adversarial_terms(digits_model):
    _, x, y, _ = digits_model
    for ratio in (0.0, 0.3, 1.0):
        trainer = AdversarialTraining(_mlp(), attack="pgd", eps=0.1, steps=2, ratio=ratio, seed=0)
        trainer.compile(optimizer=keras.optimizers.SGD(0.0))
        logs = trainer.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0).history
        mixed = (1 - ratio) * logs["clean_loss"][0] + ratio * logs["adv_loss"][0]
        assert logs["loss"][0] == pytest.approx(mixed, rel=1e-5)
        assert logs["adv_loss"][0] > logs["clean_loss"][0]
    assert set(trainer.evaluate(x[:32], y[:32], verbose=0, return_dict=True)) == {"loss", "accuracy"}


def test_config_round_trip_and_keras_file(tmp_path):
    x = np.random.default_rng(0).uniform(0, 1, (32, *SHAPE)).astype(np.float32)
    y = np.arange(32) % 10
    trainer = AdversarialTraining(_mlp(), attack="pgd", eps=0.05, steps=3, step_size=0.02, ratio=0.7,
                                  seed=5, norm="inf", clip=(0.0, 1.0))
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    trainer.fit(x, y, batch_size=16, epochs=1, verbose=0)
    clone = AdversarialTraining.from_config(trainer.get_config())
    assert (clone.attack, clone.eps, clone.steps, clone.step_size, clone.ratio, clone.random_start,
            clone.seed, clone.norm, clone.clip) == ("pgd", 0.05, 3, 0.02, 0.7, True, 5, "inf", (0.0, 1.0))
    clone.set_weights(trainer.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(trainer(x)))
    loaded = run_trainer_saving_test(trainer, x, (x, y), tmp_path, fit_kwargs={"batch_size": 16})
    assert isinstance(loaded, AdversarialTraining)
    default_step = AdversarialTraining(_mlp(), attack="pgd", eps=0.1, steps=4).step_size
    assert default_step == pytest.approx(2.5 * 0.1 / 4)
    assert AdversarialTraining(_mlp(), eps=0.1).step_size == 0.1  # FGSM steps by eps
    fast = AdversarialTraining(_mlp(), eps=0.1, random_start=True)  # Wong et al.: 1.25 eps from a random start
    assert fast.step_size == pytest.approx(0.125) and fast.random_start
    assert AdversarialTraining.from_config(fast.get_config()).random_start
    assert not AdversarialTraining(_mlp(), eps=0.1).random_start


def test_fast_fgsm_starts_at_random_inside_the_ball(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:64], y[:64]
    eps = 0.1
    fast = AdversarialTraining(model, attack="fgsm", eps=eps, random_start=True, seed=1)
    first, second = (np.asarray(fast.adversarial_batch(x, y)) for _ in range(2))
    assert np.abs(first - x).max() <= eps + 1e-6 and first.min() >= 0.0 and first.max() <= 1.0
    assert not np.array_equal(first, second)  # a new start per step
    plain = np.asarray(AdversarialTraining(model, attack="fgsm", eps=eps).adversarial_batch(x, y))
    assert not np.array_equal(first, plain)
    # From a random start the 1.25 eps step leaves most pixels on the faces of the ball, as FGSM does.
    assert np.mean(np.isclose(np.abs(first - x), eps, atol=1e-6) | (first == 0) | (first == 1)) > 0.5
    assert _accuracy(model, first, y) < _accuracy(model, x, y)


def test_rejects_bad_arguments():
    model = _mlp()
    for kwargs, name in (({"ratio": 1.5}, "ratio"), ({"ratio": -0.1}, "ratio"), ({"attack": "cw"}, "attack"),
                         ({"eps": 0.0}, "eps"), ({"eps": -0.1}, "eps"), ({"eps": 8.0}, "eps"),
                         ({"attack": "pgd", "steps": 0}, "steps"), ({"norm": "l1"}, "norm"),
                         ({"seed": -1}, "seed"), ({"attack": "pgd", "step_size": -0.1}, "step_size")):
        with pytest.raises(ValueError, match=name):
            AdversarialTraining(model, **{"eps": 0.1, **kwargs})
    with pytest.raises(TypeError, match="classifier"):
        AdversarialTraining(lambda t: t, eps=0.1)
    with pytest.raises(TypeError, match="ratio"):
        AdversarialTraining(model, eps=0.1, ratio="half")
    with pytest.raises(TypeError, match="random_start"):
        AdversarialTraining(model, eps=0.1, random_start="yes")
    with pytest.raises(TypeError, match="eps"):
        AdversarialTraining(model)
    with pytest.raises(TypeError, match="unexpected"):
        AdversarialTraining(model, eps=0.1, epsilon=0.1)
