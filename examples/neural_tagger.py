"""A tiny BiLSTM-CRF named-entity tagger on fastseq (see README, "Use fastseq under a neural
tagger"). Runs on CPU in a few seconds: python examples/neural_tagger.py"""
import torch
from torch import nn

import fastseq
from fastseq.decode import decode
from fastseq.torch import CRF

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
TRAIN = [
    ("John Smith lives in New York", "B-PER I-PER O O B-LOC I-LOC"),
    ("Mary works for Acme Corp in Paris", "B-PER O O B-ORG I-ORG O B-LOC"),
    ("Acme Corp hired John", "B-ORG I-ORG O B-PER"),
    ("New York welcomes Mary Jones", "B-LOC I-LOC O B-PER I-PER"),
    ("Paris is far from New York", "B-LOC O O O B-LOC I-LOC"),
    ("Jones left Acme Corp", "B-PER O B-ORG I-ORG"),
]
TEST = ["Mary Smith lives in Paris", "John works for Acme Corp in New York"]

vocab = {"<pad>": 0, "<unk>": 1}
for words, _ in TRAIN:
    for w in words.split():
        vocab.setdefault(w, len(vocab))
tag_id = {t: i for i, t in enumerate(LABELS)}


def batch(sentences, tags=None):
    """Right-padded word ids (B, T), mask (B, T) and tag ids (B, T)."""
    toks = [s.split() for s in sentences]
    T = max(map(len, toks))
    words = torch.zeros(len(toks), T, dtype=torch.long)
    mask = torch.zeros(len(toks), T, dtype=torch.bool)
    y = torch.zeros(len(toks), T, dtype=torch.long)
    for b, ws in enumerate(toks):
        words[b, :len(ws)] = torch.tensor([vocab.get(w, 1) for w in ws])
        mask[b, :len(ws)] = True
        if tags is not None:
            y[b, :len(ws)] = torch.tensor([tag_id[t] for t in tags[b].split()])
    return words, mask, y


class Tagger(nn.Module):
    def __init__(self, n_words, n_tags, dim=32):
        super().__init__()
        self.embed = nn.Embedding(n_words, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, dim, batch_first=True, bidirectional=True)
        self.scores = nn.Linear(2 * dim, n_tags)
        # the CRF head: pytorch-crf's API; IOB2 constraints make every output well-formed
        self.crf = CRF(n_tags, batch_first=True,
                       constraints=fastseq.allowed_transitions(LABELS, "IOB2"))

    def emissions(self, words):
        return self.scores(self.lstm(self.embed(words))[0])

    def loss(self, words, tags, mask):
        return -self.crf(self.emissions(words), tags, mask=mask, reduction="mean")

    def predict(self, words, mask):
        return self.crf.decode(self.emissions(words), mask=mask)


torch.manual_seed(0)
model = Tagger(len(vocab), len(LABELS))
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
words, mask, tags = batch([s for s, _ in TRAIN], [t for _, t in TRAIN])
for step in range(30):
    optimizer.zero_grad()
    loss = model.loss(words, tags, mask)
    loss.backward()  # gradients from fastseq's C kernels
    optimizer.step()
    if step % 10 == 0:
        print(f"step {step:2d}  loss {loss.item():.3f}")

model.eval()
with torch.no_grad():
    words, mask, _ = batch(TEST)
    for sentence, path in zip(TEST, model.predict(words, mask)):
        print(list(zip(sentence.split(), (LABELS[i] for i in path))))
    # beyond pytorch-crf: the 3 best analyses and per-token confidences
    top3 = model.crf.decode(model.emissions(words), mask=mask, nbest=3)[0]
    probs = model.crf.marginals(model.emissions(words), mask=mask)[0]
    print("3 best for the first sentence:", [[LABELS[i] for i in p] for p in top3])
    print("confidence:", [round(p, 2) for p in probs.max(-1).values[:mask[0].sum()].tolist()])
    # any token classifier's scores (here the layer under the CRF, without it):
    # fastseq.decode returns the best *well-formed* IOB2 label sequences
    logits = model.emissions(words)
    print(decode(logits, labels=LABELS, scheme="IOB2", mask=mask))
