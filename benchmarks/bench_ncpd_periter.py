"""Per-iteration time on 200^3 rank 10, by difference of 40- and 10-iteration calls (the fixed cost of a call cancels),
hierfact (n_inner 1 and 3) against tensorly non_negative_parafac_hals and tensortools ncp_hals, interleaved, medians of 5.
    PYTHONPATH=. /work/benchvenv/bin/python benchmarks/bench_ncpd_periter.py"""
import sys, time, statistics, warnings, numpy as np, torch
sys.argv=[sys.argv[0]]; from pathlib import Path; sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C; C.set_threads_from_argv(1)
warnings.filterwarnings("ignore"); torch.set_num_threads(1)
from bench_ncpd import exact_200
from hierfact.ncpd import ncpd, ncpd_init
import tensortools; from tensortools.tensors import KTensor
from tensorly.cp_tensor import CPTensor; from tensorly.decomposition import non_negative_parafac_hals
X=exact_200(); Xt=torch.as_tensor(X); r=10
F0=[f.clone() for f in ncpd_init(Xt,r,'random',random_state=0).factors]; Fn=[f.numpy().copy() for f in F0]
def per_it(f, a, b):   # (time(b) - time(a)) / (b - a): the fixed cost of a call cancels
    return f(a), f(b)
fns={}
for N in (10,40):
    fns[("hierfact n_inner=1",N)]=lambda N=N: ncpd(Xt,r,init=(None,F0),n_iter_max=N,tol=0,n_inner=1)
    fns[("hierfact n_inner=3",N)]=lambda N=N: ncpd(Xt,r,init=(None,F0),n_iter_max=N,tol=0,n_inner=3)
    fns[("tensorly hals",N)]=lambda N=N: non_negative_parafac_hals(X,r,init=CPTensor((np.ones(r),[f.copy() for f in Fn])),n_iter_max=N,tol=0)
    fns[("tensortools ncp_hals",N)]=lambda N=N: tensortools.ncp_hals(X,r,init=KTensor([f.copy() for f in Fn]),max_iter=N-1,min_iter=N,tol=0,verbose=False)
M=torch.rand(2000,2000,dtype=torch.float64); fns[("mm",0)]=lambda: M@M
fns[("sum",0)]=lambda: Xt.sum()
times,_=C.interleaved(fns,5)
med=lambda k: statistics.median(times[k])
print(f"load {C.load_avg():.2f}; matmul {2*2000**3/med(('mm',0))/1e9:.1f} GFLOP/s; X.sum {8*X.size/med(('sum',0))/1e9:.1f} GB/s")
names=sorted({k[0] for k in fns if k[1]})
for n in names:
    pi=(med((n,40))-med((n,10)))/30
    print(f"{n:25s} ms/iter (40-10 difference) {1e3*pi:7.2f}; whole 40-iteration call {med((n,40)):.2f} s")
