"""Every tutorial script runs on real data, draws its figures and prints its results (each runs once a session)."""

from __future__ import annotations

import re

import pytest

from tests.docs.conftest import runner

#: The line each tutorial must print: the result its page is about. Tutorials not listed must print something.
KEY_LINES = {
    "01_rnn_from_scratch": r"same weights, same outputs: max \|scratch - fused\| = \d\.\de-0[5-9]"
                           r"(.|\n)*fused speed-up: Elman \d+\.\dx .* LSTM \d+\.\dx",
    "02_bptt": r"truncated \(state detached\) +\|dL\(chunk 2\)/d\(chunk 1 inputs\)\| = 0\.00e\+00"
               r"(.|\n)*Elman +\|\|dL/dh_t\|\|",
    # both inputs learn the task (validation accuracy 0.6 or more; chance is 0.5)
    "03_embeddings": r"one-hot +2,000( +[\d,.]+){4} +0\.[6-9]\d\d\nembedding 32 +32( +[\d,.]+){4} +0\.[6-9]\d\d"
                     r"(.|\n)*embeddings: \d+\.\dx fewer trainable parameters, \d+\.\dx the training steps per second"
                     r"(.|\n)*  best +\S+, \S+",
    "04_bidirectional_stacked": r"known to about \+-0\.0\d\d, 95% interval"
                                r"(.|\n)*2 layers, bidirectional +[\d,]+ +\d+\.\d +0\.[6-9]\d\d",
    "05_attention_translation": r"Luong \(general\) +250( +[\d.]+){3}",
    "06_hierarchical_attention": r"validation accuracy 0\.\d{3} \(5 classes",
    "07_transfer_learning": r"best: LM \+ ULMFiT schedule 0\.\d{3}, LM \+ plain fine-tuning 0\.\d{3}, "
                            r"from scratch 0\.\d{3}",
    "08_text_generation": r"top-p 0\.9( +[\d.]+){4}",
    # the enumeration equals CTC's forward algorithm; the bidirectional model transcribes (WER under 0.5); a
    # forward-only model's past outputs do not move when the future changes
    "09_speech_ctc": r"by enumeration (0\.\d{6}), by CTC's forward algorithm \1"
                     r"(.|\n)*bidirectional +GRU 2x64: test WER 0\.[0-4]\d\d"
                     r"(.|\n)*forward only +largest change of the outputs before the changed frames: 0\.00e\+00",
    # a missing data item stops the run; all three tasks log their full metrics from plain DataModules
    "10_own_data": r"without data_info\(\): DataError: Seq2SeqTranslator's BLEU needs the data's target_tokenizer"
                   r"(.|\n)*language model +\d+ +[\d.]+ +val_ppl [\d.]+ +val_word_ppl [\d.]+"
                   r"(.|\n)*sentiment classifier +\d+ +[\d.]+ +val_acc 0\.[6-9]\d\d +val_f1 0\.\d+"
                   r"(.|\n)*translator +\d+ +[\d.]+ +val_bleu [1-9]\d?\.\d+",
}

SCRIPTS = runner.tutorial_scripts()


def test_every_tutorial_has_a_page_in_the_site() -> None:
    assert SCRIPTS, "no tutorial scripts found"
    for script in SCRIPTS:
        page = script.with_suffix(".md")
        assert page.is_file(), f"{script.name} has no page {page.name}"
        text = page.read_text()
        assert f"generated/{script.stem}.txt" in text, f"{page.name} does not include the script's output"
        assert f"generated/{script.stem}" in text.replace(f"generated/{script.stem}.txt", ""), (
            f"{page.name} shows none of the script's figures")


@pytest.mark.slow
@pytest.mark.tutorial
@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_tutorial_runs(script, tutorials) -> None:
    run = tutorials.run(script)
    assert run.figures, f"{script.name} wrote no {script.stem}*.png into --out"
    for figure in run.figures:
        assert figure.stat().st_size > 5_000, f"{figure.name} looks empty"
    assert run.stdout.strip(), f"{script.name} printed nothing"
    pattern = KEY_LINES.get(script.stem)
    if pattern:
        assert re.search(pattern, run.stdout), f"{script.name}'s output lacks its key result:\n{run.stdout}"
    assert "nan" not in run.stdout.lower().split(), f"{script.name} printed NaN:\n{run.stdout}"
