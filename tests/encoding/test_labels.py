"""3-digit x 10-way label encoding, 92 inputs / 90 outputs, decoding by digit mode."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.encoding import (
    INPUT_SIZE,
    OUTPUT_SIZE,
    LabelTriple,
    decode_labels,
    decode_triple,
    encode_label,
    encode_triple,
)
from dnc_qa.encoding.labels import digit_targets, encode_triples
from dnc_qa.errors import DncQaError


def test_sizes() -> None:
    assert (INPUT_SIZE, OUTPUT_SIZE) == (92, 90)
    assert encode_label(5).shape == (30,) and encode_triple(1, 2, 3).shape == (90,)


def test_label_digits_most_significant_first() -> None:
    x = encode_label(417)
    assert x.sum() == 3
    assert x[4] == 1 and x[10 + 1] == 1 and x[20 + 7] == 1
    assert encode_label(None).abs().sum() == 0


@pytest.mark.parametrize("label", [-1, 1000, 3.0, True])
def test_bad_labels(label: object) -> None:
    with pytest.raises(DncQaError):
        encode_label(label)  # type: ignore[arg-type]


def test_every_label_round_trips() -> None:
    labels = torch.arange(1000)
    enc = torch.stack([encode_triple(int(a), int(999 - a), int((a * 7) % 1000)) for a in labels])
    dec = decode_labels(enc)
    assert torch.equal(dec[:, 0], labels) and torch.equal(dec[:, 1], 999 - labels)
    assert torch.equal(dec[:, 2], (labels * 7) % 1000)


def test_blank_and_logits() -> None:
    assert decode_triple(encode_triple(12, None, 0)) == LabelTriple(12, None, 0)
    logits = torch.randn(90) * 0.01 + encode_triple(345, 6, 789) * 5
    assert decode_triple(logits) == LabelTriple(345, 6, 789)
    batch = torch.stack([encode_triple(1, 2, 3), encode_triple(None, None, 4)]).reshape(2, 1, 90)
    assert decode_labels(batch).tolist() == [[[1, 2, 3]], [[-1, -1, 4]]]
    assert digit_targets(encode_triple(123, 456, 789)).tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize("label", [-2, 1000, 10**30, 3.0, True])
def test_encode_triples_refuses_what_encode_label_refuses(label: object) -> None:
    with pytest.raises(DncQaError):
        encode_triples([(1, 2, 3), (4, label, None)])  # type: ignore[list-item]


def test_encode_triples_equals_one_triple_at_a_time() -> None:
    rows = [(0, 999, None), (None, None, None), (417, 5, 60), (-1, 7, 8)]  # -1 is blank too
    expected = torch.stack([encode_triple(*(None if v == -1 else v for v in r)) for r in rows])
    assert torch.equal(encode_triples(rows), expected)
    assert encode_triples([]).shape == (0, 90)
