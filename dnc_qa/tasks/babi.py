"""The bAbI question-answering tasks (Weston et al. 2015) as the DNC paper sets them up.

Paper setup (Graves et al. 2016, Methods and ED Tables 1-2): each story, questions included,
is fed one word per step as a one-hot over a fixed 159-token vocabulary (156 words plus ``.``,
``?`` and ``-``). After each question the input ``-`` appears once per answer word and the
network must output that word there; the loss is the cross-entropy of those answer steps only.
Training uses the 10,000-question sets (``en-10k``), all 20 tasks jointly, with about 10% of
the training stories held out for validation; errors are reported per task on the test files.

Shapes: inputs ``[B, T, 159]`` one-hot (all zero on padding), targets ``[B, T, 159]`` one-hot
on answer steps and zero elsewhere, mask ``[B, T]`` 1.0 on answer steps. Stories are whole (the
longest, in task 3, has about 1,400 steps); a batch is padded to its longest story.

Sampling: each episode draws a task uniformly from those chosen, then one of its stories
uniformly (every task has 10,000 training questions, so tasks weigh as their question counts).
Splits: ``train`` is the first 90% of the stories of each training file, ``valid`` the last 10%
(the paper does not say which 10%), ``test`` the test file. The data folder is ``data_dir`` or
the environment variable :data:`ENV_VAR`; it holds ``en-10k/`` (and ``en/``) or is itself a
folder of ``qaN_<name>_{train,test}.txt`` files. A task missing from ``en-10k/`` (the shared copy
lacks task 3's training file) is read from ``en/`` with a note on stderr.

Metrics (:class:`~dnc_qa.tasks.base.MetricCounts`): ``accuracy`` is the fraction of stories whose
every answer word is right, ``per_step_accuracy`` the fraction of answer words that are right
(the argmax is the target word), ``bit_errors`` counts wrong answer words. The paper's per-task
error rate (a question is wrong when any of its answer words is) comes from
:func:`question_counts` and :func:`evaluate_babi`; it differs from the word error only on tasks
8 and 19, whose answers can have several words.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dnc_qa.encoding.text import SPECIAL_TOKENS, TextEpisode, Vocabulary, story_episode
from dnc_qa.errors import DncQaError
from dnc_qa.kb.babi_reader import babi_files, read_babi
from dnc_qa.tasks.base import Batch, Episode, MetricCounts, pad_episodes

ENV_VAR = "DNCQA_BABI"
"""Environment variable naming the bAbI data folder when ``data_dir`` is not given."""

NUM_TASKS = 20
SPLITS = ("train", "valid", "test")
VALID_FRACTION = 0.1
FAILED_ERROR = 0.05
"""The paper counts a task as failed when its error rate is above 5%."""

_WORDS = """
a above afraid after afternoon afterwards and antoine apple are back bathroom bedroom before
below bernhard bigger bill blue bored box brian carrying cat cats chest chocolate chocolates
cinema color container daniel did discarded do does down dropped e east either emily evening
fit fits following football fred frog from garden gave gertrude get give go got grabbed gray
green greg hallway handed he how hungry in inside is jason jeff jessica john journeyed julie
julius kitchen left lily lion longer many mary maybe mice milk morning mouse moved n no none
north not nothing objects of office one or pajamas park passed picked pink put received
rectangle red rhino right s sandra school she sheep south sphere square suitcase sumit swan
than that the then there they thirsty this three tired to took travelled triangle two up w was
went west what where white who why will winona wolf wolves yann yellow yes yesterday you
"""
VOCABULARY = Vocabulary(SPECIAL_TOKENS + tuple(sorted(_WORDS.split())))
"""The paper's 159 tokens: ``.``, ``?``, ``-`` then the 156 words of ``en/`` sorted (the same
as :meth:`Vocabulary.build` over every ``en/`` and ``en-10k/`` file)."""
VOCAB_SIZE = len(VOCABULARY)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """The bAbI folder: ``data_dir``, else ``$DNCQA_BABI``; a clear error when it is missing."""
    raw = os.fspath(data_dir) if data_dir is not None else os.environ.get(ENV_VAR, "")
    if not raw.strip():
        raise DncQaError(
            f"no bAbI data folder: pass --babi-dir DIR or set {ENV_VAR}=DIR "
            "(DIR holds en-10k/ and en/ with the qaN_*_train.txt / qaN_*_test.txt files)"
        )
    root = Path(raw).expanduser()
    if not root.is_dir():
        source = "" if data_dir is not None else f" (from ${ENV_VAR})"
        raise DncQaError(
            f"bAbI data folder {root}{source} does not exist; pass --babi-dir DIR or set "
            f"{ENV_VAR}=DIR"
        )
    return root


def task_file(root: Path, dataset: str, task: int, split: str) -> Path:
    """The ``qa{task}_*_{split}.txt`` file (``split`` is ``train`` or ``test``) under ``root``."""
    folders = [root / dataset, *([root / "en"] if dataset != "en" else []), root]
    for folder in folders:
        found = [f.path for f in babi_files(folder, split) if f.task == task]
        if found:
            if folder != folders[0] and folders[0].is_dir():
                _note(f"bAbI task {task}: no {split} file in {folders[0]}; using {found[0]}")
            return found[0]
    raise DncQaError(
        f"bAbI task {task}: no qa{task}_*_{split}.txt in {root / dataset} or {root} "
        f"(check --babi-dir / ${ENV_VAR})"
    )


@functools.cache
def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)  # once per process (cached)


@functools.lru_cache(maxsize=128)
def load_stories(path: Path) -> tuple[TextEpisode, ...]:
    """Every story of one bAbI file, encoded over :data:`VOCABULARY` (cached per process)."""
    stories = read_babi(path)
    try:
        return tuple(story_episode(s, VOCABULARY) for s in stories)
    except DncQaError as exc:
        raise DncQaError(f"{path}: {exc} (the paper's 159-token vocabulary)") from None


def split_stories(stories: tuple[TextEpisode, ...], split: str) -> tuple[TextEpisode, ...]:
    """``train``: the first 90% of a training file's stories; ``valid``: the last 10%."""
    if len(stories) < 2:
        raise DncQaError("a bAbI training file needs at least 2 stories (train and valid)")
    n_valid = math.ceil(len(stories) * VALID_FRACTION)
    return stories[-n_valid:] if split == "valid" else stories[:-n_valid]


