"""Language modelling: stream layout, truncated BPTT state carrying, generation, and the tiny recipe."""

from __future__ import annotations

import csv

import pytest
import torch

from seqkit.cli import main
from seqkit.data.language_modeling import BPTTChunks, StreamChunks, stream_rows
from seqkit.data.options import Splits
from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig
from seqkit.search import generate, sample_next
from seqkit.threads import cpu_runs_lstm_in_bf16
from tests.helpers import REPO

TINY = str(REPO / "recipes" / "lm" / "tiny.yaml")


def _model(cell: str, **kwargs) -> RNNLanguageModel:
    torch.manual_seed(0)
    settings = {"embedding_dim": 16, "hidden_size": 24, "num_layers": 2, "cell": cell, "dropout": 0.3,
                "dropout_input": 0.3, "dropout_hidden": 0.3, "dropout_embedding": 0.1, "weight_drop": 0.3}
    return RNNLanguageModel(50, RNNLMConfig(**{**settings, **kwargs}))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_chunks_with_carried_state_equal_the_whole_sequence(cell):
    model = _model(cell).eval()
    ids = torch.randint(0, 50, (3, 60))
    whole, _, _ = model(ids)
    state, pieces = None, []
    for start in range(0, 60, 17):  # uneven chunks, as with variable BPTT
        output, state, _ = model(ids[:, start : start + 17], state)
        pieces.append(output)
    torch.testing.assert_close(model.logits(torch.cat(pieces, 1)), model.logits(whole), rtol=1e-5, atol=1e-5)


def test_stream_layout_and_chunks_cover_the_stream_in_order():
    tokens = torch.arange(103)
    rows = stream_rows(tokens, rows=4)
    assert rows.shape == (4, 25) and rows[1, 0] == 25  # contiguous rows
    chunks = list(BPTTChunks(rows.shape[1], bptt=10))
    assert chunks == [(0, 10), (10, 10), (20, 4)]
    data = StreamChunks(rows)
    batch = data[chunks[1]]
    assert torch.equal(batch["target_ids"], batch["input_ids"] + 1)
    # Under DDP each rank owns contiguous rows; together they are the single-process layout with 2x rows.
    ranks = [stream_rows(tokens, rows=2, rank=r, world_size=2) for r in range(2)]
    assert torch.equal(torch.cat(ranks), rows)


def test_variable_bptt_is_seeded_per_epoch_and_covers_everything():
    sampler = BPTTChunks(1000, bptt=35, variable=True, seed=1)
    first = list(sampler)
    assert sum(length for _, length in first) == 999 and all(s + n <= 999 for s, n in first)
    assert list(BPTTChunks(1000, bptt=35, variable=True, seed=1)) == first  # same on every rank
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_sampling_filters():
    logits = torch.tensor([[0.0, 1.0, 5.0, 2.0]])
    assert sample_next(logits, temperature=0).item() == 2
    generator = torch.Generator().manual_seed(0)
    draws = {sample_next(logits, top_k=2, generator=generator).item() for _ in range(50)}
    assert draws <= {2, 3}
    draws = {sample_next(logits, top_p=0.5, generator=generator).item() for _ in range(50)}
    assert draws == {2}


def test_generation_is_reproducible_with_a_seed_and_batched_equals_single():
    model = _model("lstm")
    prompts = [[1, 2, 3], [4, 5], [6, 7, 8]]
    run = lambda ps, seed: torch.stack(list(generate(model, ps, 12, temperature=1.0, top_k=20, seed=seed)), 1)  # noqa: E731
    first, again = run(prompts, 7), run(prompts, 7)
    assert torch.equal(first, again)
    assert not torch.equal(first, run(prompts, 8))
    greedy = torch.stack(list(generate(model, prompts, 8, temperature=0)), 1)
    for index, prompt in enumerate(prompts):
        alone = torch.stack(list(generate(model, [prompt], 8, temperature=0)), 1)
        assert torch.equal(alone[0], greedy[index])


@pytest.mark.slow
def test_tiny_recipe_perplexity_falls(data_root, tmp_path):
    run = tmp_path / "lm"
    code = main(["fit", "--config", TINY, "--run_dir", str(run), "--trainer.max_epochs", "3",
                 "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"])
    assert code == 0
    rows = [r for r in csv.DictReader((run / "metrics.csv").open()) if r.get("val_ppl")]
    ppl = [float(r["val_ppl"]) for r in rows]
    print("tiny LM validation perplexity by epoch:", [round(p, 1) for p in ppl])
    assert len(ppl) == 3 and ppl[0] > ppl[1] > ppl[2]
    assert ppl[-1] < 1000  # from ~5,900 (the vocabulary size) for an untrained model
    assert all(float(r["val_word_ppl"]) == pytest.approx(float(r["val_ppl"])) for r in rows)  # word level


