"""bambi baseline: sleepstudy ``Reaction ~ Days + (Days | Subject)`` (bambi's group terms are
uncorrelated, i.e. lme4's ``(Days || Subject)``), bambi's default priors, sampled with nutpie.

Usage: python bayes_bambi.py DATA.csv DRAWS TUNE CHAINS SEED; prints one JSON line.
"""

import time

T0 = time.perf_counter()
import json  # noqa: E402
import sys  # noqa: E402

import arviz as az  # noqa: E402
import bambi as bmb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

T_IMPORT = time.perf_counter()


def main():
    path, draws, tune, chains, seed = sys.argv[1:6]
    df = pd.read_csv(path)
    df["Subject"] = df["Subject"].astype(str).astype("category")
    model = bmb.Model("Reaction ~ Days + (Days | Subject)", df)
    idata = model.fit(draws=int(draws), tune=int(tune), chains=int(chains), random_seed=int(seed),
                      inference_method="nutpie", progressbar=False)
    t1 = time.perf_counter()
    post = idata["posterior"].to_dataset() if hasattr(idata["posterior"], "to_dataset") else idata.posterior
    names = ["Intercept", "Days", "sigma", "1|Subject_sigma", "Days|Subject_sigma"]
    ess = az.ess(post[names], method="bulk")
    print(json.dumps({"import_s": T_IMPORT - T0, "fit_s": t1 - T_IMPORT, "cold_s": t1 - T0,
                      "min_ess_bulk": float(min(float(np.min(ess[v].values)) for v in names)),
                      "version": bmb.__version__, "sampler": "nutpie"}))


if __name__ == "__main__":
    main()
