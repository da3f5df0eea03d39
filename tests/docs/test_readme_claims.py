"""The README's prose figures (ranges, ratios, differences, counts) recomputed from the results files.

Each check finds its sentence in the README (exactly once) and compares every
number in it with the value computed from the cited file at the shown
precision. Tables are checked by `test_readme_figures.py`.
"""

import statistics

from tests.docs.readme_claims import check, load, ratio_range, shown

EXPORT = "benchmarks/results/export_latency.json"
ADVMASK = "benchmarks/results/advmask_fashion_mnist.json"
AUTO = "benchmarks/results/auto_adversary/results.json"
COMDEFEND = "benchmarks/results/comdefend_fashion_mnist/results.json"
UDDN = "benchmarks/results/uddn_fashion_mnist/results.json"


def _exported():
    return {name: model for name, model in load(EXPORT)["models"].items() if "tflite" in model}


def _ratio(model, numerator, denominator, key):
    return model["tflite"][numerator][key] / model["tflite"][denominator][key]


def test_int8_size_ratios():
    models = _exported()
    size = {
        name: m["tflite"]["float"]["size_bytes"] / m["tflite"]["int8"]["size_bytes"]
        for name, m in models.items()
    }
    classifiers = [size[name] for name, m in models.items() if m["kind"] == "classifier"]
    check(
        r"int8 files are (\S+)–(\S+)× smaller than float \(ComDefend (\S+)×, its residual variant (\S+)×, "
        r"DAE (\S+)×, UDDN (\S+)×, the small_cnn classifiers (\S+)–(\S+)×\)",
        [
            *ratio_range(size.values()),
            size["comdefend_fashion_mnist"],
            size["comdefend_residual_fashion_mnist"],
            size["dae_fashion_mnist"],
            size["uddn_fashion_mnist"],
            *ratio_range(classifiers),
        ],
    )


def test_int8_speed_on_reference_kernels_and_xnnpack():
    models = _exported()
    reference = {n: _ratio(m, "float", "int8", "ms_1_thread_no_xnnpack") for n, m in models.items()}
    check(r"int8 is (\S+)–(\S+)× faster than float for every model", ratio_range(reference.values()))
    one = {n: _ratio(m, "int8", "float", "ms_1_thread") for n, m in models.items()}
    two = {n: _ratio(m, "int8", "float", "ms_2_threads") for n, m in models.items()}
    assert (
        min(one, key=one.get) == "dae_fashion_mnist" and max(one, key=one.get) == "uddn_student_fashion_mnist"
    )
    check(
        r"from (\S+)× \(DAE\) to (\S+)× \(the student classifier\) of the float time",
        ratio_range(one.values()),
    )
    [within] = shown(r"within ±(\d+)% for small_cnn on Fashion-MNIST and MNIST")
    assert all(abs(one[n] - 1) * 100 <= within.value for n in ("small_cnn_fashion_mnist", "small_cnn_mnist"))
    others = [
        one[n] - 1
        for n in one
        if n not in ("small_cnn_fashion_mnist", "small_cnn_mnist", "dae_fashion_mnist")
    ]
    assert len(others) == 6 and min(others) > 0
    check(r"(\d+)–(\d+)% slower for the other six models", ratio_range(others), scale=100)
    check(
        r"on XNNPACK for (\d) of (\d) models at one thread and (\d) of (\d) at two threads; "
        r"it misses by up to "
        r"(\d+)% \(one thread\) and (\d+)% \(two threads\)",
        [
            sum(r <= 1 for r in one.values()),
            len(one),
            sum(r <= 1 for r in two.values()),
            len(two),
            100 * (max(one.values()) - 1),
            100 * (max(two.values()) - 1),
        ],
    )