def to_episode(story: TextEpisode) -> Episode:
    """One-hot ``[T, 159]`` inputs and targets (targets zero off the answer steps), float mask."""
    inputs = F.one_hot(story.inputs, VOCAB_SIZE).float()
    targets = F.one_hot(story.targets, VOCAB_SIZE).float() * story.mask[:, None]
    return Episode(inputs, targets, story.mask.float())


def question_counts(logits: Tensor, batch: Batch) -> tuple[int, int]:
    """``(questions, wrongly answered questions)``: a question is one run of consecutive answer
    steps, wrong when the argmax misses the target on any of them."""
    with torch.no_grad():
        answer = batch.mask > 0
        wrong = (logits.argmax(-1) != batch.targets.argmax(-1)) & answer
        previous = torch.zeros_like(answer)
        previous[:, 1:] = answer[:, :-1]
        starts = answer & ~previous
        ids = torch.cumsum(starts.flatten().long(), 0) - 1  # question index per step
        n = int(starts.sum().item())
        bad = torch.zeros(n, dtype=torch.long, device=logits.device)
        bad.index_add_(0, ids[answer.flatten()], wrong.flatten()[answer.flatten()].long())
        return n, int((bad > 0).sum().item())


@dataclass(frozen=True)
class BabiTask:
    """bAbI task ``task_id`` (1-20), or all 20 jointly (``task_id=0``, the paper's setup).

    Args:
        task_id: 0 for joint training on the 20 tasks, else one task.
        data_dir: the data folder (``None``: ``$DNCQA_BABI``); read lazily, on first use.
        split: ``train``, ``valid`` (held-out 10% of the training stories) or ``test``.
        dataset: ``en-10k`` (the paper) or ``en`` (1,000 questions per task).
    """

    task_id: int = 0
    data_dir: str | None = None
    split: str = "train"
    dataset: str = "en-10k"
    name: str = "babi"
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.task_id <= NUM_TASKS:
            raise DncQaError(f"--babi-task must be 1..{NUM_TASKS} (0: all jointly)")
        if self.split not in SPLITS:
            raise DncQaError(f"bAbI split must be one of {', '.join(SPLITS)}, not {self.split!r}")

    @property
    def input_size(self) -> int:
        return VOCAB_SIZE

    @property
    def output_size(self) -> int:
        return VOCAB_SIZE

    @property
    def task_ids(self) -> tuple[int, ...]:
        """The bAbI tasks this draws from."""
        return tuple(range(1, NUM_TASKS + 1)) if self.task_id == 0 else (self.task_id,)

    def stories(self, task: int) -> tuple[TextEpisode, ...]:
        """The encoded stories of one task in this split, in file order."""
        if "data" not in self._cache:
            self._cache["data"] = self.check_data()
        return self._cache["data"][task]

    def check_data(self) -> dict[int, tuple[TextEpisode, ...]]:
        """Read (and cache) every story this task uses; :class:`DncQaError` if any is missing."""
        root = resolve_data_dir(self.data_dir)
        data = {}
        for task in self.task_ids:
            path = task_file(root, self.dataset, task, "test" if self.split == "test" else "train")
            stories = load_stories(path)
            if self.split != "test" and len(stories) < 2:
                raise DncQaError(f"{path}: needs at least 2 stories (90% train, 10% valid)")
            data[task] = stories if self.split == "test" else split_stories(stories, self.split)
        self._cache["data"] = data
        return data

    def held_out(self) -> BabiTask:
        """The same task on the validation stories (what the trainer evaluates on)."""
        return replace(self, split="valid") if self.split == "train" else self

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """``batch_size`` stories: a task uniformly, then one of its stories uniformly."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        ids = self.task_ids
        episodes = []
        for _ in range(batch_size):
            task = ids[int(torch.randint(len(ids), (1,), generator=generator).item())]
            stories = self.stories(task)
            story = stories[int(torch.randint(len(stories), (1,), generator=generator).item())]
            episodes.append(to_episode(story))
        return pad_episodes(episodes)

    def loss(self, logits: Tensor, batch: Batch) -> Tensor:
        """Cross-entropy summed over each story's answer steps, mean over stories (nats)."""
        B, T, V = logits.shape
        ce = F.cross_entropy(
            logits.float().reshape(B * T, V), batch.targets.argmax(-1).reshape(B * T),
            reduction="none",
        )
        return (ce.view(B, T) * batch.mask).sum() / B

    def score(self, logits: Tensor, batch: Batch) -> MetricCounts:
        with torch.no_grad():
            answer = batch.mask > 0
            wrong = (logits.argmax(-1) != batch.targets.argmax(-1)) & answer
            return MetricCounts(
                episodes=logits.shape[0],
                correct_episodes=int((wrong.sum(-1) == 0).sum().item()),
                answer_steps=int(answer.sum().item()),
                correct_steps=int((answer & ~wrong).sum().item()),
                bit_errors=int(wrong.sum().item()),
                loss_sum=float(self.loss(logits, batch).item()) * logits.shape[0],
            )

    def lessons(self) -> list[BabiTask]:
        """No curriculum (the paper has none for bAbI)."""
        return [self]


