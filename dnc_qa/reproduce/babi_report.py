"""``dncqa reproduce babi``: trained bAbI runs re-measured on the test split, in the layout of
the DNC paper's Extended Data Tables 1-2, beside the published numbers.

Three parts:

* **reading runs** (no torch): run folders under a results folder, their ``metrics.jsonl``
  records, CPU-hours, validation curves, the command that continues a run;
* **the table** (no torch, pure): which run fills which cell, per-column summaries, the
  JSON report, ``report.md`` and ``curves.png``;
* **evaluation** (torch, imported lazily): every question of the test files (or the first
  stories that reach ``--questions`` per task), scored as ``dncqa eval`` scores bAbI.

Errors are percentages of questions answered wrongly (a question is wrong when any of its
answer words is); a task fails when its error is above 5%.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnc_qa.errors import DncQaError
from dnc_qa.reproduce.paper import BABI_PAPER, BabiPaperResult

if TYPE_CHECKING:
    import torch

NUM_TASKS = 20
FAILED_ERROR_PCT = 5.0
"""The paper counts a task as failed when its error is above 5%."""

TASK_NAMES = {
    1: "single supporting fact", 2: "two supporting facts", 3: "three supporting facts",
    4: "two argument relations", 5: "three argument relations", 6: "yes/no questions",
    7: "counting", 8: "lists/sets", 9: "simple negation", 10: "indefinite knowledge",
    11: "basic coreference", 12: "conjunction", 13: "compound coreference",
    14: "time reasoning", 15: "basic deduction", 16: "basic induction",
    17: "positional reasoning", 18: "size reasoning", 19: "path finding",
    20: "agent's motivations",
}
"""The bAbI tasks' names (Weston et al. 2015; the ``qaN_<name>_*.txt`` files)."""

MODEL_ORDER = ("dnc", "ntm", "lstm")
BASE_MODELS = ("dnc", "lstm")
"""Models whose columns are always shown (blank where no run); others only when run."""

PAPER_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("paper-lstm", "paper LSTM (mean of 20)", "LSTM", "mean"),
    ("paper-dnc-mean", "paper DNC mean (DNC1, 20 runs)", "DNC1", "mean"),
    ("paper-dnc-best", "paper DNC best (DNC2)", "DNC2", "best"),
    ("paper-dnc-md", "DNC-MD (mean)", "DNC-MD", "mean"),
    ("paper-rsdnc", "rsDNC-bi (mean of 5)", "rsDNC-bi", "mean"),
    ("paper-sdnc", "SDNC (best of 15)", "SDNC", "best"),
)
"""``(key, header, BABI_PAPER model, "mean" or "best")`` of the paper columns."""

CHECKPOINTS = "checkpoints"
METRICS = "metrics.jsonl"


# --------------------------------------------------------------------------- reading runs


