"""Blank inputs get a marked empty result in their place, never a confident prediction (seqkit.inference.blank)."""

from __future__ import annotations

import pytest
import torch

from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
from seqkit.inference.blank import is_blank_tree
from seqkit.inference.classify import iter_classify
from seqkit.tasks import SequenceClassifier


@pytest.mark.parametrize(("text", "blank"), [
    ("", True), ("  \t", True), ("()", True), ("(2 )", True), ("( 2 )", True), ("(3 (2 ) (1 ))", True),
    ("(2 film)", False), ("(2 3)", False), ("(film)", False), ("2", False), ("a film", False), ("(", False),
])
def test_a_tree_is_blank_when_its_brackets_hold_no_word(text, blank):
    assert is_blank_tree(text) is blank


def test_blank_texts_keep_their_place_with_no_label():
    torch.manual_seed(0)
    tokenizer = train_tokenizer(TokenizerConfig(kind="word", vocab_size=40), [["a good film", "a dull film"]])
    module = SequenceClassifier(tokenizer.vocab_size, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8}})
    module.hparams["label_names"] = ["negative", "positive"]
    done: list[int] = []
    records = list(iter_classify(module, tokenizer, ["", "a good film", "   ", "\n"], 2, None, "head",
                                 progress=done.append))
    assert records[0] == records[2] == records[3] == {"label": None, "probabilities": None, "blank": True,
                                                      "label_name": None}
    assert records[1]["label"] in (0, 1) and len(records[1]["probabilities"]) == 2
    assert sum(done) == 4
    assert list(iter_classify(module, tokenizer, [" "], 2, None, "head")) == [{"label": None, "probabilities": None,
                                                                             "blank": True, "label_name": None}]
