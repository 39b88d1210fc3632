"""Tutorial 9: speech with recurrent networks: from samples to log-mel frames, CTC without frame labels, and what a
backward direction costs a streaming recogniser. Runs on the Free Spoken Digit Dataset (FSDD).

    python docs/tutorials/09_speech_ctc.py --out docs/tutorials/generated
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqkit.data import AudioFeatures, Batching, Composition, ConnectedWordsDataModule, DataSource, Splits
from seqkit.data.features import LogMelFrontend
from seqkit.models.speech import AcousticConfig
from seqkit.tasks import CTCSpeechRecognizer

parser = argparse.ArgumentParser(description="Speech with recurrent networks and CTC on FSDD.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figures")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")
torch.manual_seed(0)

# --8<-- [start:features]
features = AudioFeatures(sample_rate=8000, num_mels=40, window_ms=25, hop_ms=10)
data = ConnectedWordsDataModule(
    DataSource(name="fsdd"),  # $SEQKIT_DATA_DIR/fsdd/, else the archive of FSDD's commit
    Composition(min_words=1, max_words=4, train_utterances=1600, eval_utterances=200),
    features,
    label_names=[str(d) for d in range(10)],
    batching=Batching(batch_size=32),
    splits=Splits(validation=None, val_from_train=0.1),
)
data.setup("fit")
train = data.recordings["train"]
wave = train.wave(0)
frontend = LogMelFrontend(features)
logmel, frames = frontend(torch.from_numpy(wave)[None], torch.tensor([len(wave)]))
mfcc, _ = LogMelFrontend(AudioFeatures(sample_rate=8000, kind="mfcc", num_mfcc=13))(
    torch.from_numpy(wave)[None], torch.tensor([len(wave)]))
print(f"one recording (digit {train.labels[0]}): {len(wave):,} samples at 8 kHz = {len(wave) / 8000:.2f} s")
print(f"  log-mel: {tuple(logmel.shape[1:])} (frames x channels); MFCC: {tuple(mfcc.shape[1:])}; "
      f"window {features.win_length} samples, hop {features.hop_length}, FFT {features.n_fft}")
lengths = train.lengths / 8000
print(f"training recordings: {len(train):,}, {lengths.min():.2f}-{lengths.max():.2f} s "
      f"(median {np.median(lengths):.2f} s): {int(lengths.min() * 100)}-{int(lengths.max() * 100)} frames")
# --8<-- [end:features]

figure = Figure(figsize=(10, 6.5))
axes = figure.subplots(3, 1)
axes[0].plot(np.arange(len(wave)) / 8000, wave, linewidth=0.5)
axes[0].set_ylabel("sample")
axes[0].set_title(f"FSDD recording of the digit {train.labels[0]}: waveform, log-mel frames, MFCCs")
seconds = len(wave) / 8000
axes[1].imshow(logmel[0].T.numpy(), origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, 40))
axes[1].set_ylabel("mel channel")
axes[2].imshow(mfcc[0].T.numpy(), origin="lower", aspect="auto", cmap="coolwarm", extent=(0, seconds, 0, 13))
axes[2].set_ylabel("MFCC")
axes[2].set_xlabel("seconds")
figure.tight_layout()
FigureCanvasAgg(figure).print_png(out / "09_speech_ctc.png")

# --8<-- [start:ctc_sum]
# CTC's probability of a labelling is the sum over every frame-level path that collapses to it. With 5 steps over
# {blank, 1, 2}, enumerate all 3^5 paths and compare with torch's dynamic programme.
torch.manual_seed(1)
log_probs = torch.randn(5, 3).log_softmax(-1)  # (T, V): one utterance, 5 steps, blank = 0


def collapse(path: tuple[int, ...]) -> list[int]:
    """Merge repeated labels, then drop blanks: (1, 1, 0, 1, 2) -> [1, 1, 2]."""
    return [label for label, _ in itertools.groupby(path) if label != 0]


paths = [p for p in itertools.product(range(3), repeat=5) if collapse(p) == [1, 2]]
brute = sum(math.exp(sum(log_probs[t, c].item() for t, c in enumerate(p))) for p in paths)
loss = F.ctc_loss(log_probs[:, None], torch.tensor([[1, 2]]), torch.tensor([5]), torch.tensor([2]), reduction="sum")
print(f"P('1 2') over {len(paths)} alignments of 5 steps: by enumeration {brute:.6f}, "
      f"by CTC's forward algorithm {math.exp(-loss.item()):.6f}")
# --8<-- [end:ctc_sum]

# --8<-- [start:train]
RESULTS = {}
for bidirectional in (True, False):
    torch.manual_seed(0)
    model = CTCSpeechRecognizer(
        data.num_features, data.num_classes,
        network=AcousticConfig(hidden_size=64, num_layers=2, cell="gru", bidirectional=bidirectional,
                               dropout=0.1, frame_stacking=4),
        audio_features=features, label_names=data.label_names,
        optimizer=lambda params: torch.optim.Adam(params, lr=3e-3),
    )
    trainer = L.Trainer(max_epochs=5, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, use_distributed_sampler=False, gradient_clip_val=1.0)
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    seconds = time.perf_counter() - start
    metrics = trainer.test(model, datamodule=data, verbose=False)[0]
    RESULTS[bidirectional] = model
    name = "bidirectional " if bidirectional else "forward only  "
    print(f"{name} GRU 2x64: test WER {metrics['test_wer']:.3f}, sentence accuracy "
          f"{metrics['test_sentence_acc']:.3f}, {seconds:.0f} s of training")
# --8<-- [end:train]

# --8<-- [start:streaming]
# A forward-only network's output at step t reads frames up to t: it can emit a digit while the speaker goes on.
# A bidirectional one reads the whole utterance first. Change the last half second and see which outputs move.
batch = list(data.test_dataloader())[-1]  # evaluation batches are sorted by length: the last holds the longest
row = int(batch["feature_lengths"].argmax())
feats, lengths = batch["features"][row : row + 1], batch["feature_lengths"][row : row + 1]
changed = feats.clone()
cut = int(lengths[0]) - 50  # the last 50 frames (0.5 s)
changed[0, cut : int(lengths[0])] = torch.randn_like(changed[0, cut : int(lengths[0])])
for bidirectional, model in RESULTS.items():
    model.eval()
    with torch.no_grad():
        before, steps = model(feats, lengths)
        after, _ = model(changed, lengths)
    first_changed = cut // 4  # frame stacking 4: the first step that reads a changed frame
    moved = (before[0, :first_changed] - after[0, :first_changed]).abs().max().item()
    name = "bidirectional" if bidirectional else "forward only"
    print(f"{name:<14} largest change of the outputs before the changed frames: {moved:.2e}")
# --8<-- [end:streaming]

# Posteriors of one test utterance: spikes for the digits, blank in between.
model = RESULTS[True]
with torch.no_grad():
    log_probs, steps = model(feats, lengths)
found = model.decode(log_probs, steps)[0]
reference = batch["targets"][row, : int(batch["target_lengths"][row])].tolist()
print(f"test utterance: reference {''.join(map(str, reference))}, heard {''.join(map(str, found.tokens))}")
posteriors = log_probs[0, : int(steps[0])].exp().numpy()
figure = Figure(figsize=(10, 5))
top, bottom = figure.subplots(2, 1, sharex=True)
step_seconds = 0.04
top.imshow(feats[0, : int(lengths[0])].T.numpy(), origin="lower", aspect="auto", cmap="magma",
           extent=(0, int(lengths[0]) * 0.01, 0, 40))
top.set_title(f"reference {''.join(map(str, reference))}, heard {''.join(map(str, found.tokens))}: "
              "per-step posteriors of the bidirectional model")
times = (np.arange(len(posteriors)) + 0.5) * step_seconds
bottom.plot(times, posteriors[:, 0], "--", color="0.6", label="blank")
for digit in range(10):
    if posteriors[:, digit + 1].max() > 0.05:
        bottom.plot(times, posteriors[:, digit + 1], label=str(digit))
bottom.legend(ncol=6, fontsize=8, loc="upper right")
bottom.set_xlabel("seconds")
bottom.set_ylabel("P(label | step)")
figure.tight_layout()
FigureCanvasAgg(figure).print_png(out / "09_speech_ctc_posteriors.png")
