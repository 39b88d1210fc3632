"""Sentence splitting: boundaries, abbreviations, markup, limits."""

from __future__ import annotations

import pytest

from seqkit.data.sentences import SentenceSplitter, keep_mask


@pytest.mark.parametrize(("text", "expected"), [
    ("Hi Mr. Smith. I live in the U.S. now.", ["Hi Mr. Smith.", "I live in the U.S. now."]),
    ("It costs 3.50 dollars. Cheap!", ["It costs 3.50 dollars.", "Cheap!"]),
    ("Pasta, e.g. the lasagna. Also i.e. good.", ["Pasta, e.g. the lasagna.", "Also i.e. good."]),
    ("J. K. Rowling wrote it. Dr. Who watched.", ["J. K. Rowling wrote it.", "Dr. Who watched."]),
    ("Line one<br /><br />Line two.<BR>Three", ["Line one", "Line two.", "Three"]),
    ("First paragraph\n\nSecond one", ["First paragraph", "Second one"]),
    ('He said "great food." Then left.', ['He said "great food."', "Then left."]),
    ("I waited... and waited. Really?! Yes.", ["I waited...", "and waited.", "Really?!", "Yes."]),
    ("sake for $3...Great place", ["sake for $3...", "Great place"]),
    ("Wait for it\u2026 Bad.", ["Wait for it\u2026", "Bad."]),
    ("No punctuation at all", ["No punctuation at all"]),
    ("I had 2 eggs and  6 fries; 7.5 out of 10. Ok", ["I had 2 eggs and  6 fries; 7.5 out of 10.", "Ok"]),
    ("", []),
    ("   \n  ", []),
])
def test_split_cases(text, expected):
    assert SentenceSplitter().split(text) == expected


def test_batch_is_the_same_as_one_by_one():
    texts = ["A b. C d.", "", "One.<br />Two? Three!", "x"]
    splitter = SentenceSplitter()
    assert splitter.split_batch(texts) == [splitter.split(t) for t in texts]


def test_newlines_can_be_kept_inside_sentences():
    assert SentenceSplitter(split_on_newlines=False).split("one\ntwo. Three") == ["one\ntwo.", "Three"]


def test_long_sentences_are_cut_into_pieces_of_max_words():
    out = SentenceSplitter(max_words=3).split("one two three four five six seven. a b.")
    assert out == ["one two three", "four five six", "seven.", "a b."]


@pytest.mark.parametrize(("truncation", "expected"), [
    ("head", ["a.", "b.", "c.", "d."]),
    ("tail", ["d.", "e.", "f.", "g."]),
    ("head+tail", ["a.", "e.", "f.", "g."]),
])
def test_max_sentences_keeps_head_tail_or_both(truncation, expected):
    splitter = SentenceSplitter(max_sentences=4, truncation=truncation)
    assert splitter.split_batch(["a. b. c. d. e. f. g.", "x. y."]) == [expected, ["x.", "y."]]


def test_keep_mask_matches_the_limit():
    mask = keep_mask([2, 7], 4, "head+tail")
    assert mask.tolist() == [True, True, True, False, False, False, True, True, True]


def test_custom_abbreviations():
    assert SentenceSplitter(abbreviations=["approx"]).split("It is approx. ten. Ok.") == ["It is approx. ten.", "Ok."]
    assert SentenceSplitter(abbreviations=[]).split("Ask Mr. X.") == ["Ask Mr.", "X."]


@pytest.mark.parametrize("bad", [{"max_sentences": 0}, {"max_words": 0}, {"truncation": "middle"}])
def test_bad_limits_are_refused(bad):
    with pytest.raises(ValueError):
        SentenceSplitter(**bad)
