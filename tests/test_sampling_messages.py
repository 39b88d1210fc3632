"""Sampling settings that cannot work are refused with a message that names what is wrong."""

import math

import pytest

from seqkit.errors import DataError
from seqkit.search import check_sampling


@pytest.mark.parametrize("temperature", [math.inf, -math.inf, math.nan])
def test_non_finite_temperature_is_called_non_finite(temperature: float) -> None:
    with pytest.raises(DataError, match="finite") as caught:
        check_sampling(10, temperature, None, None)
    assert "0 (greedy) or more" not in str(caught.value)


def test_negative_temperature_keeps_its_message() -> None:
    with pytest.raises(DataError, match="0 \\(greedy\\) or more"):
        check_sampling(10, -1.0, None, None)


def test_no_prompts_give_no_continuations_and_still_check_settings() -> None:
    from seqkit.inference.generate import generate_text
    from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig

    model = RNNLanguageModel(50, RNNLMConfig())
    assert generate_text(model, None, [], max_new_tokens=5) == []
    with pytest.raises(DataError, match="temperature"):
        generate_text(model, None, [], max_new_tokens=5, temperature=-1.0)


@pytest.mark.parametrize("count", [10**9, 100_001, -1])
def test_generation_length_is_bounded_in_python_as_on_the_command_line(count: int, monkeypatch) -> None:
    from seqkit.inference.generate import generate_text
    from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig
    from seqkit.search import MAX_NEW_TOKENS

    def never(*args, **kwargs):
        raise AssertionError("generation started")

    monkeypatch.setattr("seqkit.inference.generate.generate", never)  # refused before any token is drawn
    model = RNNLanguageModel(50, RNNLMConfig())
    with pytest.raises(ValueError, match=f"max_new_tokens must be in 0..{MAX_NEW_TOKENS:,}, got {count:,}"):
        generate_text(model, None, ["the"], max_new_tokens=count)
    check_sampling(MAX_NEW_TOKENS, 1.0, None, None)