def find_runs(results: Path) -> list[Path]:
    """Every run folder (a folder holding ``checkpoints/``) under ``results``, itself
    included, sorted; linked folders are followed, run folders not searched further.
    :class:`DncQaError` when ``results`` is not a folder."""
    results = Path(results)
    if not results.is_dir():
        raise DncQaError(f"--results {results} is not a folder")
    found, seen = [], set()
    for root, dirs, _ in os.walk(results, followlinks=True):
        real = os.path.realpath(root)
        if real in seen or CHECKPOINTS in dirs:
            if real not in seen:
                found.append(Path(root))
            dirs[:] = []
        seen.add(real)
    return sorted(found)


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` (none when it is missing; a line cut short by a
    killed writer, or one without an integer ``step``, is skipped)."""
    if not Path(path).is_file():
        return []
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and type(record.get("step")) is int:
            records.append(record)
    return records


@dataclass(frozen=True)
class Segment:
    """One stretch of a run's training: from a ``start`` or ``resume`` record to the next."""

    begin_s: float
    end_s: float
    threads: int | None
    world_size: int

    @property
    def cpu_s(self) -> float | None:
        """Wall seconds x threads x processes (``None`` when the threads are unknown)."""
        if self.threads is None:
            return None
        return max(0.0, self.end_s - self.begin_s) * self.threads * self.world_size


def segments(records: Sequence[dict[str, Any]], end_step: int, end_s: float,
             default_threads: int | None = None) -> list[Segment]:
    """Split a run's training time at its ``start``/``resume`` records.

    A segment begins at the last ``elapsed_s`` logged before its record (0 for the first)
    and ends where the next begins; the last ends at ``end_s`` (the checkpoint's training
    time). Records after ``end_step`` are ignored. Threads come from a ``threads`` field of
    the record, else ``default_threads``; processes from ``world_size`` (kept across a
    resume that does not say).
    """
    marks: list[tuple[float, int | None, int]] = []
    last_s, world = 0.0, 1
    for r in records:
        if int(r.get("step", 0)) > end_step:
            continue
        if r.get("event") in ("start", "resume"):
            world = int(r.get("world_size", world))
            threads = r.get("threads", default_threads)
            marks.append((last_s, None if threads is None else int(threads), world))
        elif isinstance(r.get("elapsed_s"), int | float):
            last_s = float(r["elapsed_s"])
    if not marks:
        marks = [(0.0, default_threads, 1)]
    ends = [m[0] for m in marks[1:]] + [end_s]
    return [Segment(b, e, t, w) for (b, t, w), e in zip(marks, ends, strict=True)]


def cpu_hours(parts: Sequence[Segment]) -> float | None:
    """Total CPU-hours of the segments (``None`` when any segment's threads are unknown)."""
    seconds = [s.cpu_s for s in parts]
    if any(s is None for s in seconds):
        return None
    return sum(s for s in seconds if s is not None) / 3600


def validation_curve(records: Iterable[dict[str, Any]], batch_size: int, end_step: int,
                     ) -> list[tuple[int, float]]:
    """``(training episodes, validation error %)`` of each ``eval`` record up to
    ``end_step``: the answer-word error (100 x (1 - per_step_accuracy)) on the held-out
    stories the trainer checks; episodes = step x batch size x processes."""
    world, points = 1, []
    for r in records:
        if r.get("event") == "start":
            world = int(r.get("world_size", 1))
        step = int(r.get("step", 0))
        if r.get("event") == "eval" and step <= end_step and "per_step_accuracy" in r:
            points.append((step * batch_size * world, 100 * (1 - float(r["per_step_accuracy"]))))
    return points


def continue_command(folder: str, step: int, elapsed_s: float, by_minutes: bool,
                     threads: int | None, processes: int = 1) -> str:
    """The ``dncqa train --resume`` command that continues a run to twice its training so far
    (``--minutes``/``--steps`` count the whole run, the time already trained included), with
    the threads and processes it last ran with."""
    budget = (f"--minutes {max(1, math.ceil(2 * elapsed_s / 60))}" if by_minutes
              else f"--steps {max(1, 2 * step)}")
    options = f" --processes {processes}" if processes > 1 else ""
    options += f" --threads {threads}" if threads else ""
    return f"dncqa train --out {folder} --resume {budget}{options} --no-progress"


def stories_for_questions(per_story: Sequence[int], cap: int | None) -> int:
    """How many leading stories are scored: all when ``cap`` is ``None``, else the fewest
    whose questions reach ``cap`` (stories are never cut, so a few more may be scored)."""
    if cap is None:
        return len(per_story)
    total = 0
    for i, n in enumerate(per_story):
        total += n
        if total >= cap:
            return i + 1
    return len(per_story)


# --------------------------------------------------------------------------- the table


@dataclass
class RunResult:
    """One run re-measured: what the table and the per-run section need.

    ``babi_task`` is 1-20 for a single-task run and 0 for a joint one; ``task_errors`` are
    percentages of questions, ``questions`` the questions scored, both per task.
    """

    folder: str
    model: str
    babi_task: int
    checkpoint: str
    step: int
    episodes: int
    elapsed_s: float
    threads: int | None
    threads_source: str
    cpu_hours: float | None
    task_errors: dict[int, float]
    questions: dict[int, int]
    curve: list[tuple[int, float]] = field(default_factory=list)
    continue_command: str = ""

    @property
    def joint(self) -> bool:
        return self.babi_task == 0


def column_key(model: str, joint: bool) -> str:
    """``dnc-single``, ``lstm-joint``, ..."""
    return f"{model}-{'joint' if joint else 'single'}"


def column_label(model: str, joint: bool) -> str:
    """``DNC single-task``, ``LSTM joint``, ..."""
    return f"{model.upper()} {'joint' if joint else 'single-task'}"


def our_columns(results: Sequence[RunResult]) -> list[tuple[str, str]]:
    """``(key, header)`` of our columns: single-task then joint, DNC and LSTM always, other
    models only where they have a run."""
    kinds = [m for m in MODEL_ORDER if m in BASE_MODELS or any(r.model == m for r in results)]
    kinds += sorted({r.model for r in results} - set(kinds))
    return [(column_key(m, j), column_label(m, j)) for j in (False, True) for m in kinds]


def choose_runs(results: Sequence[RunResult]) -> dict[str, dict[int, RunResult]]:
    """Column key -> task -> the run whose number fills the cell. A single-task run fills
    its task's row, a joint run all the rows it was scored on; where two runs compete for a
    cell, the one trained on more episodes wins."""
    chosen: dict[str, dict[int, RunResult]] = {}
    for r in sorted(results, key=lambda r: (r.episodes, r.folder)):
        cells = chosen.setdefault(column_key(r.model, r.joint), {})
        if r.joint:
            cells.clear()
        for task in r.task_errors:
            cells[task] = r
    return chosen


def summarize(errors: dict[int, float]) -> dict[str, Any]:
    """Mean error (%), failed tasks (error > 5%) and the number of tasks of a column."""
    values = list(errors.values())
    return {"mean_error": sum(values) / len(values) if values else None,
            "failed": sum(e > FAILED_ERROR_PCT for e in values) if values else None,
            "tasks": len(values)}


def paper_summary(result: BabiPaperResult, statistic: str) -> dict[str, Any]:
    """A paper column's summary: the best run's or the mean's error and failed tasks."""
    if statistic == "best":
        return {"mean_error": result.best_error, "mean_error_sd": None,
                "failed": result.best_failed, "failed_sd": None, "tasks": NUM_TASKS}
    return {"mean_error": result.mean_error, "mean_error_sd": result.mean_error_sd,
            "failed": result.mean_failed, "failed_sd": result.mean_failed_sd,
            "tasks": NUM_TASKS}


def run_json(r: RunResult, in_table: bool) -> dict[str, Any]:
    """A run's entry of report.json (task numbers as strings: JSON object keys)."""
    data = asdict(r)
    data["task_errors"] = {str(t): e for t, e in sorted(r.task_errors.items())}
    data["questions"] = {str(t): n for t, n in sorted(r.questions.items())}
    data["curve"] = [list(p) for p in r.curve]
    data["mode"] = "joint" if r.joint else f"task {r.babi_task}"
    data["in_table"] = in_table
    data.update({k: v for k, v in summarize(r.task_errors).items() if k != "tasks"})
    return data


def build_report(results: Sequence[RunResult], questions_cap: int | None,
                 notes: Sequence[str] = ()) -> dict[str, Any]:
    """The whole report as JSON-ready data; ``report.md`` is drawn from it."""
    ours = our_columns(results)
    chosen = choose_runs(results)
    cells = {key: {t: r.task_errors[t] for t, r in chosen.get(key, {}).items()}
             for key, _ in ours}
    columns = [{"key": k, "header": h, "kind": "ours",
                "runs": {str(t): r.folder for t, r in sorted(chosen.get(k, {}).items())}}
               for k, h in ours]
    columns += [{"key": k, "header": h, "kind": "paper", "model": m, "statistic": s,
                 "source": BABI_PAPER[m].source} for k, h, m, s in PAPER_COLUMNS]
    rows = [{"task": t, "name": TASK_NAMES[t],
             "errors": {**{k: cells[k].get(t) for k, _ in ours},
                        **{k: None for k, *_ in PAPER_COLUMNS}}}
            for t in range(1, NUM_TASKS + 1)]
    summary = {k: summarize(cells[k]) for k, _ in ours}
    summary.update({k: paper_summary(BABI_PAPER[m], s) for k, _, m, s in PAPER_COLUMNS})
    used = {id(r) for col in chosen.values() for r in col.values()}
    return {
        "split": "test",
        "questions_per_task": questions_cap,
        "failed_error_pct": FAILED_ERROR_PCT,
        "columns": columns,
        "rows": rows,
        "summary": summary,
        "runs": [run_json(r, id(r) in used) for r in results],
        "paper": [r._asdict() for r in BABI_PAPER.values()],
        "notes": list(notes),
    }


def fmt(value: float | int | None, sd: float | None = None) -> str:
    """A table cell: blank for ``None``, integers as they are, others to one decimal."""
    if value is None:
        return ""
    text = str(value) if isinstance(value, int) else f"{value:.1f}"
    return text if sd is None else f"{text} ± {sd:.1f}"


def table_lines(report: dict[str, Any]) -> list[str]:
    """The main table: a row per task, then mean error, failed tasks and tasks measured."""
    cols = report["columns"]
    lines = ["| task | " + " | ".join(c["header"] for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for row in report["rows"]:
        cells = [fmt(row["errors"][c["key"]]) for c in cols]
        lines.append(f"| {row['task']}. {row['name']} | " + " | ".join(cells) + " |")
    s = report["summary"]
    for label, key, sd in (("**mean error (%)**", "mean_error", "mean_error_sd"),
                           ("**failed tasks (> 5%)**", "failed", "failed_sd"),
                           ("tasks measured", "tasks", None)):
        cells = [fmt(s[c["key"]][key], s[c["key"]].get(sd) if sd else None) for c in cols]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def run_lines(report: dict[str, Any]) -> list[str]:
    """Per run: what it was trained on, how long, and the command that continues it."""
    lines = ["| run | model | trained on | checkpoint step | episodes | training hours | "
             "threads | CPU-hours | test questions | mean error (%) | failed | in table |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        cpu = "" if r["cpu_hours"] is None else f"{r['cpu_hours']:.2f}"
        threads = "" if r["threads"] is None else f"{r['threads']} ({r['threads_source']})"
        lines.append(
            f"| `{r['folder']}` | {r['model'].upper()} | {r['mode']} | {r['step']:,} | "
            f"{r['episodes']:,} | {r['elapsed_s'] / 3600:.2f} | {threads} | {cpu} | "
            f"{sum(r['questions'].values()):,} | {fmt(r['mean_error'])} | {fmt(r['failed'])} | "
            f"{'yes' if r['in_table'] else 'no'} |")
    lines += ["", "To continue a run (`--minutes` / `--steps` count the whole run; these "
              "double its training so far):", "", "```bash"]
    lines += [r["continue_command"] for r in report["runs"]]
    return [*lines, "```"]


