"""Remove execution timestamps (cell metadata 'execution') from notebooks in nbs/ (all of them, or the names given):
the book stores no run times. Usage: python tools/strip_timings.py [NAME ...]"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
names = [n.removesuffix(".ipynb") for n in sys.argv[1:]]
paths = [root / "nbs" / f"{n}.ipynb" for n in names] if names else sorted((root / "nbs").glob("*.ipynb"))
for p in paths:
    nb = json.loads(p.read_text(encoding="utf-8"))
    changed = False
    for c in nb["cells"]:
        if "execution" in c.get("metadata", {}):
            del c["metadata"]["execution"]; changed = True
    if changed:
        p.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"stripped execution timings from {p.name}")
