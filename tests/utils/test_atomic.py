import os

import pytest

from tfdefend.utils import atomic_path, atomic_write_text


def test_write_and_overwrite_protection(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    with pytest.raises(FileExistsError, match="overwrite"):
        atomic_write_text(target, "three", overwrite=False)
    assert target.read_text() == "two"


def test_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.endswith(".keras")
            with open(tmp, "w") as handle:
                handle.write("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_directory_replace(tmp_path):
    target = tmp_path / "saved"
    for content in ("v1", "v2"):
        with atomic_path(target) as tmp:
            os.makedirs(tmp)
            (open(os.path.join(tmp, "f"), "w")).write(content)
    assert (target / "f").read_text() == "v2"
    assert sorted(os.listdir(tmp_path)) == ["saved"]
