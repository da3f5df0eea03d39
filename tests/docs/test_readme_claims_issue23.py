"""README prose figures of issue 23 (ComDefend's quantizer, Deep Defense's cost) recomputed from their files."""

from tests.docs.readme_claims import check, load

RESULTS = "benchmarks/results/"


def _variants(name):
    return {row["variant"]: row for row in load(RESULTS + name)["rows"]}


def test_deep_defense_speed_claims():
    before = [load(RESULTS + f"deep_defense_speed_{m}_before_issue23.json") for m in ("mlp", "small_cnn")]
    now = [load(RESULTS + f"deep_defense_speed_{m}.json") for m in ("mlp", "small_cnn")]
    check(r"Deep Defense cost (\S+)× \(MLP\) and (\S+)× \(CNN\) a PGD-7 step",
          [b["ratios"]["deep_defense_over_pgd7_at"] for b in before])
    mlp, cnn = (n["ratios"]["deep_defense_k2_over_pgd7_at"] for n in now)
    check(r"Target ≤ 1\.0× PGD-7: met, just, on the MLP \((\S+)×;", [mlp])
    check(r"missed on the CNN \((\S+)×\)", [cnn])
    assert mlp <= 1.0 < cnn  # the claim's words: met on the MLP, missed on the CNN


def test_deep_defense_variant_claims():
    rows, more = _variants("deep_defense_variants.json"), _variants("deep_defense_variants_30k.json")
    ref, full, two = (rows[k] for k in ("reference (no fine-tuning)", "num_candidates=10", "num_candidates=2"))
    check(r"ρ₂ with 2 classes is (\S+)% below the full version's \(target within 5%\), "
          r"after (\d+) s of fine-tuning instead of (\d+) s",
          [100 * (1 - two["rho2"] / full["rho2"]), two["seconds"], full["seconds"]])
    assert abs(two["rho2"] / full["rho2"] - 1) <= 0.05
    lam5, low_lr = rows["num_candidates=2,lam=5"], rows["num_candidates=2,lr=0.0002"]
    check(r"keep more \((\S+)% / (\S+)%, still (\S+)–(\S+) points below\)",
          [100 * lam5["clean_accuracy"], 100 * low_lr["clean_accuracy"],
           100 * (ref["clean_accuracy"] - low_lr["clean_accuracy"]),
           100 * (ref["clean_accuracy"] - lam5["clean_accuracy"])])
    check(r"six times the data raises ρ₂ to (\S+) at the same clean cost",
          [more["num_candidates=2,epochs=2"]["rho2"]])
    cleanest = max(row["clean_accuracy"] for name, row in {**rows, **more}.items() if name != ref["variant"])
    assert ref["clean_accuracy"] - cleanest > 0.01  # "missed": no variant within a point


def test_deep_defense_second_order_steps_claims():
    rows = {**_variants("deep_defense_variants_second_order.json"),
            **_variants("deep_defense_variants_first_order_lam.json")}
    exact = rows["num_candidates=2"]["rho2"]

    def below(variant):
        return 100 * (1 - rows[variant]["rho2"] / exact)

    check(r"without them \(`=0`\) ρ₂ falls by\s+(\S+)% at the paper's λ \((\S+)% at λ 25\); with them "
          r"\(`=2`, `=1`\) it stays within (\S+)% and (\S+)%",
          [below("num_candidates=2,second_order_steps=0"), below("num_candidates=2,second_order_steps=0,lam=25"),
           below("num_candidates=2,second_order_steps=2"), below("num_candidates=2,second_order_steps=1")])
    speed = {m: load(RESULTS + f"deep_defense_speed_{m}_second_order.json")["ratios"] for m in ("mlp", "small_cnn")}
    check(r"keeps the CNN above PGD-7 \((\S+)×, (\S+)×\)",
          [speed["small_cnn"]["deep_defense_k2_so1_over_pgd7_at"], speed["small_cnn"]["deep_defense_k2_so2_over_pgd7_at"]])
    fast = rows["num_candidates=2,second_order_steps=0,lam=40"]
    check(r"`DeepDefense\(second_order_steps=0, lam=40\)`, (\S+)×\s+\(CNN\) and (\S+)× \(MLP\) a PGD-7 step,\s+ρ₂ "
          r"(\S+)% below the exact version's, at\s+the same clean accuracy \((\S+)% vs (\S+)%\)",
          [speed["small_cnn"]["deep_defense_k2_so0_over_pgd7_at"], speed["mlp"]["deep_defense_k2_so0_over_pgd7_at"],
           below("num_candidates=2,second_order_steps=0,lam=40"), 100 * fast["clean_accuracy"],
           100 * rows["num_candidates=2"]["clean_accuracy"]])
    # The words: met by that option (both models <= 1.0x, rho2 within 5%), missed by = 1 and = 2 on the CNN.
    assert max(speed[m]["deep_defense_k2_so0_over_pgd7_at"] for m in speed) <= 1.0
    assert below("num_candidates=2,second_order_steps=0,lam=40") <= 5.0
    assert min(speed["small_cnn"][f"deep_defense_k2_so{n}_over_pgd7_at"] for n in (1, 2)) > 1.0


