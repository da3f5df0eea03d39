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


def _verdict(ok):
    return "met" if ok else "missed"


def test_comdefend_claims():
    data, rows = load(COMDEFEND), load(COMDEFEND)["rows"]
    acc = {(r["defense"], r["family"], r["eps"], r["mode"]): 100 * r["accuracy"] for r in rows}
    recon = data["reconstruction"]
    clean = {name: 100 * recon[name]["clean_accuracy_full_split"] for name in ("none", "comdefend", "comdefend_residual")}
    check(
        r"the bare classifier (\S+)%; ComDefend MSE (\S+) \((\S+) dB\), (\S+)% clean; residual encoder MSE (\S+) "
        r"\((\S+) dB\), (\S+)% clean",
        [clean["none"], recon["comdefend"]["mse"], recon["comdefend"]["psnr_db"], clean["comdefend"],
         recon["comdefend_residual"]["mse"], recon["comdefend_residual"]["psnr_db"], clean["comdefend_residual"]],
    )
    quantizers = load("benchmarks/results/comdefend_quantizers.json")["rows"]
    paper = [r for r in quantizers if r["variant"] == "noisy_sigmoid:20"]
    ste = [r for r in quantizers if r["variant"] == "straight_through:5"]
    check(r"binarized test MSE does not fall with training \((\S+) → (\S+) → (\S+);",
          [r["binarized_test_mse"] for r in paper])
    assert not paper[0]["binarized_test_mse"] > paper[1]["binarized_test_mse"] > paper[2]["binarized_test_mse"]
    check(r"3 epochs gave (\S+),", [load("benchmarks/results/comdefend_fashion_mnist_3epoch_train_metrics.json")["test_mse"]])
    check(r"codes \(RMS (\S+)\) inside the σ = 20 noise, so only (\d+)% of the bits",
          [paper[-1]["code_rms"], 100 * paper[-1]["bit_agreement"]])
    check(r"fixes it: MSE (\S+) → (\S+) → (\S+), (\d+)% of the bits shared, clean accuracy (\S+)% → (\S+)% after 3 "
          r"epochs at the same oblivious robustness \((\S+)% vs (\S+)%\)",
          [*(r["binarized_test_mse"] for r in ste), 100 * ste[-1]["bit_agreement"], 100 * paper[-1]["clean"],
           100 * ste[-1]["clean"], 100 * paper[-1]["oblivious"], 100 * ste[-1]["oblivious"]])
    assert ste[0]["binarized_test_mse"] > ste[1]["binarized_test_mse"] > ste[2]["binarized_test_mse"]
    sigma = {r["variant"]: r for r in load("benchmarks/results/comdefend_quantizers_sigma.json")["rows"]}
    s0, s2 = sigma["straight_through:0"], sigma["straight_through:2"]
    check(r"\((\S+)% clean\) but it passes the perturbation too \((\S+)% under oblivious PGD\); σ 2 gives (\S+)% / "
          r"(\S+)%, σ 5 (\S+)% / (\S+)%",
          [100 * s0["clean"], 100 * s0["oblivious"], 100 * s2["clean"], 100 * s2["oblivious"],
           100 * ste[-1]["clean"], 100 * ste[-1]["oblivious"]])
    cost = {name: clean["none"] - clean[name] for name in ("comdefend", "comdefend_residual")}
    kept = {name: acc[(name, "pgd", 0.05, "oblivious")] for name in ("comdefend", "comdefend_residual")}
    check(
        rf"ComDefend costs (\S+) points \({_verdict(cost['comdefend'] <= 3)}\) and keeps (\S+)% "
        rf"\({_verdict(kept['comdefend'] >= 70)}\); the residual encoder costs (\S+) points "
        rf"\({_verdict(cost['comdefend_residual'] <= 3)}\) and keeps (\S+)% "
        rf"\({_verdict(kept['comdefend_residual'] >= 70)}\)",
        [cost["comdefend"], kept["comdefend"], cost["comdefend_residual"], kept["comdefend_residual"]],
    )
    check(r"equal code size and (\S+) points of clean accuracy", [clean["comdefend_residual"] - clean["comdefend"]])
    check(
        r"\((\S+)% vs (\S+)% under BPDA at eps 0\.1\)",
        [acc[("comdefend_residual", "pgd", 0.1, "adaptive")], acc[("comdefend", "pgd", 0.1, "adaptive")]],
    )
    check(
        r"raises PGD accuracy from (\d+)% to (\d+)% at eps 0\.05",
        [acc[("none", "pgd", 0.05, "oblivious")], acc[("comdefend", "pgd", 0.05, "oblivious")]],
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
