"""Fuzzing the command line: random argument lists exit 0 or 2 with a clear message, never a traceback.

`main(argv)` runs in-process. The expensive steps (Model.fit, the robustness
table, UDDN and toolbox training, TFLite conversion, SavedModel tracing) are
replaced by a sentinel: an argument list that reaches one has passed every
check before it, which is what is fuzzed here.
"""

import contextlib
import importlib
import os
import pathlib
import tempfile
from unittest import mock

import keras
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import tfdefend.evaluation
import tfdefend.training
from tests.fuzz.strategies import FUZZ
from tfdefend.cli.main import main
from tfdefend.export import _serving

tflite_module = importlib.import_module("tfdefend.export.tflite")  # the package attribute is the function


class Reached(Exception):
    """Raised where the expensive part of a command would start."""


@pytest.fixture(scope="module")
def files(tmp_path_factory, fuzz_model):
    """Paths the fuzzed arguments pick from: good, damaged and missing files."""
    root = tmp_path_factory.mktemp("cli_fuzz")
    good = root / "good.keras"
    fuzz_model.save(good)
    (root / "truncated.keras").write_bytes(good.read_bytes()[:2000])
    (root / "text.keras").write_text("not a model")
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(keras.layers.Lambda(lambda z: z * 2)(inputs)))
    keras.Model(inputs, outputs).save(root / "lambda.keras")
    (root / "folder").mkdir()
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "labels.txt").write_text("".join(f"c{i}\n" for i in range(10)))
    return {
        name: str(root / name)
        for name in (
            "good.keras",
            "truncated.keras",
            "text.keras",
            "lambda.keras",
            "folder",
            "image.png",
            "labels.txt",
        )
    } | {"root": str(root)}


@pytest.fixture(scope="module")
def sentinels():
    with contextlib.ExitStack() as stack:
        for target, name in (
            (keras.Model, "fit"),
            (tfdefend.evaluation, "robustness_table"),
            (tfdefend.training, "train_uddn_defense"),
            (tfdefend.training, "train_denoiser_toolbox"),
            (tflite_module, "_convert"),
            (_serving, "build_archive"),
        ):
            stack.enter_context(mock.patch.object(target, name, side_effect=Reached))
        yield


def _tokens(files):
    """Strategies of option values by kind."""
    path = st.sampled_from(
        [
            "good.keras",
            "truncated.keras",
            "text.keras",
            "lambda.keras",
            "folder",
            "image.png",
            "missing.keras",
            "",
        ]
    ).map(lambda n: files.get(n, os.path.join(files["root"], n)))
    # Outputs are relative: every example runs in a fresh working directory.
    out = st.sampled_from(
        ["out.keras", "out.json", "out.tflite", files["folder"], "missing_dir/out.keras", "bundle", ""]
    )
    return {
        "int": st.one_of(
            st.integers(-1, 4).map(str),
            st.integers(1, 3).map(str),
            st.sampled_from(["1e3", "x", "", "2.5", "99999999999"]),
        ),
        "float": st.sampled_from(["0.1", "0", "-0.1", "1.5", "nan", "inf", "8/255", "0.03"]),
        "dataset": st.sampled_from(["digits", "digits", "lfw_subset", "nope", "", "DIGITS"]),
        "zoo": st.sampled_from(["small_cnn_digits", "small_cnn_digits", "dae_fashion_mnist", "nope", ""]),
        "model": st.sampled_from(["small_cnn", "mlp", "comdefend", "nope", "gnr_critic", ""]),
        "path": path,
        "zoo_or_path": st.one_of(path, st.sampled_from(["small_cnn_digits", "nope"])),
        "out": out,
        "set": st.sampled_from(
            ["filters=4", "filters=-1", "filters=x", "nope=1", "=3", "filters", "dense_units=[8]"]
        ),
        "labels": st.sampled_from([files["labels.txt"], files["image.png"], "missing.txt"]),
        "choice": st.sampled_from(
            [
                "logits",
                "pixels",
                "probability",
                "psnr",
                "none",
                "cutout",
                "trades",
                "fast-at",
                "tflite",
                "saved_model",
                "int8",
                "fp16",
                "bogus",
            ]
        ),
    }


