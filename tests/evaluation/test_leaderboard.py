"""Tests of the leaderboard: rows, threat models, the int8 row, the cache, the report and bad input."""

import json
import os

import pytest
import tensorflow as tf

from tfdefend.attacks import bpda
from tfdefend.evaluation import leaderboard as lb
from tfdefend.evaluation.leaderboard_report import format_leaderboard, plot_leaderboard
from tfdefend.export import TFLiteScores, export_tflite

FAST = {"steps": 5, "queries": 30, "check_n": 0, "seed": 0, "batch_size": 64}


class _Quantize:
    """A non-differentiable preprocessor: 4-bit quantization behind stop_gradient."""

    def __call__(self, x):
        x = tf.convert_to_tensor(x, tf.float32)
        return tf.stop_gradient(tf.round(x * 15.0) / 15.0)


class _Defended:
    def __init__(self, preprocessor, classifier):
        self.preprocessor, self.classifier = preprocessor, classifier

    def __call__(self, x):
        return self.classifier(self.preprocessor(x))


@pytest.fixture(scope="module")
def data(digits_model):
    model, x, y, _ = digits_model
    return model, x[:48], y[:48]


def test_classifier_row_is_monotone_and_below_clean(data):
    model, x, y = data
    row = lb.evaluate_entry({"name": "digits", "kind": "classifier", "model": model}, x, y, eps=0.2, **FAST)
    assert row["n"] == 48 and row["version"] == "standard" and row["masking"] is None
    assert row["clean_accuracy"] == 1.0  # the fixture keeps correctly classified images
    after = [a["robust_accuracy"] for a in row["attacks"]]
    assert [a["name"] for a in row["attacks"]][:3] == ["apgd-ce", "apgd-t", "fab-t"]
    assert after == sorted(after, reverse=True) and row["robust_accuracy"] == after[-1]
    assert row["robust_accuracy"] < 0.5


def test_bpda_entry_breaks_what_the_plain_gradient_cannot(data):
    model, x, y = data
    deployed = _Defended(_Quantize(), model)
    plain = lb.evaluate_entry({"name": "plain", "kind": "defense", "model": deployed}, x, y, eps=0.2,
                              **{**FAST, "queries": 1})
    adaptive = lb.evaluate_entry({"name": "bpda", "kind": "defense", "model": deployed,
                                  "attack_model": bpda(preprocessor=deployed.preprocessor, classifier=model),
                                  "threat": "BPDA (identity)"}, x, y, eps=0.2, **{**FAST, "queries": 1})
    assert adaptive["threat"] == "BPDA (identity)"
    assert adaptive["robust_accuracy"] < plain["robust_accuracy"] - 0.3


def test_randomized_defense_gets_the_rand_version(data):
    model, x, y = data
    noisy = _Defended(lambda images: tf.clip_by_value(images + tf.random.uniform(tf.shape(images), -0.05, 0.05),
                                                      0.0, 1.0), model)
    assert lb.is_randomized(noisy, x[:8]) and not lb.is_randomized(model, x[:8])
    row = lb.evaluate_entry({"name": "noisy", "kind": "defense", "model": noisy}, x[:16], y[:16], eps=0.2,
                            **{**FAST, "steps": 3})
    assert row["version"] == "rand" and [a["name"] for a in row["attacks"]] == ["apgd-ce-eot", "apgd-dlr-eot"]


def test_tflite_row_uses_square_and_an_8_bit_budget(data, tmp_path):
    model, x, y = data
    path = export_tflite(model, str(tmp_path / "m.tflite"), quantization="int8", representative_data=x)
    row = lb.evaluate_entry({"name": "int8", "kind": "tflite", "model": TFLiteScores(path), "eight_bit": True},
                            x[:24], y[:24], eps=0.1, **FAST)
    assert [a["name"] for a in row["attacks"]] == ["square"] and row["masking"] is None
    assert row["eps_used"] == pytest.approx(25 / 255) and "25/255" in row["note"]
    assert row["robust_accuracy"] <= row["clean_accuracy"]


def test_masking_checks_ride_along(data):
    model, x, y = data
    row = lb.evaluate_entry({"name": "digits", "kind": "classifier", "model": model}, x, y, eps=0.2,
                            **{**FAST, "check_n": 16})
    assert row["check_n"] == 16 and row["masking"]["n"] == 16
    assert {c["name"] for c in row["masking"]["checks"]} >= {"black_box_beats_white_box", "large_eps_not_zero"}
    assert row["warnings"] == row["masking"]["warnings"]


def test_cache_resumes_without_recomputing(data, tmp_path, monkeypatch):
    model, x, y = data
    entries = [{"name": "a", "kind": "classifier", "model": model, "fingerprint": "w1"}]
    first = lb.leaderboard(entries, x[:16], y[:16], eps=0.2, cache_dir=str(tmp_path), **FAST)
    assert len(os.listdir(tmp_path)) == 1

    def fail(*args, **kwargs):
        raise AssertionError("recomputed a cached row")

    monkeypatch.setattr(lb, "evaluate_entry", fail)
    again = lb.leaderboard(entries, x[:16], y[:16], eps=0.2, cache_dir=str(tmp_path), **FAST)
    assert again[0]["robust_accuracy"] == first[0]["robust_accuracy"]
    with pytest.raises(AssertionError, match="recomputed"):  # new weights: a new row
        lb.leaderboard([{**entries[0], "fingerprint": "w2"}], x[:16], y[:16], eps=0.2, cache_dir=str(tmp_path),
                       **FAST)


def test_rows_are_sorted_and_reported(data, tmp_path):
    model, x, y = data
    scaled = lambda images: model(images * 0.0 + 0.5)  # noqa: E731 - a constant model: robust = clean
    rows = lb.leaderboard([{"name": "digits", "kind": "classifier", "model": model},
                           {"name": "constant", "kind": "classifier", "model": scaled}], x[:16], y[:16],
                          eps=0.2, **FAST)
    assert rows[0]["robust_accuracy"] >= rows[1]["robust_accuracy"]
    text = format_leaderboard(rows, title="T")
    assert text.startswith("T") and "| 1 |" in text and "after apgd-ce %" in text
    plot_leaderboard(rows, str(tmp_path / "lb.png"))
    assert (tmp_path / "lb.png").stat().st_size > 1000
    json.dumps(rows, default=lb.to_jsonable)


@pytest.mark.parametrize("entry, error, match", [
    ("model", TypeError, "must be a dict"),
    ({"name": "a", "kind": "robot", "model": abs}, ValueError, "kind"),
    ({"name": "", "kind": "classifier", "model": abs}, ValueError, "name"),
    ({"name": "a", "kind": "classifier"}, ValueError, "no `model`"),
    ({"name": "a", "kind": "classifier", "model": 3}, TypeError, "callable"),
    ({"name": "a", "kind": "classifier", "model": abs, "colour": 1}, ValueError, "Unknown leaderboard entry keys"),
])
def test_bad_entries(entry, error, match):
    with pytest.raises(error, match=match):
        lb.check_entry(entry)


def test_bad_leaderboard_arguments(data):
    model, x, y = data
    entry = {"name": "a", "kind": "classifier", "model": model}
    with pytest.raises(ValueError, match="unique"):
        lb.leaderboard([entry, entry], x, y, eps=0.1, **FAST)
    with pytest.raises(ValueError, match="`x`"):
        lb.leaderboard([entry], x[:0], y[:0], eps=0.1, **FAST)
    with pytest.raises(ValueError, match="`y`"):
        lb.leaderboard([entry], x, y[:3], eps=0.1, **FAST)
