"""The paper's encodings: 3-digit labels, 92-wide inputs / 90-wide outputs, episodes with
phases and loss masks, per-episode relabelling, and word-level text.

Typical use::

    from dnc_qa.encoding import TraversalQuery, traversal_episode, collate
    ep = traversal_episode(graph, [TraversalQuery("a", ("x", "y"))], seed=0)
    batch = collate([ep])           # inputs [B, T, 92], targets [B, T, 90], mask [B, T]
    ep.decode_answers(outputs[0])   # names, via ep.relabelling
"""

from dnc_qa.encoding.episodes import (
    Batch,
    Episode,
    InferenceQuery,
    PhaseSpan,
    ShortestPathQuery,
    TraversalQuery,
    collate,
    description,
    inference_episode,
    shortest_path_episode,
    traversal_episode,
    traversal_path,
)
from dnc_qa.encoding.labels import (
    ANSWER_CHANNEL,
    INPUT_SIZE,
    LABEL_SIZE,
    OUTPUT_SIZE,
    PHASE_CHANNEL,
    TRIPLE_SIZE,
    LabelTriple,
    decode_labels,
    decode_triple,
    encode_label,
    encode_triple,
)
from dnc_qa.encoding.readout import candidate_scores, digit_log_probs, masked_digit_nll
from dnc_qa.encoding.relabel import Relabelling
from dnc_qa.encoding.text import TextEpisode, Vocabulary, story_episode, tokenize

__all__ = [
    "ANSWER_CHANNEL", "INPUT_SIZE", "LABEL_SIZE", "OUTPUT_SIZE", "PHASE_CHANNEL", "TRIPLE_SIZE",
    "Batch", "Episode", "InferenceQuery", "LabelTriple", "PhaseSpan", "Relabelling",
    "ShortestPathQuery", "TextEpisode", "TraversalQuery", "Vocabulary", "candidate_scores",
    "collate", "decode_labels", "decode_triple", "description", "digit_log_probs",
    "encode_label", "encode_triple", "inference_episode", "masked_digit_nll",
    "shortest_path_episode", "story_episode", "tokenize", "traversal_episode", "traversal_path",
]
