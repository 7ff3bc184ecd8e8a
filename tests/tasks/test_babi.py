"""The bAbI task: encoding, answer-step mask, seeded sampling, scoring, joint mode, data-folder
errors, config, and ``dncqa train/eval --task babi``. Most tests use tiny bAbI-format files
written into ``tmp_path``; those on the real data skip when shared/data/babi is absent."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from dnc_qa.cli.main import main
from dnc_qa.encoding import Vocabulary
from dnc_qa.errors import DncQaError
from dnc_qa.kb.babi_reader import babi_files, read_babi
from dnc_qa.tasks.babi import ENV_VAR, VOCABULARY, BabiTask, question_counts
from dnc_qa.tasks.base import MetricCounts
from dnc_qa.tasks.registry import make_task
from dnc_qa.train.config import BabiConfig, TrainConfig

BABI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "babi"

STORY = """1 Mary moved to the bathroom.
2 Where is Mary? \tbathroom\t1
3 The office is east of the hallway.
4 How do you go from the hallway to the office?\te,s\t3
"""
STORY_TOKENS = [
    "mary", "moved", "to", "the", "bathroom", ".", "where", "is", "mary", "?", "-",
    "the", "office", "is", "east", "of", "the", "hallway", ".",
    "how", "do", "you", "go", "from", "the", "hallway", "to", "the", "office", "?", "-", "-",
]
ANSWER_STEPS = [10, 30, 31]
ANSWERS = ["bathroom", "e", "s"]
ROOMS = ["bathroom", "hallway", "kitchen", "office", "garden", "bedroom"]


def tiny_story(task: int, i: int) -> str:
    """Task ``task``'s story ``i``: ``task`` statements and one question (6*task + 5 steps)."""
    room = ROOMS[i % len(ROOMS)]
    lines = [f"{n} Mary moved to the {room}." for n in range(1, task + 1)]
    return "\n".join([*lines, f"{task + 1} Where is Mary? \t{room}\t1"]) + "\n"


def write_tiny(root: Path, tasks: range = range(1, 21), train: int = 10, test: int = 3) -> Path:
    """A bAbI-format folder ``root/en-10k`` with ``train`` and ``test`` stories per task."""
    folder = root / "en-10k"
    folder.mkdir(parents=True, exist_ok=True)
    for t in tasks:
        for split, n in (("train", train), ("test", test)):
            text = "".join(tiny_story(t, i) for i in range(n))
            (folder / f"qa{t}_tiny_{split}.txt").write_text(text)
    return root


@pytest.fixture
def story_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "en-10k"
    folder.mkdir()
    (folder / "qa1_hand_train.txt").write_text(STORY + STORY)
    (folder / "qa1_hand_test.txt").write_text(STORY)
    return tmp_path


def lengths(batch_inputs: torch.Tensor) -> list[int]:
    return [int(n) for n in (batch_inputs.sum(-1) > 0).sum(-1)]


def test_vocabulary_is_the_papers() -> None:
    assert len(VOCABULARY) == 159
    assert VOCABULARY.tokens[:3] == (".", "?", "-")
    task = make_task("babi")
    assert (task.input_size, task.output_size) == (159, 159)


def test_encodes_a_story_value_by_value(story_dir: Path) -> None:
    task = BabiTask(task_id=1, data_dir=str(story_dir), split="test")
    batch = task.sample(1, torch.Generator().manual_seed(0))
    inputs, targets, mask = (t[0] for t in batch)
    assert inputs.shape == (32, 159) and targets.shape == (32, 159) and mask.shape == (32,)
    assert torch.equal(inputs.sum(-1), torch.ones(32))  # one word per step
    assert VOCABULARY.decode(inputs.argmax(-1)) == STORY_TOKENS
    assert mask.nonzero().flatten().tolist() == ANSWER_STEPS
    assert VOCABULARY.decode(targets.argmax(-1)[ANSWER_STEPS]) == ANSWERS
    assert torch.equal(targets.sum(-1), mask)  # one-hot on answer steps, zero elsewhere


def test_mask_is_exactly_the_answer_steps(tmp_path: Path) -> None:
    task = BabiTask(data_dir=str(write_tiny(tmp_path)))
    batch = task.sample(12, torch.Generator().manual_seed(3))
    dash = VOCABULARY.index["-"]
    assert torch.equal(batch.mask, batch.inputs[..., dash])
    assert torch.equal(batch.targets.sum(-1), batch.mask)
    padding = batch.inputs.sum(-1) == 0
    assert padding.any() and not (batch.mask[padding] > 0).any()
    assert int(batch.mask.sum()) == 12  # one question per tiny story


def test_seeded_sampling_is_reproducible(tmp_path: Path) -> None:
    task = BabiTask(data_dir=str(write_tiny(tmp_path)))
    a = task.sample(6, torch.Generator().manual_seed(7))
    b = task.sample(6, torch.Generator().manual_seed(7))
    c = task.sample(6, torch.Generator().manual_seed(8))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert a.inputs.shape != c.inputs.shape or not torch.equal(a.inputs, c.inputs)


