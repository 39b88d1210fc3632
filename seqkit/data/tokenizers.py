"""One tokenizer interface over HuggingFace ``tokenizers`` and ``sentencepiece``.

Kinds (``TokenizerConfig.kind``):

==========================  ==========================================================================
``word``                    word level (``tokenizers`` WordLevel): the ``vocab_size`` most frequent words
                            seen at least ``min_frequency`` times; the rest map to ``<unk>``
``char``                    character level (every character, whitespace included, is a token)
``bpe``                     byte-level BPE (``tokenizers``): no unknown tokens, exact round trip
``wordpiece``               WordPiece (``tokenizers``), BERT-style ``##`` continuations
``sentencepiece_unigram``   sentencepiece unigram model
``sentencepiece_bpe``       sentencepiece BPE model
==========================  ==========================================================================

or ``path`` to an existing ``tokenizer.json`` or sentencepiece ``.model`` file. Trained tokenizers reserve ids
0-3 for ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``. A tokenizer is trained on the training split only and cached
under ``$SEQKIT_CACHE_DIR/tokenizers/<key>``, the key hashing the settings and the training data's fingerprint.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from seqkit import settings
from seqkit.errors import TokenizerError

log = logging.getLogger(__name__)

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS = [PAD, UNK, BOS, EOS]
HF_FILE = "tokenizer.json"
SPM_FILE = "tokenizer.model"

# Names other libraries give the special tokens, tried in order when loading a tokenizer seqkit did not train.
_ALIASES = {
    "pad": [PAD, "[PAD]", "<|pad|>"],
    "unk": [UNK, "[UNK]", "<|unk|>"],
    "bos": [BOS, "<s>", "[CLS]", "<|startoftext|>", "<|endoftext|>"],
    "eos": [EOS, "</s>", "[SEP]", "<|endoftext|>"],
}

TokenizerKind = Literal["word", "char", "bpe", "wordpiece", "sentencepiece_unigram", "sentencepiece_bpe"]


#: Common HTML tags (``<br />``, ``<i>``, ``</p>``...). Named tags only, so ``<unk>``-style tokens survive.
MARKUP_PATTERN = r"<\s*/?\s*(?:br|p|i|b|u|em|strong|a|div|span|hr|ul|ol|li|h[1-6])\b[^<>]*>"


@dataclass
class TokenizerConfig:
    """How to build a tokenizer.

    Args:
        kind: Which tokenizer to train (see the module docstring). Ignored when ``path`` is set.
        vocab_size: Largest vocabulary, special tokens included (word/char: keep the most frequent).
        min_frequency: Word/char/BPE/WordPiece: drop tokens seen fewer times in training.
        lowercase: Lowercase text before tokenising.
        split_punctuation: Word level: split punctuation from words (``tokenizers`` ``Whitespace``). Set
            ``false`` for corpora that are already tokenised, such as WikiText and PTB, whose ``<unk>`` must stay
            one token.
        strip_markup: Replace HTML tags such as IMDB's ``<br />`` with a space before tokenising (``tokenizers``
            kinds; saved in the tokenizer, so prediction strips them too).
        path: Load this ``tokenizer.json`` or sentencepiece ``.model`` (or a folder holding one) instead of
            training.
    """

    kind: TokenizerKind = "word"
    vocab_size: int = 30000
    min_frequency: int = 1
    lowercase: bool = False
    split_punctuation: bool = True
    strip_markup: bool = False
    path: str | None = None


class Tokenizer(ABC):
    """Text <-> token ids.

    ``pad_id`` always exists; ``unk_id``, ``bos_id`` and ``eos_id`` exist for every tokenizer seqkit trains and
    may be ``None`` for a loaded one that lacks them.
    """

    pad_id: int
    unk_id: int | None
    bos_id: int | None
    eos_id: int | None

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids; every id is in ``0..vocab_size-1``."""

    @abstractmethod
    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens."""

    @abstractmethod
    def decode_batch(self, ids: list[list[int]]) -> list[str]:
        """Texts from token ids; padding, start and end tokens are dropped, unknown ones show as ``<unk>``."""

    @abstractmethod
    def id_to_token(self, index: int) -> str:
        """The token string of one id."""

    @abstractmethod
    def save(self, directory: str | Path) -> Path:
        """Write the tokenizer file into ``directory``; return its path."""

    @abstractmethod
    def serialized(self) -> bytes:
        """The tokenizer file's bytes (what :meth:`save` writes)."""

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def decode(self, ids: list[int]) -> str:
        return self.decode_batch([list(ids)])[0]

    @property
    def fingerprint(self) -> str:
        """Hash of the tokenizer's file: equal fingerprints encode identically."""
        return hashlib.sha256(self.serialized()).hexdigest()[:16]

    def _strip_markers(self, ids: list[list[int]]) -> list[list[int]]:
        """Drop padding, start and end ids; unknown tokens stay visible as ``<unk>``."""
        markers = self.special_ids - {self.unk_id}
        return [[i for i in row if i not in markers] for row in ids]

    @property
    def special_ids(self) -> set[int]:
        return {i for i in (self.pad_id, self.unk_id, self.bos_id, self.eos_id) if i is not None}

    def _resolve_specials(self, token_to_id: Callable[[str], int | None], where: str) -> None:
        found = {role: next((i for i in map(token_to_id, names) if i is not None), None)
                 for role, names in _ALIASES.items()}
        if found["pad"] is None:
            raise TokenizerError(
                f"Tokenizer {where} has no padding token (tried {', '.join(_ALIASES['pad'])}); add one, e.g. '<pad>'."
            )
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = found["pad"], found["unk"], found["bos"], found["eos"]


