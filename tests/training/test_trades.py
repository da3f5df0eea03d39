import keras
import numpy as np
import pytest

from tests.harness import run_trainer_saving_test
from tfdefend.attacks import pgd
from tfdefend.training import MART, TRADES, AdversarialTraining

SHAPE = (8, 8, 1)


def _mlp(seed=0, units=16):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                             keras.layers.Dense(units, activation="relu"), keras.layers.Dense(10)])


def _batch(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, *SHAPE)).astype(np.float32), np.arange(n) % 10


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(np.asarray(model(x, training=False)), axis=1) == y))


def _digits(split):
    from tfdefend.data import load

    return load("digits", split=split, as_numpy=True)


@pytest.mark.parametrize("trainer_class", [TRADES, MART])
def test_inner_maximization_respects_the_ball_and_raises_its_loss(digits_model, trainer_class):
    model, x, y, _ = digits_model
    x, y = x[:64], y[:64]
    for norm, eps in (("inf", 0.1), ("l2", 1.0)):
        trainer = trainer_class(model, eps=eps, steps=5, norm=norm, seed=0)
        x_adv = np.asarray(trainer.adversarial_batch(x, y))
        delta = (x_adv - x).reshape(len(x), -1)
        bound = np.abs(delta).max(axis=1) if norm == "inf" else np.linalg.norm(delta, axis=1)
        assert bound.max() <= eps + 1e-5 and x_adv.min() >= 0.0 and x_adv.max() <= 1.0
        clean_probs = keras.ops.softmax(model(x))
        start = np.asarray(trainer.inner_loss(clean_probs, model(x), y))  # the loss at x itself
        reached = np.asarray(trainer.inner_loss(clean_probs, model(x_adv), y))
        assert reached.mean() > start.mean() + 0.1
    again = trainer_class(model, eps=0.1, steps=5, seed=0)
    np.testing.assert_array_equal(np.asarray(again.adversarial_batch(x, y)),
                                  np.asarray(trainer_class(model, eps=0.1, steps=5, seed=0).adversarial_batch(x, y)))


