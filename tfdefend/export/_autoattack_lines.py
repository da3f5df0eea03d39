"""The AutoAttack section of a model card, from the manifest entry's `autoattack` records."""

LEADERBOARD_COMMAND = "tfdefend leaderboard --dataset DATASET --norm NORM --eps EPS --output DIR"


def norm_text(norm):
    return "L-inf" if norm == "inf" else "L2"


def autoattack_lines(entry):
    """Markdown lines: one table row per record (attack, threat, eps, norm, n, clean, robust), and the source."""
    records = entry.get("autoattack") or []
    if not records:
        return [f"No AutoAttack figure recorded yet (measure one with `{LEADERBOARD_COMMAND}`)."]
    lines = ["| attack | attacked as | norm | eps | test images | clean | robust |", "|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['attack']} | {r.get('threat', '')} | {norm_text(r['norm'])} | {r['eps']:g} | "
                     f"{r['n']:,} | {100 * r['clean_accuracy']:.2f}% | **{100 * r['robust_accuracy']:.2f}%** |")
    sources = sorted({r["results"] for r in records if r.get("results")})
    commands = sorted({r["command"] for r in records if r.get("command")}) or [LEADERBOARD_COMMAND]
    lines += ["", "From the leaderboard results " + ", ".join(f"`{s}`" for s in sources) + ", written by:", "",
              "```sh", *commands, "```"]
    return lines
