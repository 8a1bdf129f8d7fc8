"""Quick figures of the Bayesian engine (hl.blmer), each measured in a fresh process.

    python bench/bayes_quick.py            # sleepstudy cold + warm refit, VerbAgg, InstEval
    python bench/bayes_quick.py --no-insteval

Prints one line per figure: sleepstudy cold fit (fresh process incl. imports) and its minimum bulk
ESS, warm refit on new data (same process, different rows and levels), VerbAgg bernoulli time and
max R-hat, InstEval default fit time and max R-hat.  Timings vary ±30 % on a shared machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

SNIPPETS = {
    "sleepstudy_cold": """
import time, json; t0 = time.perf_counter()
import hierlm as hl
f = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), seed=1, progressbar=False)
t1 = time.perf_counter()
d = f.diagnostics()
sleep = hl.load_dataset("sleepstudy")
new = sleep[sleep.Subject.astype(str) != "308"].assign(Reaction=lambda x: x.Reaction * 1.1)
t2 = time.perf_counter()
g = hl.blmer("Reaction ~ Days + (Days | Subject)", new, seed=2, progressbar=False)
t3 = time.perf_counter()
print(json.dumps(dict(cold_s=t1 - t0, min_bulk_ess=float(d["ESS bulk"].min()), max_rhat=float(d["R-hat"].max()),
                      warm_refit_s=t3 - t2, divergences=int(f.idata.sample_stats.diverging.sum()))))
""",
    "verbagg": """
import time, json, warnings; warnings.simplefilter("ignore"); t0 = time.perf_counter()
import hierlm as hl
f = hl.blmer("r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", hl.load_dataset("VerbAgg"),
             family="bernoulli", seed=1, progressbar=False)
d = f.diagnostics()
print(json.dumps(dict(wall_s=time.perf_counter() - t0, max_rhat=float(d["R-hat"].max()),
                      min_bulk_ess=float(d["ESS bulk"].min()), divergences=int(f.idata.sample_stats.diverging.sum()))))
""",
    "insteval": """
import time, json, warnings; warnings.simplefilter("ignore"); t0 = time.perf_counter()
import hierlm as hl
f = hl.blmer("y ~ service + (1 | s) + (1 | d) + (1 | dept)", hl.load_dataset("InstEval"), seed=1,
             progressbar=False)
d = f.diagnostics()
print(json.dumps(dict(wall_s=time.perf_counter() - t0, max_rhat=float(d["R-hat"].max()),
                      min_bulk_ess=float(d["ESS bulk"].min()), divergences=int(f.idata.sample_stats.diverging.sum()),
                      timings=f.timings, centred=f.settings["centred"])))
""",
}


def run(name: str) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", SNIPPETS[name]], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t0
    return res


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    subprocess.run([sys.executable, "-m", "hierlm.engines.bayes.warmup"], check=True)
    names = ["sleepstudy_cold", "verbagg"] + ([] if "--no-insteval" in argv else ["insteval"])
    for name in names:
        res = run(name)
        print(name, " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.items()),
              flush=True)


if __name__ == "__main__":
    main()