class BabiScore(NamedTuple):
    """One bAbI task's results over a split: story/word counts and question counts."""

    counts: MetricCounts
    questions: int
    wrong_questions: int

    @property
    def error_rate(self) -> float:
        """The paper's error: the fraction of questions answered wrongly."""
        return self.wrong_questions / max(self.questions, 1)


@torch.no_grad()
def evaluate_babi(
    model: nn.Module,
    task: BabiTask,
    device: torch.device,
    batch_size: int = 64,
    max_stories: int | None = None,
    num_cells: int | None = None,
) -> dict[int, BabiScore]:
    """Score every story of ``task``'s split (at most ``max_stories`` per task, in file order)
    task by task, as the paper reports bAbI."""
    was_training = model.training
    model.eval()
    scores: dict[int, BabiScore] = {}
    try:
        for t in task.task_ids:
            stories = task.stories(t)[:max_stories]
            total, questions, wrong = MetricCounts(), 0, 0
            for i in range(0, len(stories), batch_size):
                chunk = stories[i : i + batch_size]
                batch = pad_episodes([to_episode(s) for s in chunk]).to(device)
                state = model.initial_state(len(chunk), device=device, num_cells=num_cells)
                logits, _ = model(batch.inputs, state)
                total = total + task.score(logits, batch)
                q, w = question_counts(logits, batch)
                questions, wrong = questions + q, wrong + w
            scores[t] = BabiScore(total, questions, wrong)
    finally:
        model.train(was_training)
    return scores


def summarize_scores(scores: dict[int, BabiScore]) -> dict[str, Any]:
    """Per-task error rates, their mean and the failed-task count (error > 5%), as fractions."""
    errors = {t: s.error_rate for t, s in scores.items()}
    return {
        "task_errors": errors,
        "mean_error": sum(errors.values()) / max(len(errors), 1),
        "failed_tasks": sum(e > FAILED_ERROR for e in errors.values()),
        "questions": sum(s.questions for s in scores.values()),
    }
