import keras
import numpy as np
import pytest

from tests.harness import images, run_trainer_saving_test
from tfdefend.training import WGANGP, gradient_penalty

SHAPE = (8, 8, 1)


def _linear_critic(norm):
    """C(x) = w . flatten(x) with ||w||_2 = `norm`."""
    critic = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                               keras.layers.Dense(1, use_bias=False)])
    w = np.random.default_rng(0).standard_normal((64, 1)).astype(np.float32)
    critic.layers[-1].set_weights([norm * w / np.linalg.norm(w)])
    return critic


def _half_square_critic():
    """C(x) = 0.5 * sum(x ** 2), so grad_x C(x) = x and the gradient norm is ||x||_2."""
    inputs = keras.Input(SHAPE)
    flat = keras.layers.Flatten()(inputs)
    squares = keras.layers.Multiply()([flat, flat])
    dense = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(0.5))
    return keras.Model(inputs, dense(squares))


def _generator(latent_dim=4, scale=1.0):
    return keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(64, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1 * scale)),
        keras.layers.Reshape(SHAPE),
    ])


def _critic():
    """A small critic with one frozen layer, which no optimizer may change.

    The output layer has no bias: a constant shift of the scores cancels in
    every WGAN loss, so its gradient would be exactly zero.
    """
    frozen = keras.layers.Dense(8, trainable=False, name="frozen")
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), frozen, keras.layers.Dense(1, use_bias=False)])


def _weights(model):
    return [np.array(w) for w in model.weights]


def _changed(before, model):
    return [not np.array_equal(b, np.asarray(w)) for b, w in zip(before, model.weights)]


@pytest.mark.parametrize("norm", [1.0, 2.0, 0.5])
def test_gradient_penalty_of_a_linear_critic_is_analytic(norm):
    real, fake = images(16, SHAPE, seed=1), images(16, SHAPE, seed=2)
    penalty = float(gradient_penalty(_linear_critic(norm), real, fake, seed=0))
    assert penalty == pytest.approx((norm - 1.0) ** 2, abs=1e-5)


def test_gradient_penalty_is_taken_at_the_interpolates():
    real, fake = images(6, SHAPE, seed=1), images(6, SHAPE, seed=2)
    alpha = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.1], np.float32)
    interpolates = alpha[:, None, None, None] * real + (1 - alpha[:, None, None, None]) * fake
    norms = np.linalg.norm(interpolates.reshape(6, -1), axis=1)
    expected = np.mean((norms - 1.0) ** 2)
    critic = _half_square_critic()
    assert float(gradient_penalty(critic, real, fake, alpha=alpha)) == pytest.approx(expected, rel=1e-5)
    # A scalar alpha is broadcast; alpha = 1 puts the interpolates on the real samples.
    at_real = np.mean((np.linalg.norm(real.reshape(6, -1), axis=1) - 1.0) ** 2)
    assert float(gradient_penalty(critic, real, fake, alpha=1.0)) == pytest.approx(at_real, rel=1e-5)
    # Random alpha: the value lies between the per-sample extremes of the two end points.
    random = float(gradient_penalty(critic, real, fake, seed=3))
    assert random != pytest.approx(at_real, rel=1e-3)


def _gan(generator_lr=1e-2, critic_lr=1e-2, run_eagerly=False, **kwargs):
    gan = WGANGP(_generator(), _critic(), seed=0, **kwargs)
    gan.compile(generator_optimizer=keras.optimizers.Adam(generator_lr),
                critic_optimizer=keras.optimizers.Adam(critic_lr), run_eagerly=run_eagerly)
    return gan


def test_each_optimizer_changes_only_its_own_model():
    real = images(32, SHAPE)
    gan = _gan()
    gen_before, critic_before = _weights(gan.generator), _weights(gan.critic)
    history = gan.fit(real, batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"critic_loss", "generator_loss", "gradient_penalty",
                                    "wasserstein_distance"}
    assert all(_changed(gen_before, gan.generator))
    critic_changed = dict(zip([w.path for w in gan.critic.weights], _changed(critic_before, gan.critic)))
    assert not any(changed for path, changed in critic_changed.items() if "frozen" in path)
    assert all(changed for path, changed in critic_changed.items() if "frozen" not in path)

    # Generator learning rate 0: the critic steps alone move the critic, never the generator.
    gan = _gan(generator_lr=0.0, run_eagerly=True)  # eager: no second tracing
    gen_before, critic_before = _weights(gan.generator), _weights(gan.critic)
    gan.fit(real, batch_size=16, epochs=1, verbose=0)
    assert not any(_changed(gen_before, gan.generator))
    assert any(_changed(critic_before, gan.critic))
    # Critic learning rate 0: only the generator moves.
    gan = _gan(critic_lr=0.0, critic_steps=3, run_eagerly=True)
    gen_before, critic_before = _weights(gan.generator), _weights(gan.critic)
    gan.fit(real, batch_size=16, epochs=1, verbose=0)
    assert all(_changed(gen_before, gan.generator))
    assert not any(_changed(critic_before, gan.critic))
    assert int(gan.critic_optimizer.iterations) == 3 * 2 and int(gan.generator_optimizer.iterations) == 2


