"""CNN + RNN: the character-CNN word encoder (spelling table, highway carry, saved spellings), the character-aware
language model, and the CNN-then-BiLSTM classifier (padding invariance, learning a task that needs n-grams)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqkit.models.cnn_rnn import (
    CHAR_BOW,
    CHAR_EOW,
    CHAR_OFFSET,
    CHAR_PAD,
    CharCNNWordEncoder,
    CNNBiLSTMClassifierNet,
    CNNBiLSTMConfig,
    Highway,
    word_characters,
)
from seqkit.tasks.cnn_rnn import CharCNNLanguageModel

WORDS = ["<pad>", "<unk>", "the", "cat", "cats", "antidisestablishmentarianism"]


def test_word_characters_marks_and_cuts():
    table = word_characters(["ab", "é", "abcdefgh"], max_length=6)
    assert table[0].tolist() == [CHAR_BOW, ord("a") + CHAR_OFFSET, ord("b") + CHAR_OFFSET, CHAR_EOW, CHAR_PAD,
                                 CHAR_PAD]
    assert table[1].tolist()[:4] == [CHAR_BOW, 0xC3 + CHAR_OFFSET, 0xA9 + CHAR_OFFSET, CHAR_EOW]  # UTF-8 bytes
    assert table[2].tolist()[-1] == CHAR_EOW and len(table[2]) == 6  # cut to fit, the end marker kept


def test_highway_gates_between_transform_and_carry():
    torch.manual_seed(0)
    layer = Highway(8, num_layers=1)
    x = torch.randn(4, 8)
    assert torch.all(layer.gates[0].bias == -2.0)  # starts mostly carrying its input
    layer.gates[0].weight.data.zero_()
    t = torch.sigmoid(torch.tensor(-2.0))
    torch.testing.assert_close(layer(x), t * F.relu(layer.transforms[0](x)) + (1 - t) * x)
    layer.gates[0].bias.data.fill_(30.0)  # gate open: a plain ReLU layer
    torch.testing.assert_close(layer(x), F.relu(layer.transforms[0](x)))
    layer.gates[0].bias.data.fill_(-30.0)  # gate shut: the identity
    torch.testing.assert_close(layer(x), x)


def test_char_encoder_reads_spellings_and_saves_them():
    torch.manual_seed(0)
    encoder = CharCNNWordEncoder(len(WORDS), char_dim=4, filters={1: 3, 2: 5}, highway_layers=1)
    encoder.set_vocabulary(WORDS)
    ids = torch.tensor([[2, 3, 4], [5, 3, 1]])
    out = encoder(ids)
    assert out.shape == (2, 3, 8)
    torch.testing.assert_close(out[0, 1], out[1, 1])  # the same word id, the same vector
    # Two ids spelled alike get the same vector: the vector depends on the characters only.
    twin = CharCNNWordEncoder(7, char_dim=4, filters={1: 3, 2: 5})
    twin.load_state_dict({**encoder.state_dict(), "word_chars": word_characters([*WORDS, "cat"], 21)})
    torch.testing.assert_close(twin(torch.tensor([[6]])), twin(torch.tensor([[3]])))
    fresh = CharCNNWordEncoder(len(WORDS), char_dim=4, filters={1: 3, 2: 5})
    fresh.load_state_dict(encoder.state_dict())  # spellings travel with the weights
    torch.testing.assert_close(fresh(ids), out)
    with pytest.raises(ValueError, match="words for a vocabulary"):
        encoder.set_vocabulary(WORDS[:3])


def test_char_language_model_predicts_words():
    model = CharCNNLanguageModel(len(WORDS), pad_id=0, network={"char_dim": 4, "filters": {1: 4, 3: 4},
                                                                "hidden_size": 8})
    model.network.embedding.set_vocabulary(WORDS)
    logits, state = model(torch.tensor([[2, 3, 4, 5]]))
    assert logits.shape == (1, 4, len(WORDS)) and len(state) == 2
    assert model.hparams.network["filters"] == {1: 4, 3: 4}
    assert model.network.decoder.weight.shape == (len(WORDS), 8)


def test_cnn_bilstm_ignores_padding():
    torch.manual_seed(0)
    config = CNNBiLSTMConfig(embedding_dim=8, channels=6, widths=[3, 5], hidden_size=5)
    net = CNNBiLSTMClassifierNet(20, 3, config).eval()
    ids = torch.tensor([[4, 5, 6, 7, 0, 0, 0], [8, 9, 10, 11, 12, 13, 14]])
    lengths = torch.tensor([4, 7])
    both = net(ids, lengths)
    torch.testing.assert_close(both[0], net(ids[:1, :4], lengths[:1])[0])
    torch.testing.assert_close(both[1], net(ids[1:], lengths[1:])[0])
    with pytest.raises(ValueError, match="odd"):
        CNNBiLSTMConfig(widths=[2])


def test_cnn_bilstm_learns_an_ordered_bigram():
    """Label 1 iff the bigram 'not good' (ids 2, 3) occurs: the same words in the other order do not count."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 12, (512, 10), generator=generator)
    labels = torch.randint(0, 2, (512,), generator=generator)
    where = torch.randint(0, 9, (512,), generator=generator)
    rows = torch.arange(512)
    ids[rows, where] = torch.where(labels.bool(), 2, 3)
    ids[rows, where + 1] = torch.where(labels.bool(), 3, 2)  # negatives hold 'good not'
    lengths = torch.full((512,), 10)
    torch.manual_seed(0)
    net = CNNBiLSTMClassifierNet(12, 2, CNNBiLSTMConfig(embedding_dim=8, channels=8, widths=[3], hidden_size=8,
                                                     dropout=0.0))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for step in range(120):
        batch = slice((step * 64) % 384, (step * 64) % 384 + 64)
        loss = F.cross_entropy(net(ids[batch], lengths[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (net(ids[384:], lengths[384:]).argmax(-1) == labels[384:]).float().mean().item()
    assert accuracy > 0.9  # held-out rows; chance 0.5, and a bag of words sees no difference


@pytest.mark.slow
def test_char_lm_fit_spells_the_tokenizer_vocabulary(data_root, tmp_path):
    from seqkit.cli import main
    from seqkit.inference import load_model
    from tests.helpers import REPO

    run = tmp_path / "run"
    code = main(["fit", "--config", str(REPO / "recipes" / "lm" / "ptb_char_cnn.yaml"), "--run_dir", str(run),
                 "--data.init_args.splits.max_rows", "200", "--model.init_args.network.hidden_size", "16",
                 "--model.init_args.network.filters", "{1: 4, 2: 4}", "--trainer.max_steps", "2",
                 "--trainer.limit_val_batches", "1", "--trainer.enable_progress_bar", "false",
                 "--trainer.enable_model_summary", "false"])
    assert code == 0
    model = load_model(run)
    table = model.module.network.embedding.word_chars
    tokenizer = model.tokenizer
    for index in (1, 5, tokenizer.vocab_size - 1):
        assert table[index].tolist() == word_characters([tokenizer.id_to_token(index)], table.shape[1])[0].tolist()