class HFTokenizer(Tokenizer):
    """A HuggingFace ``tokenizers.Tokenizer`` (word, char, BPE, WordPiece or any ``tokenizer.json``)."""

    file_name = HF_FILE

    def __init__(self, tokenizer, where: str = "in memory") -> None:
        self.backend = tokenizer
        self._resolve_specials(tokenizer.token_to_id, where)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        encodings = self.backend.encode_batch_fast(texts, add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def decode_batch(self, ids: list[list[int]]) -> list[str]:
        return self.backend.decode_batch(self._strip_markers(ids), skip_special_tokens=False)

    def id_to_token(self, index: int) -> str:
        return self.backend.id_to_token(index)

    def serialized(self) -> bytes:
        return self.backend.to_str().encode()

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / self.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.backend.save(str(path))
        return path


class SentencePieceTokenizer(Tokenizer):
    """A sentencepiece model (unigram or BPE)."""

    file_name = SPM_FILE

    def __init__(self, model_proto: bytes, where: str = "in memory") -> None:
        import sentencepiece as spm

        self._proto = model_proto
        self.backend = spm.SentencePieceProcessor(model_proto=model_proto)

        def token_to_id(token: str) -> int | None:
            index = self.backend.piece_to_id(token)
            return None if index == self.backend.unk_id() and token != self.backend.id_to_piece(index) else index

        self._resolve_specials(token_to_id, where)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_piece_size()

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.backend.encode(texts)

    def decode_batch(self, ids: list[list[int]]) -> list[str]:
        return self.backend.decode(self._strip_markers(ids))

    def id_to_token(self, index: int) -> str:
        return self.backend.id_to_piece(index)

    def serialized(self) -> bytes:
        return self._proto

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / self.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self._proto)
        return path


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a ``tokenizer.json`` or sentencepiece ``.model`` file, or the one in folder ``path``."""
    path = Path(path).expanduser()
    if path.is_dir():
        candidates = [path / HF_FILE, path / SPM_FILE, *sorted(path.glob("*.model"))]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise TokenizerError(f"Folder {path} holds no {HF_FILE} or sentencepiece .model file.")
        path = found
    if not path.is_file():
        raise TokenizerError(f"Tokenizer file {path} does not exist.")
    try:
        if path.suffix == ".json":
            from tokenizers import Tokenizer as Backend

            return HFTokenizer(Backend.from_file(str(path)), where=str(path))
        return SentencePieceTokenizer(path.read_bytes(), where=str(path))
    except TokenizerError:
        raise
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TokenizerError(
            f"Could not load tokenizer {path}: {reason}. Expected a `tokenizers` tokenizer.json or a "
            "sentencepiece .model file."
        ) from error


def train_tokenizer(config: TokenizerConfig, batches: Iterable[list[str]]) -> Tokenizer:
    """Train a tokenizer of ``config.kind`` on batches of texts (the training split)."""
    if config.kind.startswith("sentencepiece"):
        return _train_sentencepiece(config, batches)
    return _train_hf(config, batches)


def _train_hf(config: TokenizerConfig, batches: Iterable[list[str]]) -> HFTokenizer:
    from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, trainers
    from tokenizers import Tokenizer as Backend

    common = {"vocab_size": config.vocab_size, "min_frequency": config.min_frequency,
              "special_tokens": SPECIAL_TOKENS, "show_progress": False}
    word_level = config.kind in ("word", "char")
    if word_level:
        # WordLevelTrainer assigns clashing ids when a special token also occurs in the text (WikiText and PTB
        # contain "<unk>"), so count words without specials and put the specials in front afterwards.
        common = {**common, "special_tokens": [], "vocab_size": config.vocab_size - len(SPECIAL_TOKENS)}
    if config.kind == "word":
        backend = Backend(models.WordLevel(unk_token=UNK))
        split = pre_tokenizers.Whitespace if config.split_punctuation else pre_tokenizers.WhitespaceSplit
        backend.pre_tokenizer = split()
        trainer = trainers.WordLevelTrainer(**common)
    elif config.kind == "char":
        backend = Backend(models.WordLevel(unk_token=UNK))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        backend.decoder = decoders.Fuse()
        trainer = trainers.WordLevelTrainer(**common)
    elif config.kind == "bpe":
        backend = Backend(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(**common, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    elif config.kind == "wordpiece":
        backend = Backend(models.WordPiece(unk_token=UNK))
        backend.pre_tokenizer = pre_tokenizers.Whitespace()
        backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)
        trainer = trainers.WordPieceTrainer(**common)
    else:
        raise TokenizerError(f"Unknown tokenizer kind {config.kind!r}.")
    steps = []
    if config.strip_markup:
        steps.append(normalizers.Replace(Regex(MARKUP_PATTERN), " "))
    if config.lowercase:
        steps.append(normalizers.Lowercase())
    if steps:
        backend.normalizer = normalizers.Sequence(steps)
    backend.train_from_iterator(batches, trainer)
    if word_level:
        counted = sorted(backend.get_vocab().items(), key=lambda item: item[1])  # most frequent first
        words = [token for token, _ in counted if token not in SPECIAL_TOKENS]
        backend.model = models.WordLevel({t: i for i, t in enumerate(SPECIAL_TOKENS + words)}, unk_token=UNK)
        backend.add_special_tokens(SPECIAL_TOKENS)
    return HFTokenizer(backend)


def _train_sentencepiece(config: TokenizerConfig, batches: Iterable[list[str]]) -> SentencePieceTokenizer:
    import sentencepiece as spm

    if config.strip_markup:  # a .model file has no place to keep the rule, so prediction would not strip
        raise TokenizerError("strip_markup needs a `tokenizers` kind (word, char, bpe, wordpiece), not sentencepiece.")

    def sentences() -> Iterator[str]:
        for batch in batches:
            for text in batch:
                text = text.strip()
                if text:
                    yield text.lower() if config.lowercase else text

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=sentences(),
        model_writer=model,
        model_type=config.kind.removeprefix("sentencepiece_"),
        vocab_size=config.vocab_size,
        hard_vocab_limit=False,  # a small corpus may not support the full size: take what it gives
        character_coverage=1.0,
        pad_id=0, unk_id=1, bos_id=2, eos_id=3,
        pad_piece=PAD, unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
        input_sentence_size=2_000_000,
        shuffle_input_sentence=True,
        max_sentence_length=1 << 16,
        num_threads=os.cpu_count() or 1,
        minloglevel=2,
    )
    return SentencePieceTokenizer(model.getvalue())


def build_tokenizer(
    config: TokenizerConfig, corpus: Callable[[], Iterable[list[str]]], corpus_fingerprint: str
) -> Tokenizer:
    """Load ``config.path``, or the cached tokenizer trained on the same corpus, or train and cache one.

    Args:
        config: What to build.
        corpus: Returns the training texts in batches; called only when training is needed.
        corpus_fingerprint: Identifies the corpus (e.g. the training split's ``datasets`` fingerprint and columns).
    """
    if config.path:
        return load_tokenizer(config.path)
    from datasets.fingerprint import Hasher
    from filelock import FileLock

    settings_ = {k: v for k, v in asdict(config).items() if k != "path"}
    key = Hasher.hash({"settings": settings_, "corpus": corpus_fingerprint, "format": 1})
    folder = settings.cache_dir() / "tokenizers" / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):  # ranks of one job train once, the others wait and load
        if folder.is_dir():
            log.info("Using cached tokenizer %s", folder)
            return load_tokenizer(folder)
        log.info("Training a %s tokenizer (vocab_size=%d)", config.kind, config.vocab_size)
        tokenizer = train_tokenizer(config, corpus())
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
        try:
            tokenizer.save(staging)
            staging.rename(folder)  # atomic: a crash never leaves a half-written cache entry
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return tokenizer
