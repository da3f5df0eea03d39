"""Tests of `SensitivePointCache`."""

import json

import numpy as np
import pytest

import tfdefend.augment.sensitive_point_cache as spc
from tfdefend.augment import SensitivePointCache

KWARGS = {"eps": 0.1, "steps": 2, "attack_steps": 2, "seed": 0}


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = spc.sensitive_points

    def counting(model, x, y, **kwargs):
        calls.append(len(x))
        return real(model, x, y, **kwargs)

    monkeypatch.setattr(spc, "sensitive_points", counting)
    return calls


def _data(n=6):
    rng = np.random.default_rng(0)
    return rng.uniform(size=(n, 8, 8, 1)).astype(np.float32), rng.integers(0, 10, n).astype(np.int32)


def test_second_call_loads(tiny_model, tmp_path, counted):
    x, y = _data()
    cache = SensitivePointCache(batch_size=4)
    first = cache.compute_or_load(tiny_model, x, y, tmp_path, **KWARGS)
    assert cache.last_action == "computed" and counted == [4, 2]  # batch by batch
    assert first.shape == (6, 8, 8, 1) and set(np.unique(first)) <= {0.0, 1.0}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["attack_kwargs"] == KWARGS and len(manifest["model_sha256"]) == 64
    second = SensitivePointCache(batch_size=4).compute_or_load(tiny_model, x, y, str(tmp_path), **KWARGS)
    assert counted == [4, 2]
    np.testing.assert_array_equal(first, second)


def test_changes_trigger_recompute(tiny_model, tmp_path, counted):
    x, y = _data()
    cache = SensitivePointCache(batch_size=8)
    cache.compute_or_load(tiny_model, x, y, tmp_path, **KWARGS)
    cache.compute_or_load(tiny_model, x, y, tmp_path, **{**KWARGS, "eps": 0.2})
    assert cache.last_action == "recomputed" and cache.last_reason == "attack_kwargs changed"
    x2 = x.copy()
    x2[0, 0, 0, 0] = 0.5
    cache.compute_or_load(tiny_model, x2, y, tmp_path, **{**KWARGS, "eps": 0.2})
    assert cache.last_reason == "data_sha256 changed"
    weights = tiny_model.get_weights()
    try:
        tiny_model.set_weights([w + 0.01 for w in weights])
        cache.compute_or_load(tiny_model, x2, y, tmp_path, **{**KWARGS, "eps": 0.2})
        assert cache.last_reason == "model_sha256 changed"
    finally:
        tiny_model.set_weights(weights)
    assert len(counted) == 4
    cache.compute_or_load(tiny_model, x2, y, tmp_path, **{**KWARGS, "eps": 0.2})
    assert cache.last_reason == "model_sha256 changed" and len(counted) == 5  # restored weights: new hash again
    cache.compute_or_load(tiny_model, x2, y, tmp_path, **{**KWARGS, "eps": 0.2})
    assert cache.last_action == "loaded" and len(counted) == 5


def test_corrupt_files_are_recomputed(tiny_model, tmp_path, counted):
    x, y = _data()
    cache = SensitivePointCache()
    first = cache.compute_or_load(tiny_model, x, y, tmp_path, **KWARGS)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.warns(UserWarning, match="manifest"):
        again = cache.compute_or_load(tiny_model, x, y, tmp_path, **KWARGS)
    assert cache.last_reason == "corrupt manifest" and len(counted) == 2
    np.testing.assert_array_equal(first, again)
    np.save(tmp_path / "masks.npy", np.zeros((6, 8, 8, 1), np.uint8))
    with pytest.warns(UserWarning, match="masks"):
        cache.compute_or_load(tiny_model, x, y, tmp_path, **KWARGS)
    assert cache.last_reason == "masks file changed" and len(counted) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "masks.npy"]  # no temp files left


def test_bad_arguments(tiny_model, tmp_path):
    x, y = _data()
    with pytest.raises(ValueError, match="batch_size"):
        SensitivePointCache(batch_size=0)
    with pytest.raises(TypeError, match="model"):
        SensitivePointCache().compute_or_load(lambda t: t, x, y, tmp_path, **KWARGS)
    with pytest.raises(TypeError, match="JSON"):
        SensitivePointCache().compute_or_load(tiny_model, x, y, tmp_path, eps=0.1, seed=object())
    with pytest.raises(ValueError, match="eps"):
        SensitivePointCache().compute_or_load(tiny_model, x, y, tmp_path, eps=-1.0)
    with pytest.raises(TypeError, match="directory"):
        SensitivePointCache().compute_or_load(tiny_model, x, y, None, **KWARGS)
    assert not (tmp_path / "manifest.json").exists()
