"""Translation: attentional RNN encoder-decoder trained with teacher forcing, evaluated with sacreBLEU."""

from __future__ import annotations

import json
from pathlib import Path

import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor
from torchmetrics import MeanMetric
from torchmetrics.text import CHRFScore, SacreBLEUScore

from seqkit.data.info import DataNeed, split_item
from seqkit.distributed import gather_objects
from seqkit.errors import DataError
from seqkit.models.seq2seq import AttentionalSeq2Seq, Seq2SeqConfig
from seqkit.search import search_batch
from seqkit.tasks.base import TaskModule

#: The network's default settings.
DEFAULT_NETWORK = Seq2SeqConfig()


class Seq2SeqTranslator(TaskModule):
    """An :class:`~seqkit.models.seq2seq.AttentionalSeq2Seq` model trained on sentence pairs.

    Training minimises label-smoothed cross-entropy with teacher forcing. Validation logs ``val_loss``,
    ``val_ppl`` and ``val_bleu`` (sacreBLEU of greedy, detokenised outputs against the raw references) every
    epoch; test logs ``test_bleu`` and ``test_chrf`` of beam search and writes ``test_hypotheses.txt`` and
    ``test_scores.json`` (scores with sacreBLEU's signatures) into the run directory. ``src_vocab_size``,
    ``tgt_vocab_size`` and ``pad_id`` come from :class:`~seqkit.data.translation.TranslationDataModule`.

    Reads from the data (:class:`~seqkit.data.DataInfo`): the ``target_tokenizer`` (``decode_batch``, to
    detokenise outputs) and the ``references`` of the validation and test splits (raw target texts, indexed by each
    batch's ``rows``).

    Args:
        src_vocab_size, tgt_vocab_size, pad_id: From the data.
        bos_id, eos_id: Target start and end ids (seqkit tokenizers: 2 and 3).
        network: The network, :class:`~seqkit.models.seq2seq.Seq2SeqConfig` (``model.init_args.network``).
        label_smoothing: Share of the target probability spread over the vocabulary (Szegedy et al. 2016).
        teacher_forcing: Probability of feeding the true previous token in training (below 1: scheduled sampling).
        beam_size: Beam of the test set and of ``seqkit translate`` (1: greedy).
        length_penalty: GNMT length-penalty exponent ``alpha`` of beam search.
        max_length_ratio, max_length_offset: Longest output ``ratio * source length + offset`` tokens.
        optimizer: Optimizer factory; default Adam, lr 1e-3.
        lr_scheduler: Optional scheduler factory (``ReduceLROnPlateau`` follows ``val_bleu``: give it ``mode: max``).
        vocab_size: Ignored: the CLI passes every DataModule's ``vocab_size``; this model reads the two sizes above.
    """

    monitor = ("val_bleu", "max")
    #: Checkpoints and folders written when the network was ``model``.
    legacy_keys = {"model.": "network."}
    default_network = DEFAULT_NETWORK

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
        network: Seq2SeqConfig = DEFAULT_NETWORK,
        label_smoothing: float = 0.1,
        teacher_forcing: float = 1.0,
        beam_size: int = 5,
        length_penalty: float = 1.0,
        max_length_ratio: float = 1.5,
        max_length_offset: int = 10,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        vocab_size: int | None = None,
    ) -> None:
        super().__init__(optimizer, lr_scheduler)
        self.network = AttentionalSeq2Seq(src_vocab_size, tgt_vocab_size, self.network_config, pad_id)
        self.val_nll = MeanMetric()
        self.val_bleu = SacreBLEUScore(tokenize="13a")
        self.test_bleu = SacreBLEUScore(tokenize="13a")
        self.test_chrf = CHRFScore(n_word_order=0)  # chrF (sacrebleu default), not chrF++
        self._test_outputs: list[tuple[int, str]] = []

    # ----------------------------------------------------------------- tensor-only interface (search, export)
    def encode(self, src_ids: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """See :meth:`AttentionalSeq2Seq.encode`: ``(memory, keys, mask, hidden, feed)``."""
        return self.network.encode(src_ids, src_lengths)

    def decode_step(self, prev_tokens: Tensor, hidden: Tensor, feed: Tensor, memory: Tensor, keys: Tensor,
                    mask: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """See :meth:`AttentionalSeq2Seq.decode_step`: ``(log_probs, hidden, feed, weights)``."""
        return self.network.decode_step(prev_tokens, hidden, feed, memory, keys, mask)

    def forward(self, src_ids: Tensor, src_lengths: Tensor, tgt_inputs: Tensor) -> Tensor:
        """Teacher-forced logits ``(B, T, V)``."""
        return self.network(src_ids, src_lengths, tgt_inputs)[0]

    # ----------------------------------------------------------------- data
    def data_needs(self) -> list[DataNeed]:
        # BLEU is computed on detokenised text against the raw references.
        return [DataNeed("target_tokenizer", "BLEU"), DataNeed("references", "BLEU")]

    def setup(self, stage: str) -> None:
        super().setup(stage)
        tokenizer = self.data_info.get("target_tokenizer")
        ids = (getattr(tokenizer, "bos_id", None), getattr(tokenizer, "eos_id", None))
        if None not in ids and ids != (self.hparams.bos_id, self.hparams.eos_id):
            raise DataError(f"The target tokenizer's <bos>/<eos> ids are {ids}, the model's "
                            f"{(self.hparams.bos_id, self.hparams.eos_id)}; set model.init_args.bos_id/eos_id.")

    @property
    def tgt_tokenizer(self):
        """The data's target tokenizer (``decode_batch``), once the task has its data."""
        return self.data_info.get("target_tokenizer")

    def _references(self, split: str):
        """The raw target texts of ``split``, indexed by its batches' ``rows``."""
        return split_item(self.data_info, "references", split, type(self).__name__)

    # ----------------------------------------------------------------- steps
    def _loss(self, batch: dict[str, Tensor], smoothing: float) -> tuple[Tensor, int]:
        tgt = batch["tgt_ids"]
        logits, _ = self.network(batch["src_ids"], batch["src_lengths"], tgt[:, :-1],
                               self.hparams.teacher_forcing if self.training else 1.0)
        targets = tgt[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                               ignore_index=self.hparams.pad_id, label_smoothing=smoothing)
        return loss, int((targets != self.hparams.pad_id).sum())

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss, tokens = self._loss(batch, self.hparams.label_smoothing)
        self.log("train_loss", loss, prog_bar=True, batch_size=tokens)
        return loss

    def _hypotheses(self, batch: dict[str, Tensor], beam: int) -> list[str]:
        found = search_batch(
            self, batch["src_ids"], batch["src_lengths"], self.hparams.bos_id, self.hparams.eos_id, beam=beam,
            alpha=self.hparams.length_penalty, max_length_ratio=self.hparams.max_length_ratio,
            max_length_offset=self.hparams.max_length_offset,
        )
        return self.tgt_tokenizer.decode_batch([h[0].tokens for h in found])

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        nll, tokens = self._loss(batch, 0.0)
        self.val_nll.update(nll, tokens)
        references = self._references("validation")
        hypotheses = self._hypotheses(batch, beam=1)  # greedy: cheap enough for every epoch
        self.val_bleu.update(hypotheses, [[references[r]] for r in batch["rows"].tolist()])

    def on_validation_epoch_end(self) -> None:
        nll = self.val_nll.compute()
        self.log_dict({"val_loss": nll, "val_ppl": nll.exp()}, sync_dist=False)
        self.log("val_bleu", 100 * self.val_bleu.compute(), prog_bar=True)
        self.val_nll.reset()
        self.val_bleu.reset()

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        references = self._references("test")
        hypotheses = self._hypotheses(batch, beam=self.hparams.beam_size)
        rows = batch["rows"].tolist()
        refs = [[references[r]] for r in rows]
        self.test_bleu.update(hypotheses, refs)
        self.test_chrf.update(hypotheses, refs)
        self._test_outputs.extend(zip(rows, hypotheses, strict=True))

    def on_test_epoch_end(self) -> None:
        bleu, chrf = 100 * self.test_bleu.compute(), 100 * self.test_chrf.compute()  # synced across ranks
        self.log_dict({"test_bleu": bleu, "test_chrf": chrf})
        self.test_bleu.reset()
        self.test_chrf.reset()
        # Under DDP each rank translated its own share of the test split: rank zero writes them all, in split order.
        outputs = sorted(output for part in gather_objects(self._test_outputs) for output in part)
        self._test_outputs = []
        trainer = self.trainer
        log_dir = trainer.log_dir  # a collective call under DDP
        if log_dir and trainer.is_global_zero:
            self.write_test_outputs(Path(log_dir), outputs)

    def write_test_outputs(self, folder: Path, outputs: list[tuple[int, str]]) -> dict:
        """Write ``test_hypotheses.txt`` (split order) and ``test_scores.json`` (sacreBLEU BLEU and chrF with
        their signatures) into ``folder``; return the scores."""
        import sacrebleu

        hypotheses = [text for _, text in outputs]
        references = [self._references("test")[row] for row, _ in outputs]
        bleu = sacrebleu.metrics.BLEU(tokenize="13a")
        chrf = sacrebleu.metrics.CHRF()
        bleu_score = bleu.corpus_score(hypotheses, [references])
        chrf_score = chrf.corpus_score(hypotheses, [references])
        scores = {
            "bleu": round(bleu_score.score, 2), "bleu_signature": str(bleu.get_signature()),
            "bleu_detail": str(bleu_score), "chrf": round(chrf_score.score, 2),
            "chrf_signature": str(chrf.get_signature()), "beam_size": self.hparams.beam_size,
            "length_penalty": self.hparams.length_penalty, "sentences": len(hypotheses),
        }
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "test_hypotheses.txt").write_text("".join(h + "\n" for h in hypotheses), encoding="utf-8")
        (folder / "test_scores.json").write_text(json.dumps(scores, indent=2) + "\n")
        print(f"sacreBLEU {bleu_score.score:.2f} ({bleu.get_signature()}), chrF {chrf_score.score:.2f} "
              f"({chrf.get_signature()}); hypotheses in {folder / 'test_hypotheses.txt'}", flush=True)
        return scores


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    Seq2SeqTranslator, pipeline_tag="translation", tags=("translation", "seq2seq"),
    predictor="seqkit.inference.translate:TranslatorPredictor",
    data_links=("src_vocab_size", "tgt_vocab_size", "pad_id"),
))
