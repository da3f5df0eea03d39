"""Knowledge distillation / knowledge transfer from a frozen teacher to a student classifier."""

import keras
import tensorflow as tf
from keras import ops

from tfdefend.training._losses import batch_mean
from tfdefend.training.nested_config import OneStepTrainer, check_models
from tfdefend.utils.distribute import replica_rows, scale_for_replicas
from tfdefend.utils.validation import (
    check_float,
    check_model_kwargs,
    check_non_negative_float,
    check_positive_float,
    check_seed,
)


@keras.saving.register_keras_serializable(package="tfdefend")
class Distiller(OneStepTrainer):
    """Trains a student classifier on a frozen teacher's soft labels (Hinton et al., 2015).

    The teacher sees the clean image; the student sees
    `preprocessor(clip(x_student + N(0, input_noise_std), 0, 1))` (the noise
    only in training; no preprocessor means the identity). This is the
    knowledge transfer of Li & Wang (2018, Sec. 4): the student learns to
    give the teacher's answers on noisy, adversarial or denoised inputs. The
    student is trained on

        loss = alpha * CE(y, s) + (1 - alpha) * T**2 * KL(softmax(t / T) || softmax(s / T))

    with `t`, `s` the teacher's and student's logits and integer labels `y`
    (the `T**2` keeps the soft term's gradients on the scale of the hard
    one). Data: `fit(x, y)` (both see `x`) or `fit((x_clean, x_student), y)`
    (the teacher sees `x_clean`, the student `x_student`, e.g. adversarial or
    noise-augmented images). `evaluate` reports the same terms and the
    student's accuracy on `x` (or `x_student`), through the preprocessor,
    without noise.

    Compile with `compile(optimizer=...)`; a loss or metrics given to
    `compile` are ignored. Only `student.trainable_variables` are updated:
    the constructor sets `teacher.trainable = False` and
    `preprocessor.trainable = False` (it mutates the models passed in), and
    both are always called with `training=False`.

    `call(x)` returns `student(x)` logits, without the preprocessor; the
    model to deploy is `distiller.student` (behind the preprocessor, e.g. in
    a `DefendedClassifier`, if one was used in training).

    Args:
        student: A `keras.Model` mapping images to logits.
        teacher: A trained `keras.Model` mapping images to logits.
        temperature: Softmax temperature T of the soft labels (> 0).
        alpha: Weight of the hard-label cross-entropy, in [0, 1].
        preprocessor: Optional frozen image-to-image `keras.Model` in front
            of the student (e.g. a trained denoiser).
        input_noise_std: Standard deviation of Gaussian noise added to the
            student's input in training (>= 0).
        seed: Optional int seed of that noise.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If a model argument is not a `keras.Model` or another
            argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    NESTED_MODELS = ("student", "teacher", "preprocessor")
    CONFIG_KEYS = ("temperature", "alpha", "input_noise_std", "seed")

    def __init__(self, student, teacher, *, temperature=4.0, alpha=0.1, preprocessor=None,
                 input_noise_std=0.0, seed=None, **kwargs):
        check_model_kwargs("Distiller", kwargs)
        check_models({"student": student, "teacher": teacher, "preprocessor": preprocessor},
                     optional=("preprocessor",), distinct=True)
        temperature = check_positive_float(temperature, "temperature")
        alpha = check_float(alpha, "alpha", lo=0.0, hi=1.0)
        input_noise_std = check_non_negative_float(input_noise_std, "input_noise_std")
        seed = check_seed(seed)
        super().__init__(**kwargs)
        teacher.trainable = False
        if preprocessor is not None:
            preprocessor.trainable = False
        self.store(student=student, teacher=teacher, preprocessor=preprocessor, temperature=temperature,
                   alpha=alpha, input_noise_std=input_noise_std, seed=seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.add_trackers({"loss_tracker": "loss", "student_loss_tracker": "student_loss",
                           "distillation_loss_tracker": "distillation_loss"},
                          {"accuracy_tracker": "accuracy"})
        # `fit` must not try to build this model on a (x_clean, x_student) tuple.
        self.built = True

    def call(self, x, training=False):
        """Returns the student's logits `student(x)` (no preprocessor)."""
        return self.student(x, training=training)

    def compute_losses(self, y, teacher_logits, student_logits, sample_weight=None):
        """The distillation objective for one batch.

        Args:
            y: Integer labels `[N]`.
            teacher_logits: Teacher logits `[N, classes]`.
            student_logits: Student logits `[N, classes]`.
            sample_weight: Optional per-sample weights `[N]` (weighted sum
                divided by the batch size).

        Returns:
            `(loss, student_loss, distillation_loss)` scalars: the total
            `alpha * student_loss + (1 - alpha) * distillation_loss`, the
            hard-label cross-entropy, and `T**2 * KL(soft teacher || soft student)`.
        """
        student_logits = ops.convert_to_tensor(student_logits)
        teacher_logits = ops.cast(teacher_logits, student_logits.dtype)
        t = self.temperature
        hard = keras.losses.sparse_categorical_crossentropy(y, student_logits, from_logits=True)
        log_p_teacher = ops.log_softmax(teacher_logits / t, axis=-1)
        log_p_student = ops.log_softmax(student_logits / t, axis=-1)
        soft = t * t * ops.sum(ops.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)
        student_loss, distillation_loss = batch_mean(hard, sample_weight), batch_mean(soft, sample_weight)
        loss = self.alpha * student_loss + (1.0 - self.alpha) * distillation_loss
        return loss, student_loss, distillation_loss

    def _student_input(self, x, training):
        x = ops.cast(x, self.compute_dtype)
        if training and self.input_noise_std > 0:
            # Under a tf.distribute strategy each replica takes its rows of one draw for the global batch.
            noise = replica_rows(lambda n: keras.random.normal((n,) + tuple(ops.shape(x)[1:]),
                                                               stddev=self.input_noise_std,
                                                               seed=self.seed_generator, dtype=x.dtype),
                                 ops.shape(x)[0])
            x = ops.clip(x + noise, 0.0, 1.0)
        if self.preprocessor is not None:
            x = self.preprocessor(x, training=False)
        return x

    def _step(self, data, training):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError("Distiller needs integer labels: call fit(x, y) or fit((x_clean, x_student), y).")
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                raise ValueError(f"Distiller inputs must be x or (x_clean, x_student), got {len(x)} arrays.")
            x_clean, x_student = x
        else:
            x_clean = x_student = x
        teacher_logits = ops.stop_gradient(self.teacher(ops.cast(x_clean, self.compute_dtype), training=False))
        x_student = ops.stop_gradient(self._student_input(x_student, training))
        if training:
            with tf.GradientTape() as tape:
                student_logits = self.student(x_student, training=True)
                losses = self.compute_losses(y, teacher_logits, student_logits, sample_weight)
                # Replicas' gradients are summed: differentiate this replica's share of the global-batch mean.
                scaled = scale_for_replicas(losses[0], ops.shape(student_logits)[0])
            self.descend(tape, scaled, self.student.trainable_variables)
        else:
            student_logits = self.student(x_student, training=False)
            losses = self.compute_losses(y, teacher_logits, student_logits, sample_weight)
        self.update_trackers(zip(self.metrics[:3], losses))
        self.accuracy_tracker.update_state(y, student_logits, sample_weight=sample_weight)
        return self.metric_results()
