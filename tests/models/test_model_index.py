"""The TF-free model index (`tfdefend models`) is an exact copy of the registry."""

from tfdefend.models import list_models, model_info
from tfdefend.models.model_index import MODEL_INDEX, model_index


def test_the_index_equals_the_registry():
    registry = {name: (model_info(name)["kind"], model_info(name)["description"]) for name in list_models()}
    missing = sorted(set(registry) - set(MODEL_INDEX))
    assert not missing, f"add these registered models to tfdefend/models/model_index.py: {missing}"
    assert MODEL_INDEX == registry


def test_the_index_filters_by_kind_like_the_registry():
    assert [name for name, _, _ in model_index()] == list_models()
    for kind in ("classifier", "preprocessor", "agent"):
        assert [name for name, _, _ in model_index(kind)] == list_models(kind)
        assert all(entry_kind == kind for _, entry_kind, _ in model_index(kind))
