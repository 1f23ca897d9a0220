#!/usr/bin/env python3
"""Split nbdev export cells longer than LIMIT lines at top-level statement boundaries (comments and blank lines
travel with the statement that follows). Cells keep order; new cells get fresh ids. Prints statements that alone
exceed LIMIT."""
import ast, json, sys, uuid, pathlib
LIMIT = 60

def chunks(src):
    lines = src.split("\n")
    head, body = lines[0], lines[1:]
    tree = ast.parse("\n".join(body))
    starts = []
    for node in tree.body:
        s = node.lineno - 1
        if getattr(node, "decorator_list", None): s = min(d.lineno - 1 for d in node.decorator_list)
        # pull preceding comment lines into this statement
        while s > 0 and body[s - 1].lstrip().startswith("#") : s -= 1
        starts.append(s)
    if not starts: return [src]
    starts[0] = 0
    segs = [body[a:b] for a, b in zip(starts, starts[1:] + [len(body)])]
    out, cur = [], []
    for seg in segs:
        if cur and len(cur) + len(seg) + 1 > LIMIT:
            out.append(cur); cur = []
        cur = cur + seg
    out.append(cur)
    res = []
    for c in out:
        while c and not c[-1].strip(): c = c[:-1]
        while c and not c[0].strip(): c = c[1:]
        if c: res.append("\n".join([head] + c))
    return res

def main(paths):
    for p in paths:
        nb = json.loads(pathlib.Path(p).read_text())
        cells, changed = [], False
        for c in nb["cells"]:
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            first = src.split("\n")[0].strip()
            if c["cell_type"] == "code" and first.startswith("#| export") and len(src.splitlines()) > LIMIT:
                parts = chunks(src)
                for i, s in enumerate(parts):
                    n = dict(c); n["source"] = [l + "\n" for l in s.split("\n")]; n["source"][-1] = n["source"][-1][:-1]
                    if i: n["id"] = uuid.uuid4().hex[:8]; n["outputs"] = []; n["execution_count"] = None
                    elif len(parts) > 1: n["outputs"] = []
                    cells.append(n)
                    if len(s.splitlines()) > LIMIT: print(f"{p}: still {len(s.splitlines())} lines: {s.splitlines()[1][:70]}")
                changed |= len(parts) > 1
            else: cells.append(c)
        if changed:
            nb["cells"] = cells
            pathlib.Path(p).write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")

if __name__ == "__main__": main(sys.argv[1:])