def test_deep_defense_two_class_headline_claims():
    k2 = load(RESULTS + "deep_defense_fashion_mnist_cnn_k2/results.json")
    k10 = load(RESULTS + "deep_defense_fashion_mnist_cnn/results.json")
    new, old = k2["summary"]["cnn/deep_defense"], k10["summary"]["cnn/deep_defense"]
    check(r"\(ρ₂ (\S+) vs (\S+), PGD-40 (\S+)% vs (\S+)%\) at (\d+) s per fine-tuning epoch\s+instead of (\d+)",
          [new["rho2"]["mean"], old["rho2"]["mean"], 100 * new["pgd_accuracy"]["mean"],
           100 * old["pgd_accuracy"]["mean"], new["seconds_per_epoch"]["mean"], old["seconds_per_epoch"]["mean"]])
    seeds = [k2["per_seed"][s]["cnn"] for s in ("0", "1", "2")]
    ratios = [row["deep_defense"]["rho2"] / row["reference"]["rho2"] for row in seeds]
    drops = [100 * (row["deep_defense"]["clean_accuracy"] - row["reference"]["clean_accuracy"]) for row in seeds]
    check(r"ρ₂ rises (\S+)× \((\S+) / (\S+) /\s+(\S+)× per seed\) and clean accuracy falls (\S+) points "
          r"\((\S+) / (\S+) / (\S+)\s+per seed\)",
          [sum(ratios) / 3, *ratios, -sum(drops) / 3, *drops])
    for key in ("rho2", "pgd_accuracy"):  # "within a standard deviation"
        assert abs(new[key]["mean"] - old[key]["mean"]) <= max(new[key]["std"], old[key]["std"])
    assert -sum(drops) / 3 > 1.0  # the clean target (within 1 point) stays missed


def test_comdefend_sigma_claims():
    plain = _variants("comdefend_quantizers_zoo_sigma.json")
    residual = _variants("comdefend_quantizers_zoo_sigma_residual.json")
    bare_clean = load(RESULTS + "comdefend_quantizers_zoo_sigma.json")["bare"]["clean"]
    three = plain["straight_through:3"]
    check(r"The benchmark's σ 3 run met both targets, narrowly \((\S+)% clean, a\s+(\S+)-point cost, and (\S+)%\)",
          [100 * three["clean"], 100 * (bare_clean - three["clean"]), 100 * three["oblivious"]])
    zoo_rows = load(RESULTS + "comdefend_fashion_mnist_sigma3_zoo/results.json")
    clean = zoo_rows["reconstruction"]["comdefend"]["clean_accuracy_full_split"]
    bare = zoo_rows["reconstruction"]["none"]["clean_accuracy_full_split"]
    oblivious = [r["accuracy"] for r in zoo_rows["rows"] if r["defense"] == "comdefend" and r["attack"] == "PGD-10 eps=0.05"][0]
    check(r"gave (\S+)% and\s+(\S+)%: at this operating point", [100 * clean, 100 * oblivious])
    assert 100 * (bare - clean) > 3.0 and oblivious < 0.70  # "not a model that does"
    check(r"\(σ 6: (\S+)%, σ 7: (\S+)%; 68\.5% at σ 5\)",
          [100 * residual["straight_through:6"]["oblivious"], 100 * residual["straight_through:7"]["oblivious"]])
    assert all(100 * (bare_clean - r["clean"]) > 3.0 for r in residual.values())  # "costs more than 3 points"