def paper_lines(report: dict[str, Any]) -> list[str]:
    """Every published number the report holds (mean error and failed tasks, 20 tasks)."""
    lines = ["| model | source | runs | best run: error / failed | mean of runs: error / "
             "failed |", "|---|---|---|---|---|"]
    for p in report["paper"]:
        best = "" if p["best_error"] is None else (
            f"{fmt(p['best_error'])} / {fmt(p['best_failed']) or '–'}")
        mean = "" if p["mean_error"] is None else (
            f"{fmt(p['mean_error'], p['mean_error_sd'])} / "
            f"{fmt(p['mean_failed'], p['mean_failed_sd']) or '–'}")
        lines.append(f"| {p['model']} | {p['source']} | {fmt(p['runs'])} | {best} | {mean} |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """``report.md``: the table, the runs, the published numbers, how each was computed."""
    cap = report["questions_per_task"]
    scope = ("every question of the test files" if cap is None else
             f"the first test stories of each task that reach {cap} questions")
    lines = [
        "# bAbI (en-10k): reproduction report",
        "",
        f"Error (% of questions, {scope}; a question is wrong when any of its answer words "
        "is) per task, next to the published results. Single-task columns: one run per "
        "task; joint columns: one run on all 20 tasks. Blank: no run, or no published "
        "per-task number.",
        "",
        *table_lines(report),
        "",
        "## Runs",
        "",
        *run_lines(report),
        "",
        "## Published numbers",
        "",
        *paper_lines(report),
        "",
        "## How the numbers are computed",
        "",
        *[f"* {n}" for n in report["notes"]],
        "",
        "![validation error against training episodes](curves.png)",
    ]
    return "\n".join(lines) + "\n"


def standard_notes(run_threads: int | None) -> list[str]:
    """What every report says about its numbers."""
    fallback = (f"runs that record none count as {run_threads} (--run-threads)"
                if run_threads else "blank where the run records none (--run-threads N "
                "supplies it)")
    return [
        "Each run is scored from its latest checkpoint (`checkpoints/latest`) on the bAbI "
        "test split, as `dncqa eval RUN --json` scores it (`task_errors`).",
        "Mean error and failed tasks of a single-task column are over the tasks that have a "
        "run (row 'tasks measured'); the paper's are over all 20 tasks of one jointly "
        "trained model.",
        "Paper columns: the summary rows only; the per-task numbers of the DNC paper's ED "
        "Table 1 are not in the setups this report copies from "
        "(`dnc_qa/reproduce/paper.py`, from `shared/spec/paper-setups.md`).",
        "Training hours: the checkpoint's training time (resumed runs included). CPU-hours: "
        "the run's `metrics.jsonl` cut at each `start`/`resume` record, each part's "
        "elapsed training time x its torch threads x its processes (threads from the "
        f"record's `threads` field; {fallback}).",
        "Curves: the trainer's validation checks (`eval` records of `metrics.jsonl`: "
        "answer-word error on the held-out 10% of the training stories) against training "
        "episodes (step x batch size x processes).",
    ]


def plot_curves(report: dict[str, Any], path: Path) -> Path:
    """``curves.png``: validation error against training episodes, one line per run; one
    panel for the single-task runs and one for the joint runs (colour: task; line: model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(title, [r for r in report["runs"] if r["curve"] and (r["babi_task"] == 0) == j])
              for title, j in (("single-task runs", False), ("joint runs (20 tasks)", True))]
    panels = [p for p in panels if p[1]] or [("runs", [])]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.8), dpi=80,
                             squeeze=False)
    styles = {"dnc": "-", "lstm": "--"}
    colours = plt.get_cmap("tab10")
    for ax, (title, runs) in zip(axes[0], panels, strict=True):
        tasks = sorted({r["babi_task"] for r in runs})
        for r in runs:
            xs, ys = zip(*r["curve"], strict=True)
            label = f"{r['model'].upper()} {r['mode']}"
            ax.plot(xs, ys, lw=1, ls=styles.get(r["model"], ":"), label=label,
                    color=colours(tasks.index(r["babi_task"]) % 10),
                    marker="." if len(xs) < 20 else None)
        xs_all = [x for r in runs for x, _ in r["curve"] if x > 0]
        if xs_all and max(xs_all) > 100 * min(xs_all):
            ax.set_xscale("log")
        ax.axhline(FAILED_ERROR_PCT, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("training episodes (stories)")
        ax.set_ylabel("validation error (% of answer words)")
        ax.set_ylim(0, 100)
        ax.set_title(f"bAbI: {title}")
        if runs:
            ax.legend(fontsize=7, loc="upper right", ncol=2)
        else:
            ax.text(0.5, 0.5, "no validation checks recorded", ha="center",
                    transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], out: Path) -> None:
    """``report.json`` (strict JSON), ``report.md`` and ``curves.png`` in ``out``."""
    from dnc_qa.jsonout import dumps

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(dumps(report, indent=1) + "\n", encoding="utf-8")
    plot_curves(report, out / "curves.png")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")


