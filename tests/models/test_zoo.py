"""The shipped zoo: every entry loads, matches its sha256, and reproduces its manifest figure.

Classifiers are checked on their full test split (as `benchmarks/zoo_figures.py` measured them);
preprocessors on the first test images whose figure `benchmarks/results/zoo_figures.json` records
(`subset`), and on the full split in the `slow` variant. A missing data set fails, never skips.
"""

import json
import os
import shutil

import numpy as np
import pytest

from tests.conftest import require_dataset
from tfdefend import data
from tfdefend.cli.listing import DEFENSES
from tfdefend.evaluation import accuracy
from tfdefend.models import zoo
from tfdefend.training import reconstruction_error

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO_FIGURES = os.path.join(ROOT, "benchmarks", "results", "zoo_figures.json")
# Images whose prediction may differ between kernel libraries (oneDNN on/off) near a decision boundary.
FLIPS_ALLOWED = 2


def _test_split(dataset):
    require_dataset(dataset)
    return data.load(dataset, "test", as_numpy=True)


def _figures_row(name):
    with open(ZOO_FIGURES, encoding="utf-8") as handle:
        return json.load(handle)["models"][name]


def test_every_dataset_has_a_default_classifier():
    for name in data.list_datasets():
        assert zoo.default_pretrained(name) in zoo.list_pretrained(name)


@pytest.mark.parametrize("name", zoo.list_pretrained())
def test_every_entry_loads_and_matches_its_sha256(name):
    assert zoo.load_pretrained(name) is not None  # load_pretrained checks the sha256 first


@pytest.mark.parametrize("name", zoo.list_pretrained())
def test_pretrained_loads_and_matches_manifest(name):
    entry = zoo.pretrained_info(name)
    for key in ("sha256", "dataset", "kind", "command", "file"):
        assert entry[key]
    assert entry["command"].startswith(("tfdefend train ", "tfdefend train-uddn ",
                                        "tfdefend train-rl-chain ", "python benchmarks/deep_defense.py "))
    if entry["kind"] == "classifier":
        assert entry["defense"] in {key for key, _ in DEFENSES} - {"-"}  # every defense is explained
    model = zoo.load_pretrained(name)
    if entry["kind"] == "generator":  # no test-set figure: check the noise it generates instead
        eps = model.eps
        latent = np.random.default_rng(0).normal(size=(8, model.latent_dim)).astype("float32")
        noise = np.asarray(model(latent))
        assert noise.shape[1:] == tuple(model.noise_shape) and np.abs(noise).max() <= eps + 1e-6
        return
    x, y = _test_split(entry["dataset"])
    assert entry["test_examples"] == len(x)  # the figures are on the full test split
    if entry["kind"] == "toolbox":  # every tool keeps the images' shape and range
        outputs = np.asarray(model(x[:4]))
        assert outputs.shape == (4, model.num_tools, *x.shape[1:])
        assert 0 <= outputs.min() <= outputs.max() <= 1
        return
    if entry["kind"] == "agent":  # Q-values over the tools and "stop"
        h, c = model.initial_state(4)
        prev = np.zeros((4, model.num_actions), "float32")
        q = np.asarray(model([x[:4], prev, np.asarray(h), np.asarray(c)])[0])
        assert q.shape == (4, model.num_actions) and np.all(np.isfinite(q))
        return
    if entry["kind"] == "classifier":
        assert accuracy(model, x, y) == pytest.approx(entry["clean_accuracy"], abs=FLIPS_ALLOWED / len(x))
        return
    row = _figures_row(name)  # the fast check: the first test images, with the figure recorded for those
    assert row["sha256"] == entry["sha256"], f"{name}: zoo_figures.json measured other weights"
    subset = row["subset"]
    error = reconstruction_error(model, x[:subset["examples"]])
    assert error["mse"] == pytest.approx(subset["test_mse"], rel=2e-3, abs=1e-8)
    assert error["psnr_db"] == pytest.approx(subset["test_psnr_db"], abs=0.02)


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.list_pretrained(kind="preprocessor"))
def test_preprocessor_figure_on_the_full_test_split(name):
    entry = zoo.pretrained_info(name)
    x, _ = _test_split(entry["dataset"])
    error = reconstruction_error(zoo.load_pretrained(name), x)
    assert len(x) == entry["test_examples"]
    assert error["mse"] == pytest.approx(entry["test_mse"], rel=2e-3, abs=1e-8)
    assert error["psnr_db"] == pytest.approx(entry["test_psnr_db"], abs=0.02)


def test_defense_filter():
    plain = zoo.list_pretrained(kind="classifier", defense="none")
    assert zoo.default_pretrained("fashion_mnist") in plain
    for defense in ("pgd-at", "trades", "fast-at", "deepdefense"):
        names = zoo.list_pretrained(dataset="fashion_mnist", defense=defense)
        assert names and all(zoo.pretrained_info(n)["kind"] == "classifier" for n in names)
    assert zoo.list_pretrained(defense="no-such-defense") == []


def test_kind_filter():
    classifiers = zoo.list_pretrained(kind="classifier")
    assert "small_cnn_digits" in classifiers
    assert all(zoo.pretrained_info(n)["kind"] == "classifier" for n in classifiers)


def test_tampered_file_is_refused(tmp_path, monkeypatch):
    name = zoo.default_pretrained("digits")
    shutil.copytree(zoo.ZOO_DIR, tmp_path / "zoo")
    monkeypatch.setattr(zoo, "ZOO_DIR", str(tmp_path / "zoo"))
    monkeypatch.setattr(zoo, "MANIFEST_PATH", str(tmp_path / "zoo" / "manifest.json"))
    weights = tmp_path / "zoo" / zoo.pretrained_info(name)["file"]
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="sha256 mismatch"):
        zoo.load_pretrained(name)
    weights.unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        zoo.load_pretrained(name)


def test_unknown_name():
    with pytest.raises(ValueError, match="zoo holds: .*small_cnn_digits"):
        zoo.load_pretrained("resnet_imagenet")
    with pytest.raises(ValueError, match="no default"):
        zoo.default_pretrained("cifar10")
    assert np.all([isinstance(n, str) for n in zoo.list_pretrained()])
