import keras
import numpy as np
import pytest

from tfdefend.training import train_defensive_distillation

SHAPE = (8, 8, 1)


def _separable(n, seed):
    """Two linearly separable classes: the left or the right half of the image is brighter."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(np.int32)
    x = rng.uniform(0, 0.5, (n, *SHAPE)).astype(np.float32)
    x[y == 0, :, :4] += 0.4
    x[y == 1, :, 4:] += 0.4
    return x, y


def _classifier(hidden=8):
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                             keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(2)])


def test_student_learns_the_toy_problem_and_is_saturated_at_t_1():
    keras.utils.set_random_seed(0)
    x, y = _separable(256, 0)
    x_test, y_test = _separable(128, 1)
    teacher, student = _classifier(16), _classifier(8)
    teacher_trainable = teacher.trainable
    result, histories = train_defensive_distillation(teacher, student, x, y, temperature=20.0, epochs=(8, 8),
                                                     batch_size=32, learning_rate=1e-2,
                                                     validation_data=(x_test, y_test), verbose=0)
    assert result is student
    assert set(histories) == {"teacher", "student"}
    assert len(histories["teacher"].history["loss"]) == 8 and len(histories["student"].history["loss"]) == 8
    assert "val_accuracy" in histories["student"].history
    assert teacher.trainable == teacher_trainable  # restored after the distillation stage
    teacher_accuracy = np.mean(np.asarray(teacher(x_test)).argmax(1) == y_test)
    student_logits = np.asarray(student(x_test))
    assert teacher_accuracy >= 0.95
    assert np.mean(student_logits.argmax(1) == y_test) >= 0.95
    # Trained at T = 20, deployed at T = 1: large logit margins, a saturated softmax (p > 0.98).
    margins = np.abs(student_logits[:, 0] - student_logits[:, 1])
    assert np.median(margins) > 4.0


def test_single_int_epochs():
    x, y = _separable(32, 0)
    _, histories = train_defensive_distillation(_classifier(), _classifier(), x, y, temperature=5.0,
                                                epochs=1, batch_size=16, verbose=0)
    assert len(histories["teacher"].history["loss"]) == 1 and len(histories["student"].history["loss"]) == 1


def test_rejects_bad_arguments():
    x, y = _separable(8, 0)
    teacher, student = _classifier(), _classifier()
    with pytest.raises(ValueError, match="temperature"):
        train_defensive_distillation(teacher, student, x, y, temperature=0.0)
    with pytest.raises(ValueError, match="epochs"):
        train_defensive_distillation(teacher, student, x, y, epochs=(3, 0))
    with pytest.raises(ValueError, match="epochs"):
        train_defensive_distillation(teacher, student, x, y, epochs=(1, 2, 3))
    with pytest.raises(TypeError, match="epochs"):
        train_defensive_distillation(teacher, student, x, y, epochs=2.5)
    with pytest.raises(ValueError, match="learning_rate"):
        train_defensive_distillation(teacher, student, x, y, learning_rate=-1.0)
    with pytest.raises(TypeError, match="teacher"):
        train_defensive_distillation(lambda v: v, student, x, y)
    with pytest.raises(TypeError, match="student"):
        train_defensive_distillation(teacher, None, x, y)
    with pytest.raises(ValueError, match="different"):
        train_defensive_distillation(teacher, teacher, x, y)
