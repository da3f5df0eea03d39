import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend.training import MART, TRADES, AdversarialTraining, OneCycleSchedule, robust_trainer, train_robust_classifier

SHAPE = (8, 8, 1)


def _mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(10)])


def test_robust_trainer_builds_each_defense_with_the_papers_settings():
    trades = robust_trainer("trades", _mlp(), eps=0.1)
    assert type(trades) is TRADES and (trades.beta, trades.steps) == (6.0, 10)
    assert type(robust_trainer("mart", _mlp(), eps=0.1, beta=5.0)) is MART
    madry = robust_trainer("pgd-at", _mlp(), eps=0.1, steps=7)
    assert type(madry) is AdversarialTraining and (madry.attack, madry.steps, madry.ratio) == ("pgd", 7, 1.0)
    fast = robust_trainer("fast-at", _mlp(), eps=0.1)
    assert (fast.attack, fast.random_start, fast.ratio) == ("fgsm", True, 1.0)
    assert fast.step_size == pytest.approx(0.125)


@pytest.mark.parametrize("defense", ["fast-at", "trades"])
def test_fit_trains_in_place_with_its_schedule(defense):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (64, *SHAPE)).astype(np.float32), np.arange(64) % 10
    classifier = _mlp()
    before = classifier.get_weights()[0].copy()
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    history, trainer = train_robust_classifier(classifier, data, defense=defense, eps=0.1, epochs=2,
                                               learning_rate=1e-2, verbose=0)
    assert trainer.classifier is classifier and not np.allclose(classifier.get_weights()[0], before)
    schedule = trainer.optimizer._learning_rate
    assert isinstance(schedule, OneCycleSchedule) == (defense == "fast-at")
    assert int(trainer.optimizer.iterations) == 8 and len(history.history["loss"]) == 2


def test_rejects_bad_arguments():
    for kwargs, error, name in (({"defense": "free-at"}, ValueError, "defense"),
                                ({"defense": "pgd-at", "beta": 1.0}, ValueError, "beta"),
                                ({"defense": "fast-at", "steps": 2}, ValueError, "steps"),
                                ({"defense": "trades", "steps": 0}, ValueError, "steps"),
                                ({"defense": "trades", "eps": 0.0}, ValueError, "eps"),
                                ({"defense": "trades", "epochs": 0}, ValueError, "epochs"),
                                ({"defense": "trades", "learning_rate": 0.0}, ValueError, "learning_rate")):
        with pytest.raises(error, match=name):
            train_robust_classifier(_mlp(), (np.zeros((4, *SHAPE), np.float32), np.zeros(4)),
                                    **{"eps": 0.1, **kwargs})
    with pytest.raises(TypeError, match="train_data"):
        train_robust_classifier(_mlp(), np.zeros((4, *SHAPE)), defense="trades", eps=0.1)