def test_scores_by_hand(story_dir: Path) -> None:
    task = BabiTask(task_id=1, data_dir=str(story_dir), split="test")
    batch = task.sample(2, torch.Generator().manual_seed(0))  # the same story twice
    perfect = batch.targets * 10.0
    counts = task.score(perfect, batch)
    assert (counts.episodes, counts.correct_episodes) == (2, 2)
    assert (counts.answer_steps, counts.correct_steps, counts.bit_errors) == (6, 6, 0)
    assert question_counts(perfect, batch) == (4, 0)
    # per answer step -log softmax = log(1 + 158 e^-10); 3 answer steps per story
    assert task.loss(perfect, batch).item() == pytest.approx(
        3 * math.log1p(158 * math.exp(-10)), rel=1e-4)

    wrong = perfect.clone()
    wrong[1, 31] = 0.0
    wrong[1, 31, VOCABULARY.index["n"]] = 10.0  # "e n" for "e s": one word, one question
    counts = task.score(wrong, batch)
    assert (counts.correct_episodes, counts.correct_steps, counts.bit_errors) == (1, 5, 1)
    assert question_counts(wrong, batch) == (4, 1)
    m = counts.summary()
    assert m.accuracy == 0.5 and m.per_step_accuracy == pytest.approx(5 / 6)

    wrong[0, 10] = 0.0  # all-zero logits: argmax 0 ('.') is not "bathroom"
    assert question_counts(wrong, batch) == (4, 2)
    assert task.score(wrong, batch).correct_episodes == 0
    wrong[1, 30] = 0.0  # both words of the same question wrong: still one wrong question
    assert question_counts(wrong, batch) == (4, 2)
    assert task.score(wrong, batch).bit_errors == 3
    # uniform logits: 3 answer steps of ln 159 nats in each story
    uniform = task.loss(torch.zeros_like(perfect), batch).item()
    assert uniform == pytest.approx(3 * math.log(159), rel=1e-5)


def test_joint_mode_mixes_tasks(tmp_path: Path) -> None:
    root = str(write_tiny(tmp_path))
    joint = BabiTask(data_dir=root).sample(120, torch.Generator().manual_seed(1))
    # task k's tiny stories are 6k + 5 steps long, so lengths tell the tasks apart
    seen = {(n - 5) // 6 for n in lengths(joint.inputs)}
    assert len(seen) >= 18 and seen <= set(range(1, 21))
    single = BabiTask(task_id=5, data_dir=root).sample(20, torch.Generator().manual_seed(1))
    assert set(lengths(single.inputs)) == {35}


def test_splits(tmp_path: Path) -> None:
    root = str(write_tiny(tmp_path, range(2, 3)))
    train = BabiTask(task_id=2, data_dir=root)
    valid = train.held_out()
    assert valid.split == "valid" and valid.held_out() == valid
    assert len(train.stories(2)) == 9 and len(valid.stories(2)) == 1
    assert len(BabiTask(task_id=2, data_dir=root, split="test").stories(2)) == 3
    # the held-out story is the training file's last (story 9: room index 3)
    tokens = VOCABULARY.decode(valid.stories(2)[0].inputs)
    assert tokens[4] == ROOMS[9 % len(ROOMS)]


def test_missing_data_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(DncQaError, match=f"--babi-dir DIR or set {ENV_VAR}"):
        BabiTask().sample(1, torch.Generator())
    with pytest.raises(DncQaError, match="nowhere.*does not exist"):
        BabiTask(data_dir=str(tmp_path / "nowhere")).check_data()
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(DncQaError, match=f"gone \\(from \\${ENV_VAR}\\) does not exist"):
        BabiTask().check_data()
    root = write_tiny(tmp_path / "some", range(1, 5))
    monkeypatch.setenv(ENV_VAR, str(root))
    assert len(BabiTask(task_id=4).stories(4)) == 9  # the variable is read
    with pytest.raises(DncQaError, match="bAbI task 5: no qa5_\\*_train.txt"):
        BabiTask().check_data()
    with pytest.raises(DncQaError, match="--babi-task must be 1..20"):
        BabiTask(task_id=21)


def test_unknown_word_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "qa1_odd_train.txt").write_text(STORY + "1 Zebra moved.\n2 Where? \tzoo\t1\n")
    with pytest.raises(DncQaError, match="qa1_odd_train.txt: word 'zebra'"):
        BabiTask(task_id=1, data_dir=str(tmp_path)).check_data()  # a flat folder of qa files


def test_missing_en10k_file_falls_back_to_en(tmp_path: Path, capsys) -> None:
    write_tiny(tmp_path, range(1, 2))
    (tmp_path / "en").mkdir()
    (tmp_path / "en-10k" / "qa1_tiny_train.txt").rename(tmp_path / "en" / "qa1_tiny_train.txt")
    assert len(BabiTask(task_id=1, data_dir=str(tmp_path)).stories(1)) == 9
    assert "using" in capsys.readouterr().err