def test_advmask_sensitive_points_and_timings():
    data = load(ADVMASK)
    points = [entry["mean_points"] for entry in data["sensitive_points"].values()]
    minutes = [entry["seconds"] / 60 for entry in data["sensitive_points"].values()]
    check(
        r"η 0\.1: (\d+)–(\d+) of 784 pixels per image on average, (\d+)–(\d+) min per model and seed",
        [*ratio_range(points), *ratio_range(minutes)],
    )
    training = [
        sum(method["seconds"][seed] for method in methods.values()) / 60
        for methods in data["results"].values()
        for seed in range(len(data["runs"][0]["config"]["seeds"]))
    ]
    check(r"training takes (\d+)–(\d+) min per model and seed", ratio_range(training))


def test_advmask_conclusions():
    results = load(ADVMASK)["results"]

    def mean(model, method, metric="clean"):
        return 100 * statistics.mean(results[model][method][metric])

    mobile = {m: mean("mobilenet_v2", m) for m in ("base", "cutout", "re", "has", "gridmask", "advmask")}
    costs = [mobile["base"] - mobile[m] for m in ("cutout", "has", "gridmask")]
    resnet = [100 * seed for seed in results["resnet"]["advmask"]["clean"]]
    check(
        r"\((\S+) vs RE (\S+)\) but still (\S+) below no augmentation \((\S+)\), "
        r"while Cutout, HaS and GridMask "
        r"cost (\S+)–(\S+) points; on ResNet-14 it averages (\S+) ± (\S+) "
        r"\((\S+), (\S+), (\S+) over the seeds\) "
        r"against Base (\S+) and RE (\S+)\.",
        [
            mobile["advmask"],
            mobile["re"],
            mobile["base"] - mobile["advmask"],
            mobile["base"],
            *ratio_range(costs),
            statistics.mean(resnet),
            statistics.stdev(resnet),
            *resnet,
            mean("resnet", "base"),
            mean("resnet", "re"),
        ],
    )
    pgd = {
        model: [mean(model, m, "pgd") for m in ("base", "cutout", "re", "has", "gridmask", "advmask")]
        for model in results
    }
    check(
        r"\(ResNet (\d+)–(\d+)%, MobileNetV2 (\d+)–(\d+)%\)",
        [*ratio_range(pgd["resnet"]), *ratio_range(pgd["mobilenet_v2"])],
    )


def _auto(dataset):
    return next(result for result in load(AUTO)["results"] if result["dataset"] == dataset)


def test_auto_adversary_timings_and_ablation():
    fashion, mnist, colour = _auto("fashion_mnist"), _auto("mnist"), _auto("photo_patches")
    check(r"\((\d+) min of attacks on 2 shared cores", [(fashion["seconds"] + mnist["seconds"]) / 60])
    check(r"\((\d+) min of attacks, the data set's", [colour["seconds"] / 60])
    jsma = [
        row["seconds"] / colour["jsma_limit"] for row in colour["rows"] if row["method"].startswith("JSMA")
    ]
    check(r"(\d+)–(\d+) s per image here", ratio_range(jsma))

    def ablation(result):
        return [value for row in result["ablation"] for value in (row["asr"], row["l0"]) if value is not None]

    check(
        r"Fashion \(ε 0\.1\) dense (\d+) / (\d+), dense \+ random mask of the same l0 (\d+) / (\d+), "
        r"dense \+ l1 "
        r"on δ (\d+) / (\d+), mask without encoder (\d+) / (\d+), full method (\d+) / (\d+); "
        r"MNIST-5k \(ε 0\.3\) "
        r"(\d+) / (\d+), (\d+) / –, (\d+) / (\d+), (\d+) / (\d+), (\d+) / (\d+)\.",
        ablation(fashion) + ablation(mnist),
    )
    check(
        r"sparser \((\d+) vs (\d+), (\d+) vs (\d+) pixels\)",
        [
            fashion["ablation"][3]["l0"],
            fashion["ablation"][4]["l0"],
            mnist["ablation"][3]["l0"],
            mnist["ablation"][4]["l0"],
        ],
    )
    check(
        r"sparser than with it \((\d+) vs (\d+) pixels\) at the same (\d+)%",
        [colour["ablation"][3]["l0"], colour["ablation"][4]["l0"], colour["ablation"][4]["asr"]],
    )


