"""Neural NMF: hierfact.neural_nmf against the published reference package (PyPI `neuralnmf` 1.0.0), side by side.

Run it in the benchmark venv (the reference is never a project dependency):
    /work/benchvenv/bin/python benchmarks/bench_neuralnmf.py               # everything (the supervised reference epoch: 1-2 min)
    /work/benchvenv/bin/python benchmarks/bench_neuralnmf.py --quick       # no supervised epoch, 1 timing pair, 2 epochs
    /work/benchvenv/bin/python benchmarks/bench_neuralnmf.py --large        # also ours on a 10x larger random corpus
    (--threads N, default 1: every library's thread count, set before they load)

Setup (peers.md, section 2): the 20 Newsgroups subsample, X = words x docs (37,693 x 200, tf-idf), layers 10 -> 6,
float64, CPU. The reference gets X dense (it calls .numpy() per column); ours gets it sparse (and, in a second row,
dense). `torch.manual_seed(0)` then the reference's `Neural_NMF([m, 10, 6])` draws the initial A matrices (U(0,1));
ours starts from copies of exactly those (and of the classifier's initial weight in the supervised case).
  unsupervised: reference `train(..., loss_func=Energy_Loss_Func(lambd=1e-6), lr=1e10, weight_decay=0.995,
      decay_epoch=5, optimizer='gd')`: per epoch one plain step A_l -= lr grad (no projection) on the per-entry
      energy sum_l mean((S_{l-1} - A_l S_l)^2). Ours: train_neural_nmf(optimizer='gd', lr=1e10, lr_decay=0.995,
      decay_every=5, reduction='mean', project=False).
  supervised: reference `train_supervised(..., label=y_super, L=ones(6, n), Energy_Loss_Func(lambd=1e-6,
      'CrossEntropy'), lr=[1e10, 1e10], epoch=1)`: per epoch one projected step on the A_l with
      energy + 1e-6 CE(B S_L), then 30 plain steps on B alone, each of which reruns the full forward and backward.
      Ours: lam=1e-6, class_iters=30, project=True, lr=lr_class=1e10, reduction='mean' (B steps on the fixed codes).
Loss values are compared epoch by epoch (relative difference). Timings are interleaved pairs: one reference epoch, then
ours (the median of 10 warm epochs), repeated --reps times, so both sides of a ratio see the same machine load; the
table gives the medians and the range of the per-pair ratios. The supervised reference epoch is run once (minutes).
The machine is shared and noisy: the load average is printed.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

if __name__ == "__main__":
    C.set_threads_from_argv(1)

import argparse
import os
import statistics
import time

import numpy as np
import torch

from hierfact.data import load_newsgroups
from hierfact.tensor import as_tensor
from hierfact.nnls_grad import nnls_layer
from hierfact.neural_nmf import NeuralNMF, train_neural_nmf

try:
    import NeuralNMF as ref
except ImportError as e:  # pragma: no cover
    raise SystemExit("the reference package is missing: /work/benchvenv/bin/pip install neuralnmf==1.0.0 "
                     "(only in the benchmark venv), then run this script with /work/benchvenv/bin/python") from e


def load():
    return os.getloadavg()[0]


def epoch_times(fn):
    """Run fn(callback) and return the per-epoch (wall, CPU) seconds, a (k, 2) array from the callback's time stamps
    (CPU: this process's, every library on one thread, so it is what the epoch cost whatever the machine's load)."""
    stamps = [(time.perf_counter(), time.process_time())]
    fn(lambda *a: stamps.append((time.perf_counter(), time.process_time())))
    return np.diff(np.array(stamps), axis=0)


def med2(ts):
    "Column medians (wall, CPU) of a (k, 2) array of epoch times."
    return tuple(float(v) for v in np.median(ts, axis=0))


def ref_net(m, c=None):
    torch.manual_seed(0)
    net = ref.Neural_NMF([m, 10, 6], c)
    return net, [l.A.data.clone() for l in net.lsqnonneglst], (net.linear.weight.data.clone() if c else None)


def rel(a, b):
    return abs(a - b) / abs(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ref-epochs', type=int, default=3, help='unsupervised reference epochs (each ~3-15 s)')
    ap.add_argument('--reps', type=int, default=3, help='interleaved timing pairs (each: one reference epoch, then ours)')
    ap.add_argument('--no-supervised', action='store_true', help='skip the supervised comparison (its reference epoch takes minutes)')
    ap.add_argument('--large', action='store_true', help='also time ours on a 10x larger random corpus')
    ap.add_argument('--device', default='cpu', help='device for ours (the reference runs on the CPU)')
    ap.add_argument('--data', default=None,
                    help='folder holding newsgroups10_subsample.mat (default: $HIERFACT_DATA, else the copy shipped with hierfact)')
    ap.add_argument('--quick', action='store_true', help='no supervised epoch, one timing pair, 2 reference epochs')
    ap.add_argument('--threads', type=int, default=1, help='threads of every library (default 1)')
    args = ap.parse_args()
    if args.quick: args.no_supervised, args.reps, args.ref_epochs = True, 1, 2
    C.apply_torch_threads(args.threads)
    dev = torch.device(args.device)
    C.header("Neural NMF: hierfact against the reference package neuralnmf",
             f", neuralnmf {ref.__version__}, device for ours: {dev}")
    ng = load_newsgroups(args.data)
    Xs = as_tensor(ng.X, 'X')                          # sparse COO, float64
    Xd = Xs.to_dense()
    m, n = Xd.shape
    timing, agree = [], []

    # ---------------- the NNLS layer alone: forward + backward for A (37,693 x 10), 200 columns (interleaved)
    A = torch.rand(m, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    G = torch.randn(10, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    def ours_layer():
        Ag = A.to(dev).clone().requires_grad_()
        S = nnls_layer(Xs.to(dev), Ag); torch.autograd.grad(S, Ag, G.to(dev))
    def ref_layer():
        S, _ = ref.lsqnonneg_tensor_version(A, Xd)
        ref.calc_grad_A(G, A, S, Xd)
    ours_layer()
    pairs = []
    for _ in range(args.reps):
        t_r = tuple(epoch_times(lambda cb: [ref_layer(), cb()])[0])
        t_o = med2(epoch_times(lambda cb: [[ours_layer(), cb()] for _ in range(11)]))
        pairs.append((t_r, t_o))
    timing.append(("NNLS layer fwd+bwd, A 37693x10, 200 docs", pairs))

    # ---------------- unsupervised: loss agreement over E epochs of one run
    E = args.ref_epochs
    net, A_init, _ = ref_net(m)
    hist = ref.train(net, Xd, loss_func=ref.Energy_Loss_Func(lambd=1e-6), epoch=E, lr=1e10, weight_decay=0.995,
                     decay_epoch=5, optimizer='gd', verbose=False, full_history=True)
    ref_loss = [float(v) for v in hist.get('loss')]
    kw = dict(optimizer='gd', lr=1e10, lr_decay=0.995, decay_every=5, reduction='mean', project=False)
    for name, X in (("sparse X", Xs), ("dense X", Xd)):
        model = NeuralNMF([10, 6], A=A_init, device=dev)
        h = train_neural_nmf(model, X.to(dev), n_epochs=E, **kw)
        agree.append((f"unsupervised, ours {name}", ref_loss, h['loss']))
    # ---------------- unsupervised: time per epoch, interleaved (one reference epoch, then ours) so both see the same load
    models = {name: NeuralNMF([10, 6], A=A_init, device=dev) for name in ("sparse X", "dense X")}
    data = {"sparse X": Xs.to(dev), "dense X": Xd.to(dev)}
    pairs = {name: [] for name in models}
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        ref.train(net, Xd, loss_func=ref.Energy_Loss_Func(lambd=1e-6), epoch=1, lr=1e10, optimizer='gd', verbose=False)
        t_r = (time.perf_counter() - t0, time.process_time() - c0)
        for name, mdl in models.items():
            ts = epoch_times(lambda cb: train_neural_nmf(mdl, data[name], n_epochs=11, callback=cb, **kw))
            pairs[name].append((t_r, med2(ts[1:])))
    for name in models: timing.append((f"unsupervised epoch (energy, 10->6), ours {name}", pairs[name]))

    # ---------------- supervised (one reference epoch: 31 forward/backward passes)
    if not args.no_supervised:
        net, A_init, B_init = ref_net(m, c=6)
        label = torch.as_tensor(ng.y_super, dtype=torch.long)
        L = torch.ones(6, n, dtype=torch.float64)
        t0, c0 = time.perf_counter(), time.process_time()
        hist = ref.train_supervised(net, Xd, label=label, L=L, loss_func=ref.Energy_Loss_Func(lambd=1e-6, classification_type='CrossEntropy'),
                                    epoch=1, lr=[1e10, 1e10], weight_decay=0.995, decay_epoch=5, optimizer='gd',
                                    verbose=False, full_history=True)
        t_ref_s = (time.perf_counter() - t0, time.process_time() - c0)
        ref_first = [float(v) for v in hist.get('loss_classification')]
        ref_steps = [float(v) for v in hist.get('loss')]
        kw_s = dict(lam=1e-6, classification='cross_entropy', reduction='mean', optimizer='gd', lr=1e10, lr_class=1e10,
                    lr_decay=0.995, decay_every=5, class_iters=30, project=True)
        model = NeuralNMF([10, 6], n_classes=6, A=A_init, B=B_init, device=dev)
        h = train_neural_nmf(model, Xs.to(dev), ng.y_super, n_epochs=1, **kw_s)
        agree.append(("supervised, epoch loss (before the A step)", ref_first, h['loss']))
        agree.append(("supervised, the 30 B-step losses", ref_steps, h['classification_steps']))
        model = NeuralNMF([10, 6], n_classes=6, A=A_init, B=B_init, device=dev)
        ts = epoch_times(lambda cb: train_neural_nmf(model, Xs.to(dev), ng.y_super, n_epochs=11, callback=cb, **kw_s))
        timing.append(("supervised epoch (energy + 1e-6 CE, 30 B steps), ours sparse X", [(t_ref_s, med2(ts[1:]))]))

    # ---------------- report
    print(f"### Loss agreement (same initial A, same steps); load average now {load():.1f}\n")
    rows = []
    for name, a, b in agree:
        k = min(len(a), len(b))
        rows.append([name, k, f"{a[0]:.10e}", f"{max(rel(b[i], a[i]) for i in range(k)):.1e}"])
    C.table(["run", "epochs / steps", "first loss (reference)", "max rel. diff"], rows)
    for clock, col in (("wall", 0), ("CPU", 1)):
        print(f"### Time ({clock} seconds, medians of interleaved pairs)\n")
        rows = []
        for name, prs in timing:
            pr = [(a[col], b[col]) for a, b in prs]
            r = [a / b for a, b in pr]
            target = 500 if name.startswith("supervised") else 200 if name.startswith("unsupervised") else 100   # issue 15
            rows.append([name, len(pr), f"{statistics.median(a for a, _ in pr):.3f}", f"{statistics.median(b for _, b in pr):.4f}",
                         f"{statistics.median(r):.0f}x ({min(r):.0f}-{max(r):.0f})",
                         f"{target}x {'met' if statistics.median(r) >= target else 'NOT met'}",
                         " ".join(f"{a:.2f}/{b:.4f}" for a, b in pr)])
        C.table(["what", "pairs", "reference s", "ours s", "ratio (min-max)", "target", "pairs (ref/ours s)"], rows)

    if args.large:
        g = torch.Generator().manual_seed(0)
        n_big = 10 * n
        nnz = 10 * Xs._nnz()
        idx = torch.stack([torch.randint(0, m, (nnz,), generator=g), torch.randint(0, n_big, (nnz,), generator=g)])
        Xbig = torch.sparse_coo_tensor(idx, torch.rand(nnz, generator=g, dtype=torch.float64), (m, n_big)).coalesce()
        model = NeuralNMF([10, 6], m, random_state=0, device=dev)
        ts = epoch_times(lambda cb: train_neural_nmf(model, Xbig.to(dev), n_epochs=10, callback=cb))
        print(f"ours on a random corpus {m} x {n_big} (nnz {Xbig._nnz()}), Adam, energy: {med2(ts[1:])[0]:.4f} s per epoch\n")
    print(f"load average at the end {load():.1f} (the machine is shared: compare the ratios of interleaved pairs)")


if __name__ == '__main__':
    main()
