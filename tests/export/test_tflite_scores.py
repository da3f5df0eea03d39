"""Tests of `TFLiteScores` and the Square Attack on the deployed int8 `.tflite` file."""

import numpy as np
import pytest

from tfdefend.attacks import square
from tfdefend.export import TFLiteScores, export_tflite


@pytest.fixture(scope="module")
def int8_file(tmp_path_factory, digits_model):
    model, x, _, _ = digits_model
    path = tmp_path_factory.mktemp("scores") / "digits_int8.tflite"
    return export_tflite(model, str(path), quantization="int8", representative_data=x[:100])


def test_int8_scores_agree_with_keras(int8_file, digits_model):
    model, x, _, _ = digits_model
    scores = TFLiteScores(int8_file)
    got = scores(x[:60])
    assert got.shape == (60, 10) and got.dtype == np.float32 and scores.calls == 60
    agreement = np.mean(got.argmax(1) == np.asarray(model(x[:60])).argmax(1))
    assert agreement >= 0.95


def test_square_attacks_the_int8_file_in_litert(int8_file, digits_model):
    model, x, y, _ = digits_model
    scores = TFLiteScores(int8_file)
    x, y = x[:20], y[:20]
    clean = np.mean(scores(x).argmax(1) == y)
    out, info = square(scores, x, y, eps=0.15, queries=100, seed=0, return_info=True)
    attacked = np.mean(scores(out).argmax(1) == y)
    assert np.max(np.abs(out - x)) <= 0.15 + 1e-6
    assert attacked < clean - 0.3
    assert np.all(info["queries"] <= 100)


def test_bad_inputs(int8_file, tmp_path):
    scores = TFLiteScores(int8_file)
    with pytest.raises(ValueError, match="`images`"):
        scores(np.zeros((2, 9, 9, 1), np.float32))
    with pytest.raises(ValueError, match="`images`"):
        scores(np.zeros((0, 8, 8, 1), np.float32))
    with pytest.raises(ValueError, match="`output`"):
        TFLiteScores(int8_file, output="nope")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a TFLite model"):
        TFLiteScores(bad)