# --------------------------------------------------------------------------- evaluation


@dataclass
class LoadedRun:
    """A run's model and what the report needs of its checkpoint and metrics."""

    folder: Path
    model: torch.nn.Module
    kind: str
    babi_task: int
    checkpoint: Path
    step: int
    episodes: int
    elapsed_s: float
    batch_size: int
    by_minutes: bool
    data_dir: str | None
    records: list[dict[str, Any]]


def load_run(folder: Path, device: torch.device) -> LoadedRun | None:
    """The run's latest checkpoint, loaded and checked (``None`` for a run of another task);
    a missing or corrupt checkpoint is a :class:`DncQaError`."""
    from dnc_qa.train.checkpoint import CONFIG, latest_checkpoint, read_config
    from dnc_qa.train.evaluate import load_trained_model

    path = latest_checkpoint(folder)
    if path is None:
        raise DncQaError(f"{folder} holds no checkpoint ({folder / CHECKPOINTS}/latest)")
    if read_config(path / CONFIG).task != "babi":
        return None
    model, ckpt = load_trained_model(path, device)
    state, config = ckpt.trainer, ckpt.config
    return LoadedRun(folder, model, config.model.kind, config.babi.task, path, state.step,
                     state.episodes, state.elapsed_s, config.batch_size,
                     config.minutes is not None, config.babi.data_dir,
                     read_records(folder / METRICS))


