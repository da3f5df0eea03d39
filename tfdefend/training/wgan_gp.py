"""WGAN-GP: a Wasserstein GAN with gradient penalty (Gulrajani et al., 2017) for noise generators."""

import keras
import tensorflow as tf
from keras import ops

from tfdefend.training.nested_config import NestedModelTrainer, check_models
from tfdefend.utils.distribute import replica_rows, scale_for_replicas
from tfdefend.utils.validation import (
    check_eps,
    check_model_kwargs,
    check_non_negative_float,
    check_positive_int,
    check_seed,
)

_EPSILON = 1e-12  # keeps the gradient of the norm finite where the critic's gradient is zero


def gradient_penalty(critic, real, fake, alpha=None, seed=None, *, training=True):
    """The WGAN-GP penalty `mean((||grad_x C(x_hat)||_2 - 1) ** 2)` on interpolates.

    `x_hat = alpha * real + (1 - alpha) * fake` with one `alpha ~ U(0, 1)`
    per sample, and the gradient norm taken per sample over all its
    features. The per-sample gradients come from one gradient of the summed
    scores, so the critic must treat samples independently (no batch norm
    in training mode; the paper uses layer norm or none).

    Args:
        critic: A `keras.Model` (or layer) mapping a batch to scores `[N, 1]`.
        real: Real samples `[N, ...]`.
        fake: Generated samples, same shape as `real`.
        alpha: Optional interpolation weights: a scalar, shape `[N]`, or a
            shape broadcastable against `real`; drawn uniformly if None.
        seed: Int or `keras.random.SeedGenerator` for drawing `alpha`.
        training: Passed to the critic.

    Returns:
        A scalar tensor, differentiable with respect to the critic's weights.
    """
    real = ops.convert_to_tensor(real)
    if not keras.backend.is_float_dtype(real.dtype):
        real = ops.cast(real, "float32")
    fake = ops.cast(fake, real.dtype)
    rank = len(real.shape)
    if alpha is None:
        alpha = keras.random.uniform((ops.shape(real)[0],) + (1,) * (rank - 1), seed=seed, dtype=real.dtype)
    else:
        alpha = ops.cast(alpha, real.dtype)
        if len(alpha.shape) == 1:
            alpha = ops.reshape(alpha, (-1,) + (1,) * (rank - 1))
    interpolates = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates, training=training)
    grads = tape.gradient(scores, interpolates)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, rank))) + _EPSILON)
    return ops.mean(ops.square(norms - 1.0))


