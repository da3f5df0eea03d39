"""README prose figures of issue 25 (attack speed in any process) recomputed from their files."""

from tests.docs.readme_claims import check, load

RESULTS = "benchmarks/results/"


def _ratios(cell):
    seconds = cell["seconds"]
    return {name: value / seconds["tfdefend"] for name, value in seconds.items() if name != "tfdefend"}


def _cells():
    return load(RESULTS + "attack_matrix/attack_matrix.json")["cells"]


def test_while_loop_claims():
    trials = load(RESULTS + "onednn_while_loop.json")["trials"]
    slow = [t["ratios_to_unrolled"]["while"] for t in trials if not t["while_rewritten"]]
    ours = [t["ratios_to_unrolled"]["tfdefend"] for t in trials]
    check(r"rewritten in (\d+) of (\d+) processes; where it was not, the while-loop PGD ran at (\S+)–(\S+)× the "
          r"unrolled limit; `tfdefend\.attacks\.pgd` ran at (\S+)–(\S+)× in every process",
          [sum(t["while_rewritten"] for t in trials), len(trials), min(slow), max(slow), min(ours), max(ours)])
    assert slow and max(slow) < 0.8 < min(ours)  # the claim's direction: slow when not rewritten, ours never


def test_matrix_target_claims():
    cells = _cells()
    limit = [_ratios(c)["limit"] for c in cells if "limit" in c["seconds"]]
    def above_batch_one(attacks):
        return [_ratios(c)["limit"] for c in cells
                if "limit" in c["seconds"] and c["batch"] > 1 and c["attack"] in attacks]

    pgd, bookkeeping = above_batch_one(("pgd_linf", "pgd_l2", "mifgsm")), above_batch_one(("apgd_ce", "cw_l2"))
    check(r"missed in (\d+) of (\d+) cells \(worst (\S+)×\)\. Above batch 1, PGD and MI-FGSM reach at least (\S+)× "
          r"in every cell; APGD and C&W (\S+)–(\S+)× \(their misses: (\d+) cells\)",
          [sum(r < 0.9 for r in limit), len(limit), min(limit), min(pgd), min(bookkeeping), max(bookkeeping),
           sum(r < 0.9 for r in bookkeeping)])
    assert min(pgd) >= 0.9
    versus = [(c["attack"], _ratios(c)["cleverhans"]) for c in cells if "cleverhans" in c["seconds"]]
    others = [r for attack, r in versus if attack != "fgsm"]
    fgsm = [r for attack, r in versus if attack == "fgsm"]
    check(r"the iterative attacks met it \((\S+)× at worst\); FGSM missed in (\d+) of (\d+) cells \((\S+)× at worst\)",
          [min(others), sum(r < 1.0 for r in fgsm), len(fgsm), min(fgsm)])
    assert min(others) >= 1.0
    cw = [(_ratios(c)["art"], c["seconds"]["art"] / c["seconds"]["limit"]) for c in cells
          if c["attack"] == "cw_l2" and "art" in c["seconds"]]
    worst = min(cw)
    check(r"C&W-L2 ≥ 10× faster than ART's: met in (\d+) of (\d+) cells \((\S+)× at best\); missed on `small_cnn` at "
          r"batch 32 \((\S+)×\), where ART's time is only (\S+)× the raw limit",
          [sum(r >= 10 for r, _ in cw), len(cw), max(r for r, _ in cw), worst[0], worst[1]])
    assert worst[1] < 10  # why the miss cannot be closed: ART is within 10x of the passes themselves


def test_call_overhead_claim():
    rows = load(RESULTS + "call_overhead.json")["rows"]
    overheads = [row["overhead_ms"] for row in rows.values()]
    check(r"tensors is (\S+)–(\S+) ms for FGSM, PGD-10 L∞/L2 and MI-FGSM", [min(overheads), max(overheads)])
    assert max(overheads) < 2.0
