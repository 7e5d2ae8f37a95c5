"""Times `moat vet` on a 2,000-tool tools/list made from the published
servers' lists in tests/vet/real (repeated, each copy's names suffixed).

    python3 bench/vet_speed.py target/release/moat [RUNS]

Prints each run's wall time and the median; the issue's target is under a
second for 2,000 tools in a release build. Timing lives here, never in tests.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
moat = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7

tools = []
for path in sorted((ROOT / "tests/vet/real").glob("*/*.json")):
    tools += json.loads(path.read_text())["tools"]
listing, copy = [], 0
while len(listing) < 2000:
    for tool in tools[: 2000 - len(listing)]:
        listing.append({**tool, "name": f"{tool['name']}_{copy}"})
    copy += 1

with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
    json.dump({"tools": listing}, file)
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run([moat, "vet", file.name], stdout=subprocess.DEVNULL, check=False)
    times.append(time.perf_counter() - start)
print(" ".join(f"{t:.3f}" for t in times))
print(f"moat vet, {len(listing)} tools: median {statistics.median(times):.3f} s over {runs} runs")
Path(file.name).unlink()
