"""Bit-vector task generators: shapes, determinism, masks and episode contents."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.errors import DncQaError
from dnc_qa.tasks import (
    TASKS,
    AssociativeRecallTask,
    CopyTask,
    PrioritySortTask,
    RepeatCopyTask,
    ReverseCopyTask,
    make_task,
)
from dnc_qa.tasks.base import concat_batches
from dnc_qa.tasks.bits import BitTask

BIT_TASKS = [name for name in TASKS if isinstance(make_task(name), BitTask)]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", BIT_TASKS)
def test_shapes_and_mask(name: str) -> None:
    task = make_task(name)
    batch = task.sample(5, gen(0))
    B, T, I = batch.inputs.shape
    assert (5, task.input_size) == (B, I)
    assert batch.targets.shape == (5, T, task.output_size)
    assert batch.mask.shape == (5, T)
    assert set(batch.mask.unique().tolist()) <= {0.0, 1.0}
    assert (batch.mask.sum(1) >= 1).all()
    # targets are zero wherever nothing is scored
    assert (batch.targets[batch.mask == 0] == 0).all()
    # no input is given while answering, except repeat copy's count channel before it
    assert (batch.inputs[batch.mask == 1] == 0).all()


@pytest.mark.parametrize("name", BIT_TASKS)
def test_same_seed_same_batch_other_seed_other_batch(name: str) -> None:
    task = make_task(name)
    a, b, c = task.sample(4, gen(3)), task.sample(4, gen(3)), task.sample(4, gen(4))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    assert not all(
        x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, c, strict=True)
    )


@pytest.mark.parametrize("name", BIT_TASKS)
def test_lessons_end_with_the_task(name: str) -> None:
    task = make_task(name)
    lessons = task.lessons()
    assert lessons[-1] == task
    sizes = [lesson.sample(8, gen(1)).inputs.shape[1] for lesson in lessons]
    assert len(lessons) >= 2 and sizes[0] < sizes[-1]


def test_copy_episode_layout() -> None:
    task = CopyTask(min_length=7, max_length=7)
    x, y, m = task.sample(1, gen(5))
    assert x.shape[1] == 2 * 7 + 2
    assert x[0, 0, 8] == 1 and x[0, 8, 9] == 1
    assert torch.equal(y[0, 9:], x[0, 1:8, :8])
    assert m[0].tolist() == [0.0] * 9 + [1.0] * 7


def test_copy_lengths_cover_the_range() -> None:
    batch = CopyTask().sample(400, gen(0))
    lengths = batch.mask.sum(1)
    assert lengths.min() == 1 and lengths.max() == 20


def test_reverse_copy_reverses() -> None:
    x, y, m = ReverseCopyTask(min_length=6, max_length=6).sample(1, gen(2))
    assert torch.equal(y[0, 8:], x[0, 1:7, :8].flip(0))
    assert m[0].sum() == 6


def test_repeat_copy_repeats_and_ends() -> None:
    task = RepeatCopyTask(min_length=3, max_length=3, min_repeats=4, max_repeats=4)
    x, y, m = task.sample(1, gen(1))
    vectors = x[0, 1:4, :8]
    assert x[0, 4, 9] == pytest.approx(0.4)
    assert torch.equal(y[0, 5:17, :8], vectors.repeat(4, 1))
    assert y[0, 17, 8] == 1 and y[0, :17, 8].sum() == 0
    assert m[0].sum() == 3 * 4 + 1


def test_associative_recall_answers_next_item() -> None:
    task = AssociativeRecallTask(min_items=4, max_items=4)
    for seed in range(5):
        x, y, m = task.sample(1, gen(seed))
        items = [x[0, i * 4 + 1 : i * 4 + 4, :6] for i in range(4)]
        query = x[0, 17:20, :6]
        q = next(i for i, item in enumerate(items) if torch.equal(item, query))
        assert q < 3
        assert torch.equal(y[0, -3:], items[q + 1])
        assert m[0].sum() == 3


def test_priority_sort_sorts_by_priority() -> None:
    task = PrioritySortTask(num_items=6, num_outputs=4)
    x, y, m = task.sample(1, gen(9))
    priority = x[0, 1:7, 8]
    order = torch.argsort(priority, descending=True)[:4]
    assert torch.equal(y[0, 8:], x[0, 1:7, :8][order])
    assert m[0].sum() == 4


def test_concat_batches_pads_time() -> None:
    a = CopyTask(min_length=2, max_length=2).sample(2, gen(0))
    b = CopyTask(min_length=5, max_length=5).sample(3, gen(0))
    c = concat_batches([a, b])
    assert c.inputs.shape == (5, 12, 10)
    assert c.mask[:2].sum() == 4 and c.mask[2:].sum() == 15
    assert (c.inputs[:2, 6:] == 0).all()


def test_all_five_bit_tasks_are_registered() -> None:
    assert len(BIT_TASKS) == 5


def test_unknown_task_suggests() -> None:
    with pytest.raises(DncQaError, match="did you mean copy"):
        make_task("cpy")
    assert make_task("repeat-copy").name == "repeat_copy"


def test_bad_task_options_are_rejected() -> None:
    with pytest.raises(ValueError):
        CopyTask(min_length=5, max_length=2)
    with pytest.raises(ValueError):
        PrioritySortTask(num_items=3, num_outputs=4)
