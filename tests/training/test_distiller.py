import keras
import numpy as np
import pytest

from tests.harness import run_trainer_saving_test
from tfdefend.training import Distiller

SHAPE = (8, 8, 1)
CLASSES = 3


def _toy_data(n=192, seed=0):
    """Three classes told apart by which band of rows is bright."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n).astype(np.int32)
    x = rng.uniform(0, 0.3, (n, *SHAPE)).astype(np.float32)
    for k in range(CLASSES):
        x[y == k, 2 * k:2 * k + 3] += 0.6
    return np.clip(x, 0, 1), y


def _classifier(hidden=0, batch_norm=False):
    layers = [keras.Input(SHAPE), keras.layers.Flatten()]
    if hidden:
        layers.append(keras.layers.Dense(hidden, activation="relu"))
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    return keras.Sequential([*layers, keras.layers.Dense(CLASSES)])


def _preprocessor():
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(2, 3, padding="same"),
                             keras.layers.BatchNormalization(), keras.layers.Conv2D(1, 1)])


@pytest.fixture(scope="module")
def teacher_weights():
    """Weights of a teacher (with batch norm) trained on the toy problem."""
    keras.utils.set_random_seed(0)
    x, y = _toy_data()
    teacher = _classifier(hidden=16, batch_norm=True)
    teacher.compile(optimizer=keras.optimizers.Adam(1e-2),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    teacher.fit(x, y, epochs=10, batch_size=32, verbose=0)
    return teacher.get_weights()


def _teacher(weights):
    teacher = _classifier(hidden=16, batch_norm=True)
    teacher.set_weights(weights)
    return teacher


def _snapshot(model):
    return [np.array(w) for w in model.weights]


def _unchanged(before, model):
    return all(np.array_equal(b, np.asarray(w)) for b, w in zip(before, model.weights))


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _reference_losses(y, teacher_logits, student_logits, temperature, alpha):
    """NumPy reference: alpha * CE + (1 - alpha) * T**2 * KL(p_teacher || p_student)."""
    ce = -np.log(_softmax(student_logits)[np.arange(len(y)), y]).mean()
    p_t, p_s = _softmax(teacher_logits / temperature), _softmax(student_logits / temperature)
    kl = temperature ** 2 * (p_t * (np.log(p_t) - np.log(p_s))).sum(axis=1).mean()
    return alpha * ce + (1 - alpha) * kl, ce, kl


def test_compute_losses_matches_numpy_reference_with_t_squared_scaling():
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, 8)
    teacher_logits = 3 * rng.standard_normal((8, CLASSES)).astype(np.float32)
    student_logits = 3 * rng.standard_normal((8, CLASSES)).astype(np.float32)
    for temperature, alpha in ((1.0, 0.5), (4.0, 0.1), (20.0, 0.0)):
        distiller = Distiller(_classifier(), _classifier(), temperature=temperature, alpha=alpha)
        got = [float(v) for v in distiller.compute_losses(y, teacher_logits, student_logits)]
        expected = _reference_losses(y, teacher_logits, student_logits, temperature, alpha)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # Identical logits: the soft term vanishes whatever the temperature.
    _, _, soft = distiller.compute_losses(y, teacher_logits, teacher_logits)
    assert float(soft) == pytest.approx(0.0, abs=1e-5)
    # Per-sample weights: a weighted sum over the batch divided by the batch size.
    weights = np.array([1, 0, 2, 0, 1, 1, 0, 3], np.float32)
    _, ce, _ = distiller.compute_losses(y, teacher_logits, student_logits, sample_weight=weights)
    per_sample = -np.log(_softmax(student_logits)[np.arange(8), y])
    assert float(ce) == pytest.approx((weights * per_sample).sum() / 8, rel=1e-5)


def test_training_changes_only_the_student_and_lowers_the_loss(teacher_weights):
    keras.utils.set_random_seed(1)
    x, y = _toy_data()
    teacher, student, preprocessor = _teacher(teacher_weights), _classifier(hidden=8), _preprocessor()
    teacher_before, preprocessor_before, student_before = (
        _snapshot(teacher), _snapshot(preprocessor), _snapshot(student))
    distiller = Distiller(student, teacher, temperature=4.0, alpha=0.1, preprocessor=preprocessor,
                          input_noise_std=0.05, seed=0)
    assert not teacher.trainable and not preprocessor.trainable
    assert {v.path for v in distiller.trainable_variables} == {v.path for v in student.trainable_variables}
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = distiller.fit(x, y, epochs=5, batch_size=32, verbose=0, validation_data=_toy_data(64, 1))
    assert set(history.history) >= {"loss", "student_loss", "distillation_loss", "accuracy", "val_accuracy"}
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert _unchanged(teacher_before, teacher)  # batch-norm statistics included
    assert _unchanged(preprocessor_before, preprocessor)
    assert not _unchanged(student_before, student)
    x_test, y_test = _toy_data(64, 1)
    logits = np.asarray(distiller(preprocessor(x_test, training=False)))
    np.testing.assert_allclose(logits, np.asarray(student(preprocessor(x_test, training=False))), atol=1e-6)
    assert np.mean(logits.argmax(axis=1) == y_test) >= 0.9


def test_tuple_input_feeds_clean_images_to_teacher_and_other_images_to_student(teacher_weights):
    x_clean, y = _toy_data(32)
    x_student = np.clip(x_clean + np.random.default_rng(0).uniform(-0.2, 0.2, x_clean.shape), 0, 1)
    x_student = x_student.astype(np.float32)
    teacher, student = _teacher(teacher_weights), _classifier()
    distiller = Distiller(student, teacher, temperature=2.0, alpha=0.3)
    expected, _, _ = _reference_losses(y, np.asarray(teacher(x_clean)), np.asarray(student(x_student)), 2.0, 0.3)
    distiller.compile(optimizer=keras.optimizers.SGD(0.0))
    assert distiller.evaluate((x_clean, x_student), y, batch_size=32, verbose=0,
                              return_dict=True)["loss"] == pytest.approx(expected, rel=1e-4)
    # One training step at learning rate 0 reports the loss of the same routing.
    history = distiller.fit((x_clean, x_student), y, batch_size=32, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-4)
    swapped, _, _ = _reference_losses(y, np.asarray(teacher(x_student)), np.asarray(student(x_clean)), 2.0, 0.3)
    assert swapped != pytest.approx(expected, rel=1e-3)


def test_config_round_trip_and_keras_file(tmp_path, teacher_weights):
    x, y = _toy_data(64)
    distiller = Distiller(_classifier(hidden=8), _teacher(teacher_weights), temperature=3.0, alpha=0.25,
                          preprocessor=_preprocessor(), input_noise_std=0.1, seed=7)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-3))
    distiller.fit(x, y, epochs=1, batch_size=32, verbose=0)
    config = distiller.get_config()
    clone = Distiller.from_config(config)
    assert (clone.temperature, clone.alpha, clone.input_noise_std, clone.seed) == (3.0, 0.25, 0.1, 7)
    assert clone.preprocessor is not None
    clone.set_weights(distiller.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(distiller(x)))

    def outputs(model, x):
        parts = [getattr(model, name)(x, training=False) for name in ("student", "teacher", "preprocessor")]
        return [model(x), *parts]

    loaded = run_trainer_saving_test(distiller, x, (x, y), tmp_path, outputs=outputs,
                                     fit_kwargs={"batch_size": 32})
    assert isinstance(loaded, Distiller)

    plain = Distiller(_classifier(), _classifier())
    assert plain.get_config()["preprocessor"] is None
    assert Distiller.from_config(plain.get_config()).preprocessor is None


def test_rejects_bad_arguments():
    student, teacher = _classifier(), _classifier()
    with pytest.raises(ValueError, match="temperature"):
        Distiller(student, teacher, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        Distiller(student, teacher, temperature=-2.0)
    with pytest.raises(ValueError, match="alpha"):
        Distiller(student, teacher, alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        Distiller(student, teacher, alpha=-0.1)
    with pytest.raises(ValueError, match="input_noise_std"):
        Distiller(student, teacher, input_noise_std=-0.1)
    with pytest.raises(TypeError, match="student"):
        Distiller(lambda v: v, teacher)
    with pytest.raises(TypeError, match="teacher"):
        Distiller(student, None)
    with pytest.raises(TypeError, match="preprocessor"):
        Distiller(student, teacher, preprocessor="median")
    with pytest.raises(ValueError, match="different"):
        Distiller(student, student)
    with pytest.raises(TypeError, match="unexpected"):
        Distiller(student, teacher, temprature=2.0)
