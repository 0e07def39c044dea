"""Which regularisation would help the UDT's network? A PyTorch replica of it (hashed
features -> EmbeddingBag(sum) + bias -> ReLU (or linear, or half of each) -> Linear ->
softmax; Adam at 2e-3 after a quarter-epoch warm-up; batch 256) on the UDT's own features of
a task, printing the test metric after each epoch for each variant given as JSON:
drop (dropout on the hidden layer), wd (AdamW weight decay), indrop (dropping input features),
ls (label smoothing), act, h (width), epochs. TEXT='{...}' sets the text column's type options.
One thread. Results: docs/automl.md ("Regularisation").

    TEXT='{"encoding": "bigrams", "weighting": "tfidf"}' .venv/bin/python benchmarks/automl_regularisation.py \
        clothing/recommended '{}' '{"drop": 0.5}' '{"wd": 0.3}' '{"ls": 0.1}' '{"act": "linear"}'
"""
import json, os, sys, time
import numpy as np, pandas as pd, torch
import sparsebolt as sb
from sklearn.metrics import roc_auc_score
torch.set_num_threads(1); sb.set_num_threads(1)
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
task = sys.argv[1]; variants = [json.loads(v) for v in sys.argv[2:]]
if task.startswith("clothing"):
    target = task.split("/")[1]
    tr = pd.read_csv(f"{D}/clothing_reviews/train.csv")[["text", target]]
    te = pd.read_csv(f"{D}/clothing_reviews/test.csv")[["text", target]]
    tr[target] = tr[target].astype(str); te[target] = te[target].astype(str)
    types = {"text": sb.types.text(**json.loads(__import__("os").environ.get("TEXT", "{}"))), target: sb.types.categorical()}
else:
    tr = pd.read_csv(f"{D}/adult/train.csv"); te = pd.read_csv(f"{D}/adult/test.csv")
    num = ["age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week"]
    cat = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "gender", "native-country"]
    types = {c: sb.types.categorical() for c in cat}
    types.update({c: sb.types.numerical() for c in num}); types["income"] = sb.types.categorical(); target = "income"
m = sb.UniversalDeepTransformer(types, target=target)
m.train(tr, epochs=1, verbose=False)  # fits the featurizer and the label map
def tens(df, mode):
    ds = m._dataset(df, mode, 256)
    f = ds.features
    off = torch.from_numpy(f.offsets.astype(np.int64)); ids = torch.from_numpy(f.ids.astype(np.int64)); vals = torch.from_numpy(f.vals)
    y = torch.from_numpy(ds.labels.ids[ds.labels.offsets[:-1]].astype(np.int64))
    return off, ids, vals, y
Xtr, Xte = tens(tr, "train"), tens(te, "eval")
uniq = torch.unique(torch.cat([Xtr[1], Xte[1]]))
Xtr = (Xtr[0], torch.searchsorted(uniq, Xtr[1]), Xtr[2], Xtr[3]); Xte = (Xte[0], torch.searchsorted(uniq, Xte[1]), Xte[2], Xte[3])
C = m.n_classes; dim = len(uniq); print("features", dim, flush=True)
def rows(X, idx):
    off, ids, vals, y = X
    s, e = off[idx], off[idx + 1]; L = e - s
    g = torch.repeat_interleave(s - torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.long), L[:-1]]), 0), L) + torch.arange(int(L.sum()))
    o = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(L, 0)[:-1]])
    return ids[g], o, vals[g], y[idx]
for v in variants:
    torch.manual_seed(0)
    H = v.get("h", 512)
    A = v.get("act", "relu")
    act = {"relu": torch.relu, "linear": lambda x: x, "half": lambda x: torch.cat([torch.relu(x[:, :H // 2]), x[:, H // 2:]], 1)}[A]
    emb = torch.nn.EmbeddingBag(dim, H, mode="sum"); b = torch.nn.Parameter(torch.zeros(H)); out = torch.nn.Linear(H, C)
    torch.nn.init.normal_(emb.weight, 0, 0.01)
    params = list(emb.parameters()) + [b] + list(out.parameters())
    wd = v.get("wd", 0.0)
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=wd) if wd else torch.optim.Adam(params, lr=2e-3)
    n = len(Xtr[3]); steps = -(-n // 256); warm = min(steps // 4, 500); step = 0; res = []
    for ep in range(v.get("epochs", 6)):
        t = time.time()
        perm = torch.randperm(n)
        for i in range(steps):
            idx = perm[i * 256:(i + 1) * 256]
            ids, o, vals, y = rows(Xtr, idx)
            if v.get("indrop"):
                keep = (torch.rand(vals.shape) > v["indrop"]).float()
                vals = vals * keep / (1 - v["indrop"]) if v.get("rescale", True) else vals * keep
            for g in opt.param_groups: g["lr"] = 2e-3 * min(1.0, (step + 1) / warm) * v.get("lrm", 1.0)
            h = act(emb(ids, o, per_sample_weights=vals) + b)
            if v.get("drop"): h = torch.nn.functional.dropout(h, v["drop"], True)
            loss = torch.nn.functional.cross_entropy(out(h), y, label_smoothing=v.get("ls", 0.0))
            opt.zero_grad(); loss.backward(); opt.step(); step += 1
        with torch.no_grad():
            ids, o, vals, y = rows(Xte, torch.arange(len(Xte[3])))
            logits = out(act(emb(ids, o, per_sample_weights=vals) + b))
            acc = (logits.argmax(1) == y).float().mean().item()
            r = round(acc, 4)
            if C == 2:
                r = (r, round(roc_auc_score(y.numpy(), torch.softmax(logits, 1)[:, 1].numpy()), 4))
        res.append(r)
    print(json.dumps({"task": task, "v": v, "per_epoch": res}), flush=True)