COMMANDS = {  # subcommand -> [(option, kind or None for a flag, required)]
    "train": [
        ("--model", "model", False),
        ("--dataset", "dataset", True),
        ("--epochs", "int", False),
        ("--batch-size", "int", False),
        ("--lr", "float", False),
        ("--seed", "int", False),
        ("--limit", "int", False),
        ("--output", "out", True),
        ("--set", "set", False),
        ("--no-optimizer", None, False),
        ("--image-size", "int", False),
        ("--augment", "choice", False),
        ("--data", "path", False),
        ("--defense", "choice", False),
        ("--eps", "float", False),
        ("--beta", "float", False),
        ("--attack-steps", "int", False),
        ("--guard-images", "int", False),
    ],
    "train-uddn": [
        ("--dataset", "dataset", True),
        ("--classifier", "zoo_or_path", True),
        ("--output", "out", True),
        ("--real-count", "int", False),
        ("--gnr-count", "int", False),
        ("--guidance", "choice", False),
        ("--eps", "float", False),
        ("--student-output", "out", False),
        ("--seed", "int", False),
    ],
    "train-rl-chain": [
        ("--dataset", "dataset", True),
        ("--classifier", "zoo_or_path", True),
        ("--output", "out", True),
        ("--train-images", "int", False),
        ("--strengths", "int", False),
        ("--depths", "int", False),
        ("--filters", "int", False),
        ("--reward", "choice", False),
    ],
    "evaluate": [
        ("--dataset", "dataset", True),
        ("--eps", "float", False),
        ("--pgd-steps", "int", False),
        ("--limit", "int", False),
        ("--model-file", "path", False),
        ("--pretrained", "zoo", False),
        ("--json", "out", False),
    ],
    "demo": [
        ("--dataset", "dataset", True),
        ("--model", "model", False),
        ("--epochs", "int", False),
        ("--eps", "float", False),
        ("--output", "out", False),
    ],
    "zoo export": [
        ("", "zoo", True),
        ("--format", "choice", True),
        ("--quantize", "choice", False),
        ("--output", "out", True),
        ("--overwrite", None, False),
    ],
    "zoo show": [("", "zoo", True)],
    "zoo card": [("", "zoo", True)],
    "app export": [
        ("--model", "path", False),
        ("--pretrained", "zoo", False),
        ("--output", "out", True),
        ("--labels", "labels", False),
        ("--representative-data", "dataset", False),
        ("--calibration-images", "int", False),
        ("--overwrite", None, False),
    ],
    "app classify": [
        ("", "path", True),
        ("--bundle", "path", True),
        ("--top-k", "int", False),
        ("--threads", "int", False),
        ("--json", None, False),
    ],
    "models": [],
    "datasets": [],
    "zoo list": [],
}


@st.composite
def argvs(draw, files):
    tokens = _tokens(files)
    command = draw(st.sampled_from(sorted(COMMANDS)))
    argv = command.split()
    for option, kind, required in COMMANDS[command]:
        if not draw(st.integers(0, 9)) < (9 if required else 4):
            continue
        if option:
            argv.append(option)
        if kind is not None:
            argv.append(draw(tokens[kind]))
            if option in ("--image-size", "--eps", "--strengths") and draw(st.booleans()):
                argv.append(draw(tokens[kind]))
    if draw(st.integers(0, 9)) == 0:  # a stray token or option
        argv.insert(
            draw(st.integers(0, len(argv))), draw(st.sampled_from(["--bogus", "-x", "--", "extra", "-h"]))
        )
    return argv


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_random_command_lines(files, sentinels, capsys, data):
    argv = data.draw(argvs(files), label="argv")
    with tempfile.TemporaryDirectory() as cwd, contextlib.chdir(cwd):  # outputs, backups, "runs/demo.keras"
        _check_command_line(argv, capsys)


def _check_command_line(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, -h exits 0
        err = capsys.readouterr().err
        event(f"argparse exit {exc.code}")
        assert exc.code in (0, 2)
        assert exc.code == 0 or ("usage:" in err and "error:" in err), err
        return
    except Reached:
        event("reached the expensive step")
        capsys.readouterr()
        return
    out, err = capsys.readouterr()
    event(f"exit {code}")
    assert code in (0, 2)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("tfdefend: error: ") and len(err.strip()) > len("tfdefend: error:"), err
    else:
        assert out.strip(), "a successful command printed nothing"


def test_unsafe_and_damaged_model_files_are_refused(files, sentinels, capsys):
    """The command line loads user files only through the safe loader."""
    with tempfile.TemporaryDirectory() as cwd, contextlib.chdir(cwd):
        _check_refused(files, capsys)


def _check_refused(files, capsys):
    for name, expected in (
        ("lambda.keras", "safe_mode=False"),
        ("truncated.keras", "truncated.keras"),
        ("text.keras", "text.keras"),
    ):
        for argv in (
            ["evaluate", "--dataset", "digits", "--model-file", files[name]],
            ["train-uddn", "--dataset", "digits", "--classifier", files[name], "--output", "o.keras"],
            ["train-rl-chain", "--dataset", "digits", "--classifier", files[name], "--output", "o.keras"],
            ["app", "export", "--model", files[name], "--output", os.path.join(files["root"], "b")],
        ):
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert err.startswith("tfdefend: error: ") and expected in err, err
    assert not pathlib.Path(files["root"], "b").exists()
