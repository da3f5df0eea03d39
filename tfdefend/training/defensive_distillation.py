"""Defensive distillation (Papernot et al., S&P 2016): a baseline known to mask gradients."""

import keras

from tfdefend.training.distiller import Distiller
from tfdefend.training.fit_classifier import train_classifier
from tfdefend.training.nested_config import check_models
from tfdefend.utils.deprecation import deprecated_alias
from tfdefend.utils.validation import check_positive_float, check_positive_int


def train_defensive_distillation(teacher, student, x, y, *, temperature=20.0, epochs=(10, 10), batch_size=128,
                                 learning_rate=1e-3, validation_data=None, verbose="auto"):
    """Trains `teacher` at temperature T, then `student` on its soft labels at the same T.

    1. The teacher is trained with cross-entropy on `softmax(logits / T)`
       (through a wrapper `Sequential([teacher, Rescaling(1 / T)])`, with
       `train_classifier`: Adam, cosine-decayed learning rate).
    2. The student is trained with a `Distiller` (`alpha=0`, same T, no
       preprocessor) on `T**2 * KL(softmax(teacher / T) || softmax(student / T))`,
       i.e. on the teacher's soft labels.
    3. The student is deployed at T = 1: its raw logits are used as they
       are, so its softmax is saturated.

    Warning: the robustness this buys is gradient masking, not robustness
    (Carlini & Wagner, "Defensive Distillation is Not Robust to Adversarial
    Examples", 2016): the saturated softmax gives vanishing gradients of the
    cross-entropy, which defeats FGSM/PGD on the softmax loss but not
    attacks on the logits. Always evaluate the returned student with C&W
    (or PGD on a margin loss over the logits) before claiming robustness.

    Args:
        teacher: A `keras.Model` mapping images to logits (trained here);
            its `trainable` flag is left as it was.
        student: A `keras.Model` mapping images to logits (trained here).
        x: Training images in [0, 1], `[N, H, W, C]`.
        y: Integer labels `[N]`.
        temperature: Distillation temperature T (> 0; 20 to 100 in the paper).
        epochs: `(teacher_epochs, student_epochs)`, or one int for both.
        batch_size: Mini-batch size.
        learning_rate: Peak Adam learning rate of both stages (the student's
            is also cosine-decayed).
        validation_data: Optional `(x, y)` evaluated after each epoch
            (the teacher's validation loss is at temperature T).
        verbose: Passed to `fit`.

    Returns:
        `(student, histories)`, `histories` a dict of the Keras `History` of
        the `"teacher"` and `"student"` stages.

    Raises:
        TypeError: If `teacher` or `student` is not a `keras.Model`, or an
            argument has the wrong type.
        ValueError: If an argument is out of range.
    """
    check_models({"teacher": teacher, "student": student}, distinct=True)
    temperature = check_positive_float(temperature, "temperature")
    teacher_epochs, student_epochs = _check_epochs(epochs)
    batch_size = check_positive_int(batch_size, "batch_size")
    learning_rate = check_positive_float(learning_rate, "learning_rate")

    hot_teacher = keras.Sequential([teacher, keras.layers.Rescaling(1.0 / temperature)],
                                   name=f"{teacher.name}_at_temperature")
    teacher_history = train_classifier(hot_teacher, (x, y), epochs=teacher_epochs, batch_size=batch_size,
                                       learning_rate=learning_rate, validation_data=validation_data,
                                       verbose=verbose)

    teacher_trainable = teacher.trainable
    try:
        distiller = Distiller(student, teacher, temperature=temperature, alpha=0.0)
        steps = student_epochs * -(-len(x) // batch_size)
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
        distiller.compile(optimizer=keras.optimizers.Adam(schedule))
        student_history = distiller.fit(x, y, epochs=student_epochs, batch_size=batch_size, shuffle=True,
                                        validation_data=validation_data, verbose=verbose)
    finally:
        teacher.trainable = teacher_trainable
    return student, {"teacher": teacher_history, "student": student_history}


def _check_epochs(epochs):
    """`(teacher_epochs, student_epochs)` from one int or a pair of ints (each >= 1)."""
    if isinstance(epochs, (tuple, list)):
        if len(epochs) != 2:
            raise ValueError(f"`epochs` must be an int or a (teacher_epochs, student_epochs) pair, got {epochs!r}.")
        return (check_positive_int(epochs[0], "epochs[0]"), check_positive_int(epochs[1], "epochs[1]"))
    epochs = check_positive_int(epochs, "epochs")
    return epochs, epochs


defensive_distillation = deprecated_alias(train_defensive_distillation, "defensive_distillation")