def data_folder(babi_dir: Path | None, run: LoadedRun) -> str | None:
    """The data folder to score on: ``--babi-dir``, else ``$DNCQA_BABI``, else the one the
    run recorded."""
    from dnc_qa.tasks.babi import ENV_VAR

    if babi_dir is not None:
        return str(babi_dir)
    return os.environ.get(ENV_VAR) or run.data_dir


def stories_to_score(run: LoadedRun, babi_dir: Path | None, cap: int | None) -> dict[int, tuple]:
    """Task -> the test stories to score (all, or the first that reach ``cap`` questions)."""
    from dnc_qa.tasks.babi import BabiTask

    task = BabiTask(task_id=run.babi_task, data_dir=data_folder(babi_dir, run), split="test")
    data = task.check_data()
    return {t: s[:stories_for_questions([len(x.answers) for x in s], cap)]
            for t, s in data.items()}


def score_stories(model: torch.nn.Module, stories: Sequence, device: torch.device,
                  batch_size: int, advance: Callable[[int], None]) -> tuple[int, int]:
    """``(questions, wrongly answered questions)`` over ``stories``, in padded batches;
    ``advance(n)`` after each batch of ``n`` stories."""
    import torch

    from dnc_qa.tasks.babi import question_counts, to_episode
    from dnc_qa.tasks.base import pad_episodes

    was_training = model.training
    model.eval()
    questions = wrong = 0
    try:
        with torch.no_grad():
            for i in range(0, len(stories), batch_size):
                chunk = stories[i:i + batch_size]
                batch = pad_episodes([to_episode(s) for s in chunk]).to(device)
                state = model.initial_state(len(chunk), device=device)
                logits, _ = model(batch.inputs, state)
                q, w = question_counts(logits, batch)
                questions, wrong = questions + q, wrong + w
                advance(len(chunk))
    finally:
        model.train(was_training)
    return questions, wrong


