"""Tests of `tfdefend.attacks.auto_adversary` and its ablation baselines."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import _core, auto_adversary, l1_penalized_pgd, pgd, random_mask_like

EPS = 0.2  # PGD-10 breaks the digits classifier at this budget (see test_pgd.DIGITS_EPS)


def _pixel_l0(a, b):
    return (np.abs(np.asarray(a) - np.asarray(b)) > 1e-6).any(axis=-1).reshape(len(a), -1).sum(axis=1)


def _pred(model, x):
    return np.argmax(np.asarray(model(x, training=False)), axis=1)


@pytest.fixture(scope="module")
def batch(digits_model):
    model, x, y, _ = digits_model
    return model, x[:32], y[:32]


def test_binary_mask_bound_and_sparser_than_dense_pgd(batch):
    model, x, y = batch
    out, info = auto_adversary(model, x, y, eps=EPS, steps=10, return_info=True)
    dense = pgd(model, x, y, eps=EPS, step_size=2.5 * EPS / 10, steps=10, random_start=True, seed=0)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.abs(out - x).max() <= EPS + 1e-6
    assert out.min() >= 0.0 and out.max() <= 1.0
    mask = info["mask"]
    assert mask.shape == x.shape[:3] + (1,) and set(np.unique(mask)) <= {0.0, 1.0}
    # x_adv is the dense perturbation where the mask is 1 and the clean image elsewhere.
    np.testing.assert_allclose(out, np.where(mask > 0.5, dense, x), atol=1e-6)
    dense_ok = _pred(model, dense) != y
    assert dense_ok.mean() >= 0.9
    np.testing.assert_array_equal(info["dense_success"], dense_ok)
    np.testing.assert_array_equal(info["dense_l0"], _pixel_l0(dense, x))
    np.testing.assert_array_equal(info["l0"], _pixel_l0(out, x))
    np.testing.assert_array_equal(info["success"], _pred(model, out) != y)
    assert info["success"][dense_ok].all()  # success kept where the dense attack succeeded
    assert np.all(info["l0"][dense_ok] <= info["dense_l0"][dense_ok])
    assert info["l0"][dense_ok].mean() < 0.6 * info["dense_l0"][dense_ok].mean()


@pytest.mark.parametrize("base", ["bim", "mifgsm"])
def test_other_base_attacks(batch, base):
    model, x, y = batch
    x, y = x[:16], y[:16]
    out, info = auto_adversary(model, x, y, base=base, eps=EPS, mask_steps=60, return_info=True)
    ok = info["dense_success"]
    assert ok.mean() >= 0.8 and info["success"][ok].all()
    assert np.abs(out - x).max() <= EPS + 1e-6
    assert info["l0"][ok].mean() < info["dense_l0"][ok].mean()


@pytest.mark.parametrize("encoder", ["unet", "none"])
def test_other_encoders(batch, encoder):
    model, x, y = batch
    x, y = x[:16], y[:16]
    out, info = auto_adversary(model, x, y, eps=EPS, encoder=encoder, mask_steps=60, return_info=True)
    ok = info["dense_success"]
    assert set(np.unique(info["mask"])) <= {0.0, 1.0}
    assert info["success"][ok].all() and np.abs(out - x).max() <= EPS + 1e-6
    assert info["l0"][ok].mean() < info["dense_l0"][ok].mean()


def test_targeted_hits_target(batch):
    model, x, y = batch
    target = (y + 5) % 10
    out, info = auto_adversary(model, x, target, eps=0.3, steps=20, targeted=True, return_info=True)
    hit = _pred(model, out) == target
    assert hit.mean() >= 0.8
    np.testing.assert_array_equal(info["success"], hit)
    assert np.abs(out - x).max() <= 0.3 + 1e-6
    assert info["l0"][hit].mean() < info["dense_l0"][hit].mean()


def test_fallback_to_dense_when_nothing_succeeds(batch):
    model, x, y = batch
    eps = 0.03  # too small to break most digits
    out, info = auto_adversary(model, x, y, eps=eps, mask_steps=20, return_info=True)
    dense = pgd(model, x, y, eps=eps, step_size=2.5 * eps / 10, steps=10, random_start=True, seed=0)
    failed = ~info["success"]
    assert failed.sum() >= 10
    np.testing.assert_allclose(out[failed], dense[failed], atol=1e-6)
    assert np.all(info["mask"][failed] == (np.abs(dense[failed] - x[failed]) > 1e-6).any(-1, keepdims=True))


def test_labels_default_to_predictions(batch):
    model, x, _ = batch
    x = x[:8]
    a = auto_adversary(model, x, eps=EPS, mask_steps=20)
    b = auto_adversary(model, x, _pred(model, x), eps=EPS, mask_steps=20)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_tensor_in_tensor_out(tiny_model, rand_images):
    out, info = auto_adversary(tiny_model, tf.constant(rand_images), eps=0.1, mask_steps=2, return_info=True)
    assert isinstance(out, tf.Tensor) and out.dtype == tf.float32 and out.shape == rand_images.shape
    assert isinstance(info["l0"], np.ndarray) and info["l0"].shape == (8,)
    assert isinstance(auto_adversary(tiny_model, rand_images, eps=0.1, mask_steps=2), np.ndarray)


@pytest.mark.parametrize("kwargs, error, name", [
    ({"lam": -1.0}, ValueError, "lam"),
    ({"base": "fgsm"}, ValueError, "base"),
    ({"encoder": "resnet"}, ValueError, "encoder"),
    ({"eps": 0.0}, ValueError, "eps"),
    ({"eps": -0.1}, ValueError, "eps"),
    ({"eps": 8.0}, ValueError, "eps"),
    ({"steps": 0}, ValueError, "steps"),
    ({"mask_steps": 0}, ValueError, "mask_steps"),
    ({"mask_lr": 0.0}, ValueError, "mask_lr"),
    ({"alpha_start": 0.0}, ValueError, "alpha_start"),
    ({"alpha_growth": 0.9}, ValueError, "alpha_growth"),
    ({"seed": "a"}, TypeError, "seed"),
    ({"lam": "big"}, TypeError, "lam"),
    ({"targeted": True}, ValueError, "y"),
])
def test_bad_arguments(tiny_model, rand_images, kwargs, error, name):
    args = {"eps": 0.1, **kwargs}
    with pytest.raises(error, match=f"`{name}`"):
        auto_adversary(tiny_model, rand_images, **args)


def test_bad_images_and_model(tiny_model, rand_images):
    with pytest.raises(ValueError, match="`x`"):
        auto_adversary(tiny_model, rand_images + 2.0, eps=0.1)
    with pytest.raises(TypeError, match="`model`"):
        auto_adversary("model", rand_images, eps=0.1)


def test_no_retracing_between_calls(batch):
    model, x, y = batch
    x, y = x[:13], y[:13]  # a batch size no other test uses
    key = ("auto_adversary", (False, "dense"))
    before = _core.tracing_counts(model).get(key, 0)
    auto_adversary(model, x, y, eps=EPS, mask_steps=5)
    first = _core.tracing_counts(model)[key]
    assert first <= before + 1  # none when an earlier batch size already left the batch dimension unknown
    auto_adversary(model, x, (y + 1) % 10, eps=0.1, lam=1.0, mask_steps=7, mask_lr=0.01, alpha_growth=1.1,
                   seed=3)
    auto_adversary(model, x, eps=0.15, mask_steps=3, base="bim")
    auto_adversary(model, x[:5], eps=0.15, mask_steps=3)
    assert _core.tracing_counts(model)[key] <= max(first, 2)


def test_random_mask_like_keeps_l0_random_perturbed_pixels():
    rng = np.random.default_rng(0)
    delta = rng.uniform(-0.1, 0.1, size=(4, 6, 6, 3)).astype(np.float32)
    delta[:, :2] = 0.0  # 12 unperturbed pixels per sample
    k = np.array([0, 5, 24, 40])
    out = random_mask_like(delta, k, seed=1)
    changed = (out != 0).any(-1)
    np.testing.assert_array_equal(changed.reshape(4, -1).sum(1), [0, 5, 24, 24])
    assert not changed[:, :2].any()
    kept = changed[..., None] & np.ones_like(delta, bool)
    np.testing.assert_array_equal(out[kept], delta[kept])  # all channels of a kept pixel
    np.testing.assert_array_equal(random_mask_like(delta, k, seed=1), out)
    assert not np.array_equal(random_mask_like(delta, k, seed=2), out)
    with pytest.raises(ValueError, match="l0_per_sample"):
        random_mask_like(delta, k[:2])


def test_l1_penalized_pgd_is_sparser_than_plain(batch):
    model, x, y = batch
    plain = l1_penalized_pgd(model, x, y, eps=EPS, l1_weight=0.0)
    sparse = l1_penalized_pgd(model, x, y, eps=EPS)  # l1_weight 0.1
    for out in (plain, sparse):
        assert np.abs(out - x).max() <= EPS + 1e-6 and out.min() >= 0.0 and out.max() <= 1.0
    assert np.mean(_pred(model, plain) != y) >= 0.8  # normalized-gradient steps: a bit weaker than sign PGD
    assert np.mean(_pred(model, sparse) != y) >= 0.5
    assert _pixel_l0(sparse, x).mean() < _pixel_l0(plain, x).mean()
    assert np.abs(sparse - x).sum() < np.abs(plain - x).sum()
    with pytest.raises(ValueError, match="l1_weight"):
        l1_penalized_pgd(model, x, y, eps=EPS, l1_weight=2.0)
