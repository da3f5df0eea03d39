"""`tfdefend --help`, `models`, `datasets`, `zoo list` and `zoo show` answer without TensorFlow or Keras.

Each check runs in a fresh interpreter (this test process has long imported
TensorFlow) and reports which heavy modules the commands imported.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("tensorflow", "keras", "tf_keras", "jax", "torch")

PROBE = """
import json, sys
from tfdefend.cli.main import main

codes = {}
for argv in json.loads(sys.argv[1]):
    try:
        codes[" ".join(argv)] = main(argv)
    except SystemExit as exc:  # --help
        codes[" ".join(argv)] = exc.code
print(json.dumps({"codes": codes, "heavy": sorted(m for m in %r if m in sys.modules)}), file=sys.stderr)
""" % (HEAVY,)


def _probe(*argvs):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argvs)], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=120, check=False)
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report, result


def test_listing_commands_do_not_import_tensorflow_or_keras():
    report, result = _probe(["--help"], ["models"], ["datasets"], ["zoo", "list"],
                            ["zoo", "show", "small_cnn_mnist"], ["zoo", "-h"], ["evaluate", "-h"])
    assert set(report["codes"].values()) == {0}, report
    assert report["heavy"] == [], f"imported {report['heavy']}"
    assert "small_cnn_mnist" in result.stdout and "fashion_mnist" in result.stdout
    assert "oneDNN" not in result.stderr and "absl" not in result.stderr  # no TensorFlow banner


def test_refusals_come_before_tensorflow_starts():
    report, result = _probe(["zoo", "show", "nope"],
                            ["evaluate", "--pretrained", "small_cnn_mnist", "--dataset", "fashion_mnist"],
                            ["evaluate", "--pretrained", "nope"],
                            ["train-uddn", "--classifier", "dae_fashion_mnist", "--output", "u.keras"])
    assert set(report["codes"].values()) == {2}, report
    assert report["heavy"] == [], f"imported {report['heavy']}"
    assert result.stderr.count("tfdefend: error: ") == 4


def test_the_models_package_reads_the_zoo_without_tensorflow_and_loads_classes_on_use():
    """In the command line's lazy mode; a plain `import tfdefend.models` registers every class at once."""
    code = ("import sys\n"
            "import tfdefend.cli\n"
            "import tfdefend, tfdefend.models as m\n"
            "from tfdefend.models import list_pretrained, pretrained_info, default_pretrained\n"
            "from tfdefend.models.model_index import model_index\n"
            "assert len(list_pretrained()) > 0 and len(model_index()) > 0\n"
            "light = 'tensorflow' in sys.modules or 'keras' in sys.modules\n"
            "from tfdefend.models import create_model, list_models\n"
            "print(light, 'keras' in sys.modules, len(list_models()), type(m.SmallCNN).__name__)\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=300, check=True)
    light, heavy, count, kind = result.stdout.split()
    assert (light, heavy, kind) == ("False", "True", "type")
    from tfdefend.models import list_models

    assert int(count) == len(list_models())  # the first public name imported every model module


def test_a_plain_import_registers_every_class_for_keras_loading():
    code = ("import keras, tfdefend.models\n"
            "m = keras.saving.load_model('tfdefend/models/zoo/small_cnn_digits.keras')\n"
            "print(type(m).__name__)\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=300, check=True)
    assert result.stdout.split()[-1] == "SmallCNN"