def test_config_records_babi_and_old_configs_load() -> None:
    old = json.loads(TrainConfig(task="copy").to_json())
    del old["babi"]
    assert TrainConfig.from_dict(old).babi == BabiConfig()
    config = TrainConfig(task="babi", babi=BabiConfig(task=3, data_dir="/data/babi"))
    again = TrainConfig.from_json(config.to_json())
    assert again.babi == BabiConfig(3, "/data/babi")
    assert again.task_options() == {"task_id": 3, "data_dir": "/data/babi"}
    assert TrainConfig(task="copy", babi=BabiConfig(3)).task_options() == {}
    with pytest.raises(DncQaError, match="--babi-task"):
        TrainConfig(task="babi", babi=BabiConfig(task=-1)).validate()


TINY = [
    "--hidden-size", "8", "--num-cells", "4", "--cell-width", "4", "--batch-size", "2",
    "--no-progress", "--final-eval-episodes", "4", "--eval-episodes", "2", "--threads", "1",
]


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    threads = torch.get_num_threads()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_train_resume_and_eval(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    root = write_tiny(tmp_path / "data", range(1, 3))
    run = tmp_path / "run"
    code, out, err = run_main(
        ["train", "--task", "babi", "--babi-task", "2", "--babi-dir", str(root), "--steps", "2",
         "--out", str(run), "--json", *TINY], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert (report["task"], report["steps"], report["eval_episodes"]) == ("babi", 2, 4)
    saved = json.loads(next(run.glob("checkpoints/step-*2/config.json")).read_text())
    assert saved["babi"] == {"task": 2, "data_dir": str(root.resolve())}

    code, out, err = run_main(["train", "--out", str(run), "--resume", "--steps", "3",
                               "--json", *TINY], capsys)
    assert code == 0, err
    assert json.loads(out)["steps"] == 3

    code, out, err = run_main(["eval", str(run), "--json", "--device", "cpu"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["babi_split"] == "test" and report["episodes"] == 3
    assert list(report["task_errors"]) == ["2"] and report["questions"] == 3
    assert report["failed_tasks"] in (0, 1)
    assert report["mean_error"] == report["task_errors"]["2"]

    code, out, err = run_main(["eval", str(run), "--babi-task", "1", "--babi-split", "valid",
                               "--device", "cpu"], capsys)
    assert code == 0, err
    assert "bAbI valid error (questions)" in out and "1: " in out


@pytest.mark.parametrize(("extra", "fragment"), [
    ([], f"--babi-dir DIR or set {ENV_VAR}=DIR"),
    (["--babi-dir", "/nonexistent/babi"], "/nonexistent/babi does not exist"),
    (["--babi-task", "21", "--babi-dir", "{tmp}"], "--babi-task is out of range"),
    (["--babi-task", "7", "--babi-dir", "{tmp}"], "bAbI task 7: no qa7_*_train.txt"),
])
def test_cli_babi_user_errors(extra: list[str], fragment: str, tmp_path: Path, capsys,
                              monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    extra = [a.format(tmp=tmp_path) for a in extra]
    code, _, err = run_main(["train", "--task", "babi", "--steps", "2", "--out",
                             str(tmp_path / "run"), *extra, *TINY], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err
    assert not (tmp_path / "run").exists()


def test_trainer_evaluates_on_held_out_stories(tmp_path: Path, monkeypatch) -> None:
    from dnc_qa.train import trainer as trainer_module
    from dnc_qa.train.config import ModelConfig

    seen = []

    def spy(model, task, *args, **kwargs):
        seen.append(task.split)
        return MetricCounts(episodes=1)

    monkeypatch.setattr(trainer_module, "evaluate_counts", spy)
    config = TrainConfig(task="babi", steps=1, device="cpu", model=ModelConfig(hidden_size=4),
                         babi=BabiConfig(1, str(write_tiny(tmp_path, range(1, 2)))))
    t = trainer_module.Trainer(config, tmp_path / "run", show_progress=False)
    assert t.task.split == "train"
    t.evaluate(t.task, 4, torch.Generator())
    assert seen == ["valid"]


def test_cli_babi_options_need_the_babi_task(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["train", "--task", "copy", "--babi-task", "1", "--steps", "1",
                             "--out", str(tmp_path / "run"), *TINY], capsys)
    assert code == 2 and "apply to --task babi only" in err


def test_real_data() -> None:
    files = babi_files(BABI / "en", split="test")
    if not files:
        pytest.skip("shared/data/babi is not present beside the repository")
    stories = [s for f in babi_files(BABI / "en") for s in read_babi(f.path)]
    texts = [line.text for s in stories for line in s.lines]
    answers = [a for s in stories for q in s.questions for a in q.answers]
    assert Vocabulary.build(texts + answers) == VOCABULARY
    task = BabiTask(task_id=1, data_dir=str(BABI))
    assert [len(task.stories(1)), len(task.held_out().stories(1))] == [1800, 200]
    batch = task.sample(3, torch.Generator().manual_seed(0))
    assert batch.inputs.shape[0] == 3 and batch.inputs.shape[2] == 159
    assert int(batch.mask.sum()) == 15  # task 1: five one-word questions per story