@keras.saving.register_keras_serializable(package="tfdefend")
class WGANGP(NestedModelTrainer):
    """Trains a noise generator against a critic with the WGAN-GP objective.

    Each `train_step` (one batch of real noise images) runs `critic_steps`
    critic updates, each with a fresh latent batch and fresh interpolation
    weights, on `mean(C(fake)) - mean(C(real)) + gp_weight * GP`, then one
    generator update on `-mean(C(G(z)))`. Unlike Algorithm 1 of the paper,
    the critic steps of one `train_step` reuse the same real batch (Keras
    feeds one batch per step). Only the critic's trainable variables are
    given to the critic optimizer and only the generator's to the generator
    optimizer.

    Usage: `gan.compile(generator_optimizer=..., critic_optimizer=...)`, then
    `gan.fit(real_noise_images, batch_size=64, epochs=...)`. Tracked metrics:
    `critic_loss`, `generator_loss`, `gradient_penalty` and
    `wasserstein_distance` (`mean C(real) - mean C(fake)`, the critic's
    estimate, before its update).

    Args:
        generator: A `keras.Model` mapping latent vectors `[N, latent_dim]`
            to noise images `[N, H, W, C]`. Its `latent_dim` attribute is
            used if present, else its input shape. An `eps` attribute, if
            present, is the default budget of `augment`.
        critic: A `keras.Model` mapping images to scores `[N, 1]`; no batch
            norm (see `gradient_penalty`).
        gp_weight: Weight lambda of the gradient penalty (>= 0; 10 in the paper).
        critic_steps: Critic updates per generator update (>= 1; 5 in the paper).
        seed: Optional int seed of the latent and interpolation sampling.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `generator` or `critic` is not a `keras.Model`, or an
            argument has the wrong type.
        ValueError: If an argument is out of range or the latent size cannot
            be found.
    """

    NESTED_MODELS = ("generator", "critic")
    CONFIG_KEYS = ("gp_weight", "critic_steps", "seed")

    def __init__(self, generator, critic, *, gp_weight=10.0, critic_steps=5, seed=None, **kwargs):
        check_model_kwargs("WGANGP", kwargs)
        check_models({"generator": generator, "critic": critic})
        gp_weight = check_non_negative_float(gp_weight, "gp_weight")
        critic_steps = check_positive_int(critic_steps, "critic_steps")
        seed = check_seed(seed)
        latent_dim = _latent_dim(generator)
        super().__init__(**kwargs)
        self.store(generator=generator, critic=critic, gp_weight=gp_weight, critic_steps=critic_steps,
                   seed=seed, latent_dim=latent_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.add_trackers({"critic_loss_tracker": "critic_loss", "generator_loss_tracker": "generator_loss",
                           "gradient_penalty_tracker": "gradient_penalty",
                           "wasserstein_tracker": "wasserstein_distance"})
        self.generator_optimizer = None
        self.critic_optimizer = None
        # Build both sub-models now: `fit` must not try to build this model on real images.
        critic(generator(ops.zeros((1, latent_dim)), training=False), training=False)
        self.built = True

    def compile(self, generator_optimizer=None, critic_optimizer=None, **kwargs):
        """Sets the two optimizers; defaults are `Adam(1e-4, beta_1=0.5, beta_2=0.9)` (the paper's).

        Args:
            generator_optimizer: Optimizer (or identifier) of the generator.
            critic_optimizer: Optimizer (or identifier) of the critic.
            **kwargs: Other `keras.Model.compile` arguments (`run_eagerly`,
                `jit_compile`, `steps_per_execution`); no loss or metrics.

        Raises:
            TypeError: If a loss, metrics or a single `optimizer` is passed.
        """
        unknown = sorted(set(kwargs) - {"run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss"})
        if unknown:
            raise TypeError(f"WGANGP.compile() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}"
                            "; pass `generator_optimizer` and `critic_optimizer`.")
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = _optimizer(generator_optimizer, "generator_optimizer")
        self.critic_optimizer = _optimizer(critic_optimizer, "critic_optimizer")
        if self.generator_optimizer is self.critic_optimizer:
            raise ValueError("`generator_optimizer` and `critic_optimizer` must be two different optimizers.")
        # Create the optimizers' variables now, in the caller's (e.g. a tf.distribute strategy's) scope:
        # Keras builds only `self.optimizer` before `fit`, and a distributed step cannot create them.
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.critic_optimizer.build(self.critic.trainable_variables)

    def get_compile_config(self):
        if not self.compiled or self.generator_optimizer is None:
            return {}
        return {"generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
                "critic_optimizer": keras.saving.serialize_keras_object(self.critic_optimizer)}

    def compile_from_config(self, config):
        if not config:
            return
        # `compile` creates the optimizer variables, so that a saved optimizer state can be loaded into them.
        self.compile(**{key: keras.saving.deserialize_keras_object(value) for key, value in config.items()})

    def call(self, z, training=False):
        """Returns `generator(z)`: noise images for latent vectors `z`."""
        return self.generator(z, training=training)

    def _latent(self, n, seed=None):
        return keras.random.normal((n, self.latent_dim), seed=self.seed_generator if seed is None else seed)

    def train_step(self, data):
        if self.generator_optimizer is None:
            raise RuntimeError("Call `compile()` before training WGANGP.")
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = ops.cast(real, self.compute_dtype)
        batch = ops.shape(real)[0]
        # Under a tf.distribute strategy, each replica takes its rows of the draws for the global batch
        # and differentiates its share of the global-batch mean (the replicas' gradients are summed).
        alpha_shape = (1,) * (len(real.shape) - 1)
        for _ in range(self.critic_steps):
            fake = ops.stop_gradient(self.generator(replica_rows(self._latent, batch), training=True))
            alpha = replica_rows(lambda n: keras.random.uniform((n,) + alpha_shape, seed=self.seed_generator,
                                                                dtype=real.dtype), batch)
            with tf.GradientTape() as tape:
                real_score = ops.mean(self.critic(real, training=True))
                fake_score = ops.mean(self.critic(fake, training=True))
                penalty = gradient_penalty(self.critic, real, fake, alpha=alpha)
                critic_loss = fake_score - real_score + self.gp_weight * penalty
                scaled = scale_for_replicas(critic_loss, batch)
            self.descend(tape, scaled, self.critic.trainable_variables, self.critic_optimizer)
            self._track_critic(critic_loss, penalty, real_score - fake_score)
        z = replica_rows(self._latent, batch)
        with tf.GradientTape() as tape:
            generator_loss = -ops.mean(self.critic(self.generator(z, training=True), training=True))
            scaled = scale_for_replicas(generator_loss, batch)
        self.descend(tape, scaled, self.generator.trainable_variables, self.generator_optimizer)
        self.generator_loss_tracker.update_state(generator_loss)
        return self.metric_results()

    def test_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = ops.cast(real, self.compute_dtype)
        fake = self.generator(self._latent(ops.shape(real)[0]), training=False)
        real_score = ops.mean(self.critic(real, training=False))
        fake_score = ops.mean(self.critic(fake, training=False))
        penalty = gradient_penalty(self.critic, real, fake, seed=self.seed_generator, training=False)
        critic_loss = fake_score - real_score + self.gp_weight * penalty
        self._track_critic(critic_loss, penalty, real_score - fake_score)
        self.generator_loss_tracker.update_state(-fake_score)
        return self.metric_results()

    def _track_critic(self, critic_loss, penalty, wasserstein):
        """Updates the critic's trackers: its loss, the gradient penalty and the Wasserstein estimate."""
        self.update_trackers(((self.critic_loss_tracker, critic_loss),
                              (self.gradient_penalty_tracker, penalty),
                              (self.wasserstein_tracker, wasserstein)))

    def generate(self, n, seed=None):
        """Returns `n` noise images `generator(z)`, `z ~ N(0, I)` (inference mode).

        Args:
            n: Number of images (>= 1).
            seed: Optional int seed; by default the model's seed generator.
        """
        n = check_positive_int(n, "n")
        return self.generator(self._latent(n, check_seed(seed)), training=False)

    def augment(self, x_clean, eps=None, seed=None):
        """Returns `clip(x_clean + clip(G(z), -eps, eps), 0, 1)` with one fresh `z` per image.

        Args:
            x_clean: Images in [0, 1], `[N, H, W, C]`.
            eps: L-inf budget of the noise; by default `generator.eps`.
            seed: Optional int seed of the latent vectors.

        Raises:
            ValueError: If `eps` is None and the generator has no `eps`.
        """
        if eps is None:
            eps = getattr(self.generator, "eps", None)
            if eps is None:
                raise ValueError("`eps` is required: the generator has no `eps` attribute.")
        eps = check_eps(eps)
        x_clean = ops.convert_to_tensor(x_clean, dtype=self.compute_dtype)
        noise = self.generate(int(x_clean.shape[0]), seed=seed)
        return ops.clip(x_clean + ops.clip(noise, -eps, eps), 0.0, 1.0)



def _latent_dim(generator):
    """The generator's `latent_dim` attribute, else the last dimension of its input shape."""
    latent_dim = getattr(generator, "latent_dim", None)
    if latent_dim is None:
        try:
            latent_dim = generator.input_shape[-1]
        except (AttributeError, ValueError, TypeError, IndexError):
            latent_dim = None
    if latent_dim is None:
        raise ValueError("Cannot find the latent size of `generator`: give it a `latent_dim` attribute "
                         "or a known input shape [None, latent_dim].")
    return check_positive_int(latent_dim, "generator.latent_dim")


def _optimizer(identifier, name):
    if identifier is None:
        return keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)
    try:
        return keras.optimizers.get(identifier)
    except ValueError:
        raise TypeError(f"`{name}` must be a keras optimizer or identifier, got {identifier!r}.") from None
