"""CTC decoding against hand-worked examples: blanks, repeats, merged alignments, beam width 1."""

from __future__ import annotations

import math

import pytest
import torch

from seqkit.errors import DataError
from seqkit.search import ctc_greedy_decode, ctc_prefix_beam_search

BLANK, A, B = 0, 1, 2


def peaked(path: list[int], vocab: int = 3, high: float = 0.9) -> torch.Tensor:
    """Log-probabilities ``(1, T, V)`` putting ``high`` on ``path[t]`` at step ``t``, the rest spread evenly."""
    low = (1 - high) / (vocab - 1)
    probs = torch.full((1, len(path), vocab), low)
    for t, label in enumerate(path):
        probs[0, t, label] = high
    return probs.log()


def test_greedy_collapses_repeats_and_drops_blanks():
    # a a _ a b b _  ->  a a b: a repeat counts twice only with a blank between
    found = ctc_greedy_decode(peaked([A, A, BLANK, A, B, B, BLANK]))[0]
    assert found.tokens == [A, A, B]
    assert found.frames == [0, 3, 4]
    assert found.log_prob == pytest.approx(7 * math.log(0.9), abs=1e-5)


def test_greedy_respects_lengths_and_all_blank_is_empty():
    log_probs = torch.cat([peaked([A, BLANK, B, B]), peaked([BLANK, BLANK, BLANK, A])])
    found = ctc_greedy_decode(log_probs, torch.tensor([4, 3]))
    assert [h.tokens for h in found] == [[A, B], []]
    assert found[1].log_prob == pytest.approx(3 * math.log(0.9), abs=1e-5)


def test_prefix_search_sums_the_alignments_of_a_labelling():
    # Two steps over {blank, a, b}: P(step 1) = (.25, .40, .35), P(step 2) = (.30, .30, .40).
    # Best path a,b -> "ab" (p .16); but "b" = bb + b_ + _b = .14 + .105 + .10 = .345 beats "a" = .12 + .12 + .075
    # = .315 and "ab" = .16: prefix search must return "b" with probability .345.
    log_probs = torch.tensor([[[0.25, 0.40, 0.35], [0.30, 0.30, 0.40]]]).log()
    assert ctc_greedy_decode(log_probs)[0].tokens == [A, B]
    best = ctc_prefix_beam_search(log_probs, beam_size=3)[0]
    assert best.tokens == [B]
    assert math.exp(best.log_prob) == pytest.approx(0.345, abs=1e-6)
    # Width 1 keeps only the best prefix after step 1 ("a", .40): it then returns "a" (.315), not the best labelling
    assert ctc_prefix_beam_search(log_probs, beam_size=1)[0].tokens == [A]


def test_prefix_search_probability_of_a_repeat_needs_a_blank():
    # P("aa") over three steps needs a _ a: .5 * .5 * .5; "a" collects every other alignment of a's and blanks
    log_probs = torch.full((1, 3, 2), 0.5).log()  # {blank, a}
    found = {tuple(h.tokens): math.exp(h.log_prob) for h in ctc_prefix_beam_search(log_probs, beam_size=4)}
    assert found == {(A,): pytest.approx(0.75)}  # the best of "", "a" (6/8), "aa" (1/8)


@pytest.mark.parametrize("path", [[A, A, BLANK, A, B, B, BLANK], [BLANK, B, BLANK, B, A], [A, B, A, B, BLANK]])
def test_beam_equals_greedy_at_width_one_on_peaked_outputs(path):
    log_probs = peaked(path)
    greedy = ctc_greedy_decode(log_probs)[0]
    beam = ctc_prefix_beam_search(log_probs, beam_size=1)[0]
    assert beam.tokens == greedy.tokens and beam.frames == greedy.frames
    wide = ctc_prefix_beam_search(log_probs, beam_size=8)[0]
    assert wide.tokens == greedy.tokens and wide.log_prob >= beam.log_prob - 1e-9


def test_batches_decode_row_by_row_and_bad_width_is_refused():
    rows = [peaked([A, BLANK, B]), peaked([B, B, B])]
    batch = ctc_prefix_beam_search(torch.cat(rows), torch.tensor([3, 2]), beam_size=4)
    assert [h.tokens for h in batch] == [[A, B], [B]]
    with pytest.raises(DataError, match="beam_size"):
        ctc_prefix_beam_search(rows[0], beam_size=0)
