"""report.json, report.md and learning-curve PNGs of a reproduction."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from dnc_qa.reproduce.paper import PAPER
from dnc_qa.reproduce.report_data import Report

TITLES = {"traversal": "Traversal", "shortest_path": "Shortest path", "inference": "Inference"}


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def markdown(report: Report) -> str:
    b = report.budget
    lines = [
        "# DNC graph tasks: reproduction report",
        "",
        f"Budget `{b['name']}`: "
        + (f"{b['minutes']} min per run" if b["minutes"] else f"{b['steps']} steps per run")
        + f"; test map: {report.test_map}; inference: {report.family}. "
        f"Whole command: {report.wall_s / 60:.1f} min.",
        "",
        "| task | model | source | paper lessons passed | episodes | wall | held-out (last lesson) "
        "| test graph | paper (test / final lesson) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        paper = PAPER[r.task]
        ref = (f"{pct(paper.dnc)} ± {100 * paper.dnc_sd:.1f} / {pct(paper.final_lesson)}"
               if r.model == "dnc" else (pct(paper.lstm) + " (never passed lesson 1)"
                                         if r.model == "lstm" and paper.lstm else "–"))
        last = f"lesson {r.last_lesson}" if r.last_lesson else "warm-up"
        lines.append(
            f"| {TITLES[r.task]} | {r.model.upper()} | {r.source} | "
            f"{r.lessons_passed}/{r.lessons_total} | {r.episodes:,} | {r.wall_s / 60:.1f} min | "
            f"{pct(r.heldout_accuracy)} ({last}, {r.heldout_episodes} graphs) | "
            f"{pct(r.test_accuracy)} ({r.test_queries} queries) | {ref} |"
        )
    lines += ["", "Beyond the paper, on the same test queries:", "",
              "| task | baseline | held-out (final lesson) | test graph | training |",
              "|---|---|---|---|---|"]
    for x in report.baselines:
        train = f"{x.steps} steps, {x.wall_s:.0f} s" if x.steps else "none"
        lines.append(f"| {TITLES[x.task]} | {x.model} | {pct(x.heldout_accuracy)} | "
                     f"{pct(x.test_accuracy)} ({x.test_queries} queries) | {train} |")
    lines += ["", "Held-out accuracy per lesson (fresh graphs):", ""]
    for r in report.rows:
        per = ", ".join(f"{k} {pct(v)}" for k, v in r.per_lesson.items())
        lines.append(f"* {TITLES[r.task]} {r.model.upper()}: {per}")
    split = [r for r in report.rows if r.by_length.get("by_length")]
    if split:
        lines += ["", "On the lesson each reached, by length (same fresh episodes; rules that "
                  "need no memory beside the model; a lesson counts as learned only where the "
                  "model beats the best rule):", ""]
    for r in split:
        b = r.by_length
        what = {"path": "distance", "query": "relation length", "walk": "walk length"}[b["unit"]]
        rows = "; ".join(
            f"{what} {row['length']}: {pct(row['accuracy'])}"
            + "".join(f", {k} {pct(v)}" for k, v in row["rules"].items())
            + f" ({row['answers']})" for row in b["by_length"])
        verdict = ("" if b["beats_rules"] is None else
                   " - beats the best rule" if b["beats_rules"] else
                   f" - does NOT beat the best rule ({b['best_rule']} "
                   f"{pct(b['best_rule_accuracy'])})")
        lines.append(f"* {TITLES[r.task]} {r.model.upper()}, {b['lesson']}: {rows}{verdict}")
    lines += ["", "Test queries: traversal 7-step walks and shortest path 4-step pairs on the "
              "test map; inference: family-tree relations (lengths 2-5) that are among the "
              "paper's 400 relations under the best edge-digit assignment.", ""]
    lines += [f"* {n}" for n in report.notes]
    lines.append("")
    for task in {r.task for r in report.rows}:
        lines.append(f"![{TITLES[task]}](curve-{task}.png)")
    return "\n".join(lines) + "\n"


def plot_curves(report: Report, out: Path) -> list[Path]:
    """One PNG per task: training accuracy (logging windows) against minutes of training (the
    budget the models share; against episodes for curves without times)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    paths = []
    for task in dict.fromkeys(r.task for r in report.rows):
        fig, ax = plt.subplots(figsize=(6, 3.2), dpi=80)
        rows = [r for r in report.rows if r.task == task]
        timed = all(c.get("elapsed_s", 0.0) > 0 for r in rows for c in r.curve)
        for r in rows:
            if r.curve:
                xs = [c["elapsed_s"] / 60 if timed else c["episodes"] for c in r.curve]
                ax.plot(xs, [c["accuracy"] for c in r.curve], label=r.model.upper(), lw=1)
                ax2 = ax.twinx() if r.model == "dnc" else None
                if ax2 is not None:
                    levels = [c["lesson"] + 1 - r.warmup_lessons for c in r.curve]
                    ax2.step(xs, levels, color="grey", lw=0.8, ls="--", where="post")
                    ax2.set_ylim(0.5 - r.warmup_lessons, max(max(levels), 4) + 0.5)
                    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
                    ax2.set_ylabel("DNC paper lesson, dashed (<1: warm-up)")
        ax.set_xlabel("training minutes" if timed else "training episodes")
        ax.set_ylabel("episode accuracy (train)")
        ax.set_ylim(0, 1)
        ax.set_title(TITLES[task])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        path = out / f"curve-{task}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(report: Report, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(asdict(report), indent=1) + "\n",
                                     encoding="utf-8")
    plot_curves(report, out)
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