def test_generated_noise_moves_towards_the_real_distribution():
    keras.utils.set_random_seed(0)
    real = (0.5 + 0.1 * np.random.default_rng(0).standard_normal((512, *SHAPE))).astype(np.float32)
    critic = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                               keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    gan = WGANGP(_generator(), critic, seed=0)
    adam = {"learning_rate": 1e-2, "beta_1": 0.5, "beta_2": 0.9}
    gan.compile(generator_optimizer=keras.optimizers.Adam(**adam), critic_optimizer=keras.optimizers.Adam(**adam))
    before = np.asarray(gan.generate(512, seed=1))
    history = gan.fit(real, batch_size=64, epochs=4, verbose=0).history
    after = np.asarray(gan.generate(512, seed=1))
    assert abs(after.mean() - 0.5) < 0.5 * abs(before.mean() - 0.5)
    assert abs(after.mean() - 0.5) < 0.1
    assert history["wasserstein_distance"][-1] < 0.5 * history["wasserstein_distance"][0]


def test_augment_respects_the_budget_and_the_image_range():
    generator = _generator(scale=50.0)  # noise far larger than eps
    gan = WGANGP(generator, _critic(), seed=0)
    x = images(16, SHAPE)
    noise = np.asarray(gan.generate(16, seed=0))
    assert noise.shape == (16, *SHAPE) and np.abs(noise).max() > 0.5
    out = np.asarray(gan.augment(x, eps=0.1, seed=0))
    assert out.shape == x.shape and out.min() >= 0.0 and out.max() <= 1.0
    assert np.abs(out - x).max() <= 0.1 + 1e-6
    assert np.abs(out - x).max() > 0.09
    np.testing.assert_array_equal(out, np.asarray(gan.augment(x, eps=0.1, seed=0)))
    # One fresh latent vector per image: the perturbations differ between images.
    x_same = np.full((4, *SHAPE), 0.5, np.float32)
    delta = np.asarray(gan.augment(x_same, eps=0.1)) - x_same
    assert not np.allclose(delta[0], delta[1])
    with pytest.raises(ValueError, match="eps"):
        gan.augment(x)
    generator.eps = 0.05
    assert np.abs(np.asarray(gan.augment(x)) - x).max() <= 0.05 + 1e-6


def test_latent_dim_attribute_and_inference():
    generator = _generator(latent_dim=6)
    assert WGANGP(generator, _critic()).latent_dim == 6
    generator.latent_dim = 6
    gan = WGANGP(generator, _critic())
    assert tuple(gan(np.zeros((3, 6), np.float32)).shape) == (3, *SHAPE)


def test_config_round_trip_and_keras_file(tmp_path):
    gan = _gan(gp_weight=5.0, critic_steps=2)
    gan.fit(images(32, SHAPE), batch_size=16, epochs=1, verbose=0)
    config = gan.get_config()
    assert {k: config[k] for k in ("gp_weight", "critic_steps", "seed")} == {
        "gp_weight": 5.0, "critic_steps": 2, "seed": 0}
    clone = WGANGP.from_config(config)
    assert (clone.gp_weight, clone.critic_steps, clone.seed, clone.latent_dim) == (5.0, 2, 0, 4)
    clone.set_weights(gan.get_weights())
    z = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(clone(z)), np.asarray(gan(z)), rtol=0, atol=0)

    fake = gan(z)
    loaded = run_trainer_saving_test(gan, z, (images(16, SHAPE),), tmp_path,
                                     outputs=lambda model, z: [model(z), model.critic(fake)],
                                     fit_kwargs={"batch_size": 16},
                                     optimizers=("generator_optimizer", "critic_optimizer"))
    assert isinstance(loaded, WGANGP)
    scores = loaded.evaluate(images(16, SHAPE), batch_size=16, verbose=0, return_dict=True)
    assert set(scores) == {"critic_loss", "generator_loss", "gradient_penalty", "wasserstein_distance"}


def test_rejects_bad_arguments():
    with pytest.raises(TypeError, match="generator"):
        WGANGP(lambda z: z, _critic())
    with pytest.raises(TypeError, match="critic"):
        WGANGP(_generator(), "critic")
    with pytest.raises(ValueError, match="gp_weight"):
        WGANGP(_generator(), _critic(), gp_weight=-1.0)
    with pytest.raises(ValueError, match="critic_steps"):
        WGANGP(_generator(), _critic(), critic_steps=0)
    with pytest.raises(TypeError, match="critic_steps"):
        WGANGP(_generator(), _critic(), critic_steps=2.5)
    with pytest.raises(ValueError, match="seed"):
        WGANGP(_generator(), _critic(), seed=-1)
    gan = WGANGP(_generator(), _critic())
    with pytest.raises(TypeError, match="loss"):
        gan.compile(loss="mse")
    with pytest.raises(ValueError, match="n"):
        gan.generate(0)
    with pytest.raises(ValueError, match="eps"):
        gan.augment(images(2, SHAPE), eps=-0.1)
