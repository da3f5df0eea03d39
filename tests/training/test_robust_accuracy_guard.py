import keras
import numpy as np
import pytest

from tfdefend.training import AdversarialTraining, RobustAccuracyGuard


def _copy(model):
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


class _Collapse(keras.callbacks.Callback):
    """Stands in for catastrophic overfitting: at the end of epoch `at`, the weights turn to noise."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            rng = np.random.default_rng(0)
            classifier = self.model.classifier
            classifier.set_weights([rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in classifier.get_weights()])


def test_guard_stops_and_rolls_back_when_pgd_accuracy_collapses(digits_model):
    model, x, y, _ = digits_model
    trainer = AdversarialTraining(_copy(model), eps=0.1, random_start=True, ratio=1.0, seed=0)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-4))
    guard = RobustAccuracyGuard(x[:100], y[:100], eps=0.1, steps=5, drop=0.2)
    history = trainer.fit(x[100:], y[100:], batch_size=50, epochs=6, verbose=0,
                          callbacks=[_Collapse(at=1), guard])  # the collapse runs first, then the guard
    assert guard.triggered is not None and guard.triggered["epoch"] == 1
    assert guard.triggered["accuracy"] < guard.triggered["best_accuracy"] - 0.2
    assert len(history.history["loss"]) == 2  # stopped after the collapsed epoch
    # Rolled back: the classifier's weights are those of the best check, and PGD accuracy is back.
    for got, best in zip(trainer.classifier.get_weights(), guard.best_weights):
        np.testing.assert_array_equal(got, best)
    assert guard.pgd_accuracy() == pytest.approx(guard.best_accuracy)
    assert history.history["val_pgd_accuracy"] == [guard.history[0][2], guard.triggered["accuracy"]]


def test_monitor_only_records_the_curve_and_never_stops(digits_model):
    model, x, y, _ = digits_model
    trainer = AdversarialTraining(_copy(model), eps=0.1, random_start=True, ratio=1.0, seed=0)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-4))
    guard = RobustAccuracyGuard(x[:100], y[:100], eps=0.1, steps=5, drop=None, every_steps=1)
    history = trainer.fit(x[100:], y[100:], batch_size=50, epochs=3, verbose=0, callbacks=[_Collapse(at=1), guard])
    assert guard.triggered is None and len(history.history["loss"]) == 3
    assert len(guard.history) == 3 * 2 + 3  # every batch and every epoch end
    curve = history.history["val_pgd_accuracy"]
    assert curve[1] < curve[0] - 0.2  # the collapse shows in the curve
    # The guard attacks the trainer's classifier; a bare classifier is attacked itself.
    bare = RobustAccuracyGuard(x[:100], y[:100], eps=0.1, steps=5)
    bare.set_model(model)
    assert bare.pgd_accuracy() == pytest.approx(guard.history[0][2], abs=0.2)


def test_rejects_bad_arguments(digits_model):
    _, x, y, _ = digits_model
    for kwargs, error, name in (({"drop": 1.5}, ValueError, "drop"), ({"eps": 0.0}, ValueError, "eps"),
                                ({"steps": 0}, ValueError, "steps"), ({"every_steps": 0}, ValueError, "every_steps"),
                                ({"restore_best": 1}, TypeError, "restore_best"), ({"seed": -2}, ValueError, "seed")):
        with pytest.raises(error, match=name):
            RobustAccuracyGuard(x[:10], y[:10], **{"eps": 0.1, **kwargs})
    with pytest.raises(ValueError, match="y"):
        RobustAccuracyGuard(x[:10], y[:9], eps=0.1)
    with pytest.raises(ValueError, match="x"):
        RobustAccuracyGuard(x[:10] * 3.0, y[:10], eps=0.1)
