"""Search with trained networks, on tensors only: sampling from a language model (:mod:`~seqkit.search.sampling`),
greedy and batched beam search for translation models (:mod:`~seqkit.search.translation`), greedy and prefix beam
decoding of CTC outputs for speech (:mod:`~seqkit.search.ctc`). Nothing here reads text; :mod:`seqkit.inference`
turns texts into ids and back.

Language models: :func:`generate` continues a batch of prompts, drawing each token with :func:`sample_next`
(temperature, top-k, top-p). Translation: the search functions take any model with the two tensor-only methods of
:class:`~seqkit.models.seq2seq.AttentionalSeq2Seq` (``encode`` and ``decode_step``; a task module holding one as
``.network`` works too).
"""

from seqkit.search.ctc import CTCHypothesis, ctc_greedy_decode, ctc_prefix_beam_search
from seqkit.search.sampling import MAX_NEW_TOKENS as MAX_NEW_TOKENS  # a number: importable, not in __all__
from seqkit.search.sampling import check_sampling, generate, prime, sample_next
from seqkit.search.translation import Hypothesis, beam_search, greedy_search, length_penalty, max_lengths, search_batch

__all__ = [
    "CTCHypothesis", "Hypothesis", "beam_search", "check_sampling", "ctc_greedy_decode", "ctc_prefix_beam_search",
    "generate", "greedy_search", "length_penalty", "max_lengths", "prime", "sample_next", "search_batch",
]