def test_adaptive_softmax_option_gives_normalised_log_probabilities():
    config = RNNLMConfig(embedding_dim=8, hidden_size=8, num_layers=1, adaptive_softmax_cutoffs=[10, 30],
                         weight_drop=0.0)
    model = RNNLanguageModel(50, config).eval()
    output, _, _ = model(torch.randint(0, 50, (2, 5)))
    log_probs = model.logits(output)
    assert log_probs.shape == (2, 5, 50)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 5))
    targets = torch.randint(0, 50, (2, 5))
    expected = -log_probs.gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(model.loss(output, targets), expected)


@pytest.mark.parametrize("cell", [
    pytest.param("lstm", marks=pytest.mark.skipif(not cpu_runs_lstm_in_bf16(), reason="no bf16 LSTM on this CPU")),
    "rnn", "mingru"])
def test_adaptive_softmax_trains_under_bf16_autocast(cell):
    # A fused layer's output is bfloat16 under autocast (a scan cell's stays float32), while the adaptive softmax's
    # clusters compute in bfloat16.
    config = RNNLMConfig(embedding_dim=8, hidden_size=8, num_layers=1, cell=cell, adaptive_softmax_cutoffs=[10, 30],
                         weight_drop=0.0)
    model = RNNLanguageModel(50, config)
    ids, targets = torch.randint(0, 50, (2, 5)), torch.randint(0, 50, (2, 5))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output, _, _ = model(ids)
        loss = model.loss(output, targets)
        log_probs = model.logits(output)
    loss.backward()
    assert torch.isfinite(loss) and log_probs.shape == (2, 5, 50)
    assert model.embedding.weight.grad is not None


def test_weight_tying_shares_the_embedding():
    model = _model("lstm")
    assert model.decoder.weight is model.embedding.weight
    assert model.layers[-1].hidden_size == 16  # the last layer is sized to the embedding for tying


def test_subword_streams_report_per_word_perplexity(data_root):
    from seqkit.data import DataSource, LanguageModelingDataModule, TokenizerConfig

    module = LanguageModelingDataModule(
        DataSource(name="wikitext2"), TokenizerConfig(kind="bpe", vocab_size=2000), splits=Splits(max_rows=400),
    )
    module.setup("fit")
    words = module.words["train"]
    assert words == sum(len(t.split()) + 1 for t in module.raw["train"]["text"])  # words plus one <eos> per line
    assert module.tokens_per_word("train") == module.streams["train"].numel() / words > 1.0


@pytest.mark.slow
def test_generate_command_streams_reproducible_text(data_root, tmp_path, capsys):
    run = tmp_path / "lm"
    assert main(["fit", "--config", TINY, "--run_dir", str(run), "--trainer.max_epochs", "1",
                 "--trainer.limit_train_batches", "20", "--trainer.enable_progress_bar", "false",
                 "--trainer.enable_model_summary", "false"]) == 0
    capsys.readouterr()
    args = ["generate", "--checkpoint", str(run), "--prompt", "the company said", "--max_new_tokens", "15",
            "--seed", "3", "--top_k", "40"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and first.startswith("the company said ")
    assert len(first.split()) >= 3 + 10  # prompt plus the generated words (<eos> prints as a line break)


def test_learning_rate_scales_with_chunk_length_and_is_restored(data_root, tmp_path):
    from seqkit.data import DataInfo
    from seqkit.tasks.language_modeling import LanguageModel

    module = LanguageModel(50, network={"embedding_dim": 8, "hidden_size": 8, "num_layers": 1, "weight_drop": 0.0},
                           scale_lr_by_length=True)
    optimizer = torch.optim.SGD(module.parameters(), lr=30.0)
    seen = []
    module.optimizers = lambda use_pl_optimizer=True: optimizer  # no Trainer: hand the optimizer over directly
    module.attach_data(DataInfo(bptt=70))
    module._scale_lr(35)
    seen.append(optimizer.param_groups[0]["lr"])
    module.on_train_batch_end(None, None, 0)
    assert seen == [15.0] and optimizer.param_groups[0]["lr"] == 30.0


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_streaming_detokenizer_prints_each_piece_once(kind):
    from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
    from seqkit.inference.generate import StreamingDetokenizer

    texts = ["the company said it will buy the unit", "shares rose 5 % in early trading"] * 30
    tokenizer = train_tokenizer(TokenizerConfig(kind=kind, vocab_size=300), [texts])
    ids = tokenizer.encode("it will buy") + [tokenizer.eos_id] + tokenizer.encode("shares rose")
    out = StreamingDetokenizer(tokenizer)
    assert "".join(out.push(i) for i in ids) == " it will buy\nshares rose"