def measure(run: LoadedRun, stories: dict[int, tuple], device: torch.device, batch_size: int,
            run_threads: int | None, advance: Callable[[int], None]) -> RunResult:
    """Score one run on its test stories and gather its numbers."""
    errors, questions = {}, {}
    for task, task_stories in sorted(stories.items()):
        q, w = score_stories(run.model, task_stories, device, batch_size, advance)
        errors[task], questions[task] = 100 * w / max(q, 1), q
    parts = segments(run.records, run.step, run.elapsed_s, run_threads)
    recorded = {p.threads for p in parts}
    threads = next(iter(recorded)) if len(recorded) == 1 else None
    source = ("recorded" if any("threads" in r for r in run.records
                                if r.get("event") in ("start", "resume"))
              else "--run-threads")
    return RunResult(
        folder=str(run.folder), model=run.kind, babi_task=run.babi_task,
        checkpoint=str(run.checkpoint), step=run.step, episodes=run.episodes,
        elapsed_s=round(run.elapsed_s, 3), threads=threads, threads_source=source,
        cpu_hours=cpu_hours(parts), task_errors=errors, questions=questions,
        curve=validation_curve(run.records, run.batch_size, run.step),
        continue_command=continue_command(str(run.folder), run.step, run.elapsed_s,
                                          run.by_minutes, parts[-1].threads,
                                          parts[-1].world_size),
    )


def reproduce_babi(results: Path, out: Path, babi_dir: Path | None = None,
                   questions: int | None = None, device: str = "cpu", batch_size: int = 64,
                   run_threads: int | None = None, progress: bool = True,
                   log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Find, load and check every bAbI run under ``results``, score each on the test split,
    write ``report.md``, ``report.json`` and ``curves.png`` to ``out``; return the report.

    Every run is loaded and its test data read before any is scored, so bad input fails
    before the long part.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from dnc_qa.device import resolve_device

    dev = resolve_device(device)
    folders = find_runs(results)
    runs: list[LoadedRun] = []
    notes = standard_notes(run_threads)
    for folder in folders:
        run = load_run(folder, dev)
        if run is None:
            log(f"skipping {folder}: not a bAbI run")
            notes.append(f"Skipped `{folder}`: not a bAbI run.")
        else:
            runs.append(run)
    if not runs:
        raise DncQaError(f"no bAbI runs under {results} (a run folder holds checkpoints/ "
                         "from dncqa train --task babi)")
    plan = [(run, stories_to_score(run, babi_dir, questions)) for run in runs]
    total = sum(len(s) for _, stories in plan for s in stories.values())
    measured = []
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("stories"), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), disable=not progress)
    with bar:
        job = bar.add_task("bAbI test", total=total)
        for run, stories in plan:
            bar.update(job, description=f"{run.folder.name}")
            measured.append(measure(run, stories, dev, batch_size, run_threads,
                                    lambda n: bar.advance(job, n)))
    report = build_report(measured, questions, notes)
    write_report(report, Path(out))
    return report