def test_auto_adversary_pixel_savings():
    def savings(result, threshold):
        rows = {row["method"]: row for row in result["rows"] if row["threshold"] == threshold}
        return [rows[m]["l0"] / rows[m + "*"]["l0"] for m in ("PGD", "BIM", "MI-FGSM")]

    usual = savings(_auto("fashion_mnist"), "0.1000") + savings(_auto("mnist"), "0.3000")
    small = savings(_auto("fashion_mnist"), "0.0314") + savings(_auto("mnist"), "0.0314")
    check(
        r"with (\d+)–(\d+)× fewer pixels at the usual ε \((\S+)–(\d+)× at 8/255",
        [*ratio_range(usual), *ratio_range(small)],
    )
    check(
        r"(\S+)× fewer pixels at 8/255 and (\S+)× at 16/255",
        [savings(_auto("photo_patches"), t)[0] for t in ("0.0314", "0.0627")],
    )


def test_comdefend_claims():
    data, rows = load(COMDEFEND), load(COMDEFEND)["rows"]
    acc = {(r["defense"], r["family"], r["eps"], r["mode"]): 100 * r["accuracy"] for r in rows}
    recon = data["reconstruction"]
    check(
        r"at equal code size: ComDefend MSE (\S+) \((\S+) dB\), residual encoder (\S+) \((\S+) dB\)",
        [
            recon["comdefend"]["mse"],
            recon["comdefend"]["psnr_db"],
            recon["comdefend_residual"]["mse"],
            recon["comdefend_residual"]["psnr_db"],
        ],
    )
    longer = load("benchmarks/results/comdefend_fashion_mnist_3epoch_train_metrics.json")
    check(
        r"the code penalty: (\S+) in the last epoch\) but raised the binarized test MSE from (\S+) to (\S+)",
        [longer["train_loss_last_epoch"], recon["comdefend"]["mse"], longer["test_mse"]],
    )
    check(
        r"raises PGD accuracy from (\d+)% to (\d+)% at eps 0\.05",
        [acc[("none", "pgd", 0.05, "oblivious")], acc[("comdefend", "pgd", 0.05, "oblivious")]],
    )
    check(
        r"\((\S+)% vs (\S+)% under BPDA at eps 0\.1\)",
        [acc[("comdefend_residual", "pgd", 0.1, "adaptive")], acc[("comdefend", "pgd", 0.1, "adaptive")]],
    )
    check(
        r"costs (\d+) points of clean accuracy \((\S+) → (\S+)\)",
        [
            acc[("none", "clean", 0.0, "clean")] - acc[("comdefend", "clean", 0.0, "clean")],
            acc[("none", "clean", 0.0, "clean")],
            acc[("comdefend", "clean", 0.0, "clean")],
        ],
    )
    bpda = {
        (d, e): acc[(d, "pgd", e, "adaptive")]
        for d in ("comdefend", "comdefend_residual", "dae", "jpeg_q75", "bit_depth_3", "median_2")
        for e in (0.05, 0.1)
    }
    check(
        r"BPDA takes JPEG to (\S+)% at eps 0\.05 and (\S+)% at 0\.1, "
        r"and bit-depth reduction to (\S+)% at eps "
        r"0\.1 \(it keeps (\S+)% at 0\.05\)",
        [
            bpda[("jpeg_q75", 0.05)],
            bpda[("jpeg_q75", 0.1)],
            bpda[("bit_depth_3", 0.1)],
            bpda[("bit_depth_3", 0.05)],
        ],
    )
    check(
        r"ComDefend keeps more under BPDA \((\S+)–(\S+)%\)",
        [bpda[("comdefend", 0.1)], bpda[("comdefend", 0.05)]],
    )
    for eps in (0.05, 0.1):
        assert bpda[("comdefend", eps)] == max(value for (_, e), value in bpda.items() if e == eps)
