"""The main job, `hierfact topics --out DIR` (Multi-HNTF 8-4-2 on the shipped health-news tweets), phase by phase.

Each repetition starts fresh Python processes (so imports and the first read of the data count, as for a user):
  * a child that runs the CLI's own steps (`hierfact.cli.main`) with timers wrapped around the functions it calls, and
    prints the wall and CPU (user + sys of the process) seconds of each phase;
  * the console command itself, `python -c "from hierfact.cli import main; main()" topics --out DIR --quiet`, timed
    from outside: wall and user + sys of the child (`os.wait4`).
With `--roots A B ...` the same is done for several checkouts (PYTHONPATH=root), round robin per repetition, so that the
load of a shared machine hits them alike; medians are printed.

    python benchmarks/main_job.py [--reps 3] [--roots . /path/to/other/checkout] [--threads 1]

Phases (exclusive: a phase's time does not include the phases listed inside it):
  import       `import hierfact.cli` (torch, tensorly, ... whatever the package imports at the top)
  read         reading healthtweets.zip (the CSV rows, accounts, tweet ids)
  clean+count  cleaning the texts and counting the words (document x word counts, the vocabulary)
  tensor       the account x month x word tensor from the counts, and the rest of `load_dataset`
  fit          `fit_hierarchy` (Multi-HNTF 8-4-2 with the library's defaults)
  report       the printed report
  save         model.npz, topic_tree.json and the rest of `save_outputs` not listed below
  figures      building the three figures (plot_mode_heatmaps, plot_topic_tree, plot_trends; matplotlib's import
               lands here when nothing imported it before)
  savefig      rendering and writing the PNGs (`Figure.savefig`)
  html         topics.html (`topics_html`, with plotly.js read from the plotly package)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PHASES = ["import", "read", "clean+count", "tensor", "fit", "report", "save", "figures", "savefig", "html"]


def _cpu():
    r = os.times()
    return r.user + r.system


def child(out):
    "Run the main job in this process with timers; print the phases as JSON on the last line."
    acc = {}                                    # name -> [wall, cpu] inclusive

    def timed(name, f):
        def g(*a, **k):
            w, c = time.perf_counter(), _cpu()
            try: return f(*a, **k)
            finally:
                s = acc.setdefault(name, [0.0, 0.0])
                s[0] += time.perf_counter() - w; s[1] += _cpu() - c
        return g

    w0, c0 = time.perf_counter(), _cpu()
    import hierfact.cli as cli
    import hierfact.topic_page as topic_page
    acc["import"] = [time.perf_counter() - w0, _cpu() - c0]
    import hierfact.data as data
    import hierfact.plots as plots
    for mod, name, phase in [(data, "_read_tweets_csv", "read"), (data, "tweets_counts", "counts"),
                             (cli, "load_dataset", "load"), (cli, "fit_hierarchy", "fit"), (cli, "report", "report"),
                             (cli, "save_outputs", "save"), (topic_page, "topics_html", "html"),
                             (plots, "plot_mode_heatmaps", "figures"), (plots, "plot_topic_tree", "figures"),
                             (plots, "plot_trends", "figures")]:
        setattr(mod, name, timed(phase, getattr(mod, name)))
    import matplotlib.figure
    matplotlib.figure.Figure.savefig = timed("savefig", matplotlib.figure.Figure.savefig)
    w1, c1 = time.perf_counter(), _cpu()
    import contextlib, io
    sys.argv = ["hierfact", "topics", "--out", out, "--quiet"]     # as the console script calls it: main()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = cli.main()
    assert rc == 0, rc
    total = [time.perf_counter() - w1 + acc["import"][0], _cpu() - c1 + acc["import"][1]]
    z = [0.0, 0.0]
    g = lambda k: acc.get(k, z)
    sub = lambda a, *bs: [a[i] - sum(b[i] for b in bs) for i in range(2)]
    res = {"import": g("import"), "read": g("read"), "clean+count": sub(g("counts"), g("read")),
           "tensor": sub(g("load"), g("counts")), "fit": g("fit"), "report": g("report"),
           "save": sub(g("save"), g("figures"), g("savefig"), g("html")), "figures": g("figures"),
           "savefig": g("savefig"), "html": g("html")}
    res["other"] = sub(total, *res.values())
    res["total"] = total
    print(json.dumps(res))


def run_cli(root, out):
    "Wall and user+sys seconds of the console command in a fresh process with PYTHONPATH=root."
    env = dict(os.environ, PYTHONPATH=root)
    cmd = [sys.executable, "-P", "-c", "import sys; from hierfact.cli import main; sys.exit(main())",
           "topics", "--out", out, "--quiet"]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0: raise RuntimeError(f"{root}: hierfact topics failed: {p.stderr.read().decode()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime


def run_child(root, out):
    env = dict(os.environ, PYTHONPATH=root)
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", out], env=env, capture_output=True,
                       text=True)
    if r.returncode != 0: raise RuntimeError(f"{root}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--child"]: return child(argv[1])
    reps = int(argv[argv.index("--reps") + 1]) if "--reps" in argv else 3
    threads = argv[argv.index("--threads") + 1] if "--threads" in argv else "1"
    roots = [ROOT]
    if "--roots" in argv:
        i = argv.index("--roots") + 1; roots = []
        while i < len(argv) and not argv[i].startswith("--"): roots.append(os.path.abspath(argv[i])); i += 1
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"): os.environ[v] = threads
    import platform
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print("## The main job: `hierfact topics --out DIR` (Multi-HNTF 8-4-2, health-news tweets)\n")
    print(f"python {platform.python_version()}, CPU {cpu}, {os.cpu_count()} cpus, {threads} thread(s) per library, "
          f"{reps} repetition(s), load average at start {os.getloadavg()[0]:.2f}\n")
    phases = {r: [] for r in roots}; cli = {r: [] for r in roots}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(reps):
            for j, r in enumerate(roots):
                phases[r].append(run_child(r, os.path.join(tmp, f"p{j}_{k}")))
                cli[r].append(run_cli(r, os.path.join(tmp, f"c{j}_{k}")))
    med = statistics.median
    names = [os.path.relpath(r, ROOT) if r != ROOT else "this checkout" for r in roots]
    print("Per phase, medians of the in-process timers (wall s / CPU s = user + sys):\n")
    print("| phase | " + " | ".join(f"{n}: wall | {n}: CPU" for n in names) + " |")
    print("|---|" + "---|---|" * len(roots))
    for ph in PHASES + ["other", "total"]:
        cells = []
        for r in roots:
            cells += [f"{med(p[ph][0] for p in phases[r]):.2f}", f"{med(p[ph][1] for p in phases[r]):.2f}"]
        print(f"| {ph} | " + " | ".join(cells) + " |")
    print("\nThe console command end to end (fresh process; medians, min in brackets):\n")
    print("| checkout | wall s | user + sys s |")
    print("|---|---|---|")
    for n, r in zip(names, roots):
        w = [x[0] for x in cli[r]]; c = [x[1] for x in cli[r]]
        print(f"| {n} | {med(w):.2f} ({min(w):.2f}) | {med(c):.2f} ({min(c):.2f}) |")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