def test_trades_with_beta_zero_is_plain_training():
    x, y = _batch()
    trades_model, plain_model = _mlp(), _mlp()
    plain_model.set_weights(trades_model.get_weights())
    trainer = TRADES(trades_model, eps=0.1, beta=0.0, steps=2, seed=0)
    trainer.compile(optimizer=keras.optimizers.SGD(0.1))
    trainer.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    plain_model.compile(optimizer=keras.optimizers.SGD(0.1),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    plain_model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(trades_model.get_weights(), plain_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = TRADES(_mlp(), eps=0.1, beta=6.0, steps=2, seed=0)
    moved.compile(optimizer=keras.optimizers.SGD(0.1))
    moved.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    assert not np.allclose(moved.classifier.get_weights()[0], plain_model.get_weights()[0])


@pytest.mark.parametrize("trainer_class", [TRADES, MART])
def test_loss_is_its_terms_and_fit_lowers_it(trainer_class):
    x, y = _batch(64)
    trainer = trainer_class(_mlp(), eps=0.1, beta=2.0, steps=2, seed=0)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    logs = trainer.fit(x, y, batch_size=64, epochs=15, verbose=0).history
    first = trainer_class.FIRST_TERM
    assert set(logs) == {"loss", first, "robust_loss", "accuracy", "adv_accuracy"}
    assert logs["loss"][0] == pytest.approx(logs[first][0] + 2.0 * logs["robust_loss"][0], rel=1e-5)
    assert logs["robust_loss"][0] >= 0.0
    assert logs["loss"][-1] < logs["loss"][0]
    assert set(trainer.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "accuracy"}


def test_mart_weights_the_kl_by_the_clean_miss():
    trainer = MART(_mlp(), eps=0.1, beta=1.0)
    y = np.array([0, 0])
    clean = np.array([[10.0, 0, 0], [0, 10.0, 0]], np.float32)  # right, then confidently wrong
    adv = np.array([[0, 10.0, 0], [10.0, 0, 0]], np.float32)
    boosted, weighted = (np.asarray(t) for t in trainer.outer_losses(y, clean, adv))
    assert weighted[1] > 100 * weighted[0]  # the same KL, weight ~1 vs ~0
    plain_ce = np.asarray(keras.losses.sparse_categorical_crossentropy(y, adv, from_logits=True))
    assert boosted[0] > plain_ce[0] + 1.0  # the strongest wrong class (p ~ 1) is pushed down too
    with pytest.raises(ValueError, match="labels"):
        trainer.inner_loss(None, adv, None)


@pytest.mark.parametrize("trainer_class", [TRADES, MART])
def test_config_round_trip_and_keras_file(tmp_path, trainer_class):
    x, y = _batch()
    trainer = trainer_class(_mlp(), eps=0.05, beta=3.0, steps=3, step_size=0.02, seed=5, norm="inf")
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    trainer.fit(x, y, batch_size=16, epochs=1, verbose=0)
    clone = trainer_class.from_config(trainer.get_config())
    assert (clone.eps, clone.beta, clone.steps, clone.step_size, clone.seed, clone.norm, clone.clip) == (
        0.05, 3.0, 3, 0.02, 5, "inf", (0.0, 1.0))
    loaded = run_trainer_saving_test(trainer, x, (x, y), tmp_path, fit_kwargs={"batch_size": 16})
    assert type(loaded) is trainer_class
    assert trainer_class(_mlp(), eps=0.1, steps=4).step_size == pytest.approx(2.5 * 0.1 / 4)


def test_a_few_epochs_raise_pgd_accuracy_above_plain_training():
    x_train, y_train = _digits("train")
    x_test, y_test = _digits("test")
    eps = 0.2

    def robust(model):
        return _accuracy(model, pgd(model, x_test, y_test, eps=eps, step_size=0.05, steps=10), y_test)

    plain = _mlp(1, units=64)
    plain.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    plain.fit(x_train, y_train, batch_size=64, epochs=8, verbose=0)
    results = {"plain": robust(plain)}
    for name, make in (("trades", lambda m: TRADES(m, eps=eps, beta=6.0, steps=5, seed=0)),
                       ("mart", lambda m: MART(m, eps=eps, beta=6.0, steps=5, seed=0)),
                       ("fast", lambda m: AdversarialTraining(m, eps=eps, random_start=True, ratio=1.0, seed=0))):
        trainer = make(_mlp(1, units=64))
        trainer.compile(optimizer=keras.optimizers.Adam(3e-3))
        trainer.fit(x_train, y_train, batch_size=64, epochs=8, verbose=0)
        results[name] = robust(trainer.classifier)
        results[name + "_clean"] = _accuracy(trainer.classifier, x_test, y_test)
    for name in ("trades", "mart", "fast"):
        assert results[name] > results["plain"] + 0.2 and results[name + "_clean"] > 0.5, results


def test_rejects_bad_arguments():
    model = _mlp()
    for kwargs, name in (({"beta": -1.0}, "beta"), ({"eps": 0.0}, "eps"), ({"eps": 2.0}, "eps"),
                         ({"steps": 0}, "steps"), ({"norm": "l1"}, "norm"), ({"seed": -1}, "seed"),
                         ({"step_size": -0.1}, "step_size"), ({"beta": float("nan")}, "beta")):
        with pytest.raises(ValueError, match=name):
            TRADES(model, **{"eps": 0.1, **kwargs})
    with pytest.raises(TypeError, match="classifier"):
        TRADES(lambda t: t, eps=0.1)
    with pytest.raises(TypeError, match="beta"):
        MART(model, eps=0.1, beta="six")
    with pytest.raises(TypeError, match="unexpected"):
        TRADES(model, eps=0.1, epsilon=0.1)
    unlabeled = TRADES(model, eps=0.1)
    unlabeled.compile(optimizer="adam")
    with pytest.raises(ValueError, match="labels"):
        unlabeled.fit(np.zeros((4, *SHAPE), np.float32), epochs=1, verbose=0)
