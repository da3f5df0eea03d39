"""`train_uddn_defense`: the three stages run end to end and touch only what they should."""

import numpy as np
import pytest

from tfdefend.models import UDDN, NoiseGenerator
from tfdefend.training import train_uddn_defense

TINY = {"real_count": 48, "gnr_count": 48, "uddn_filters": (4, 8), "generator_filters": (8, 4), "critic_filters": (4, 8),
            "gan_epochs": 1, "uddn_epochs": 1, "distill_epochs": 1, "batch_size": 16, "verbose": 0}


def test_pipeline_trains_every_stage_and_leaves_the_classifier_alone(digits_model):
    model, x, y, _ = digits_model
    before = [w.copy() for w in model.get_weights()]
    result = train_uddn_defense(model, x, y, eps=0.2, seed=0, **TINY)
    for w_before, w_after in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w_before, w_after)
    assert model.trainable
    assert isinstance(result["uddn"], UDDN) and isinstance(result["generator"], NoiseGenerator)
    out = np.asarray(result["uddn"](x[:4], training=False))
    assert out.shape == x[:4].shape and out.min() >= 0 and out.max() <= 1
    noise = np.asarray(result["generator"](np.random.default_rng(0).normal(size=(3, result["generator"].latent_dim))
                                           .astype(np.float32)))
    assert noise.shape == (3, 8, 8, 1) and np.abs(noise).max() <= 0.2 + 1e-6
    student = result["student"]
    assert type(student) is type(model)
    assert any(not np.array_equal(a, b) for a, b in zip(student.get_weights(), model.get_weights()))
    info = result["info"]
    assert info["uddn_train_pairs"] == 48 + 48 + 48 and info["gnr_count"] == 48
    assert set(result["histories"]) == {"gan", "uddn", "distill"}


def test_without_gnr_uses_the_same_real_pairs_only(digits_model):
    model, x, y, _ = digits_model
    result = train_uddn_defense(model, x, y, eps=0.2, use_gnr=False, guidance="pixels",
                                **{**TINY, "distill_epochs": 0})
    assert result["generator"] is None and result["student"] is None
    assert result["info"]["uddn_train_pairs"] == 96 and result["info"]["gnr_count"] == 0


@pytest.mark.parametrize("kwargs, match", [
    ({"guidance": "features"}, "guidance"),
    ({"real_count": 0}, "real_count"),
    ({"real_count": 150, "gnr_count": 100}, "gnr_count"),
    ({"clean_count": 100}, "clean_count"),
    ({"eps": 0.0}, "eps"),
])
def test_bad_arguments(digits_model, kwargs, match):
    model, x, y, _ = digits_model
    with pytest.raises(ValueError, match=match):
        train_uddn_defense(model, x, y, **{"eps": 0.2, **TINY, **kwargs})


def test_returned_denoiser_stays_trainable(digits_model):
    model, x, y, _ = digits_model
    result = train_uddn_defense(model, x, y, eps=0.2, use_gnr=False, **TINY)
    assert result["uddn"].trainable and result["uddn"].trainable_weights


def test_a_given_generator_is_used_instead_of_training_one(digits_model):
    model, x, y, _ = digits_model
    generator = NoiseGenerator(output_shape=(8, 8, 1), latent_dim=4, filters=(4,), eps=0.2)
    before = [w.copy() for w in generator.get_weights()]
    result = train_uddn_defense(model, x, y, eps=0.2, generator=generator, **{**TINY, "distill_epochs": 0})
    assert result["generator"] is generator and "gan" not in result["histories"]
    assert result["info"]["uddn_train_pairs"] == 144
    for a, b in zip(before, generator.get_weights()):
        np.testing.assert_array_equal(a, b)
