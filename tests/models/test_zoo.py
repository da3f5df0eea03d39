import shutil

import numpy as np
import pytest

from tfdefend import data
from tfdefend.evaluation import accuracy
from tfdefend.models import zoo
from tfdefend.training import reconstruction_error


def test_every_dataset_has_a_default_classifier():
    for name in data.list_datasets():
        if name == "fashion_mnist" and not data.offline_sources._find_fashion_mnist(None):
            continue
        assert zoo.default_pretrained(name) in zoo.list_pretrained(name)


def _zoo_params():
    """Every entry; a preprocessor whose figure is on more than 2,000 images (ComDefend: a minute each
    on CPU) is marked `slow`, and `test_every_entry_loads_and_matches_its_sha256` still loads it."""
    for name in zoo.list_pretrained():
        entry = zoo.pretrained_info(name)
        heavy = entry.get("kind") == "preprocessor" and entry.get("test_examples", 0) > 2000
        yield pytest.param(name, marks=pytest.mark.slow) if heavy else name


@pytest.mark.parametrize("name", zoo.list_pretrained())
def test_every_entry_loads_and_matches_its_sha256(name):
    assert zoo.load_pretrained(name) is not None  # load_pretrained checks the sha256 first


@pytest.mark.parametrize("name", list(_zoo_params()))
def test_pretrained_loads_and_matches_manifest(name):
    entry = zoo.pretrained_info(name)
    for key in ("sha256", "dataset", "kind", "command", "file"):
        assert entry[key]
    assert entry["command"].startswith(("tfdefend train ", "tfdefend train-uddn ",
                                        "tfdefend train-rl-chain ", "python benchmarks/deep_defense.py "))
    if entry["kind"] == "classifier":
        assert entry["defense"] in ("none", "pgd-at", "deepdefense", "knowledge-transfer")
    model = zoo.load_pretrained(name)
    if entry["kind"] == "generator":  # no test-set figure: check the noise it generates instead
        eps = model.eps
        noise = np.asarray(model(np.random.default_rng(0).normal(size=(8, model.latent_dim)).astype("float32")))
        assert noise.shape[1:] == tuple(model.output_shape_) and np.abs(noise).max() <= eps + 1e-6
        return
    try:
        x, y = data.load(entry["dataset"], "test", as_numpy=True, limit=entry.get("test_examples"))
    except FileNotFoundError:
        pytest.skip(f"{entry['dataset']} not installed")
    if entry["kind"] == "toolbox":  # every tool keeps the images' shape and range
        outputs = np.asarray(model(x[:4]))
        assert outputs.shape == (4, model.num_tools, *x.shape[1:]) and 0 <= outputs.min() <= outputs.max() <= 1
        return
    if entry["kind"] == "agent":  # Q-values over the tools and "stop"
        h, c = model.initial_state(4)
        prev = np.zeros((4, model.num_actions), "float32")
        q = np.asarray(model([x[:4], prev, np.asarray(h), np.asarray(c)])[0])
        assert q.shape == (4, model.num_actions) and np.all(np.isfinite(q))
        return
    if entry["kind"] == "classifier":
        assert accuracy(model, x, y) == pytest.approx(entry["clean_accuracy"], abs=2e-3)
    else:
        assert reconstruction_error(model, x)["mse"] == pytest.approx(entry["test_mse"], rel=1e-3, abs=1e-6)


def test_defense_filter():
    plain = zoo.list_pretrained(kind="classifier", defense="none")
    assert zoo.default_pretrained("fashion_mnist") in plain
    for defense in ("pgd-at", "deepdefense"):
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
