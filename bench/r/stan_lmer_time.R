# rstanarm::stan_lmer with its defaults (4 chains, 2000 iterations, half warm-up) on one dataset and formula,
# timed inside R (bench/bayes_scale.py --with-stan; the parent stops it after 30 minutes).
# Usage: Rscript stan_lmer_time.R data.csv "formula" factor,columns out.json
# Writes the fit time, max R-hat and the smallest bulk ESS over the fixed effects, Sigma entries and sigma
# (posterior::rhat / ess_bulk), with 2 cores.
t0 <- proc.time()[["elapsed"]]
a <- commandArgs(trailingOnly = TRUE)
suppressMessages({library(jsonlite); library(posterior); library(rstanarm)})
x <- read.csv(a[1], stringsAsFactors = FALSE)
for (f in strsplit(a[3], ",")[[1]]) if (nzchar(f)) x[[f]] <- factor(x[[f]])
form <- as.formula(a[2])
secs <- system.time(fit <- suppressMessages(suppressWarnings(
  stan_lmer(form, data = x, chains = 4, iter = 2000, cores = 2, seed = 1, refresh = 0))))[["elapsed"]]
d <- as_draws_df(as.array(fit))
keep <- grep("^b\\[", variables(d), value = TRUE, invert = TRUE)
keep <- setdiff(keep, c("lp__", "mean_PPD", "log-posterior"))
ess <- sapply(keep, function(v) ess_bulk(extract_variable_matrix(d, v)))
rh <- sapply(keep, function(v) rhat(extract_variable_matrix(d, v)))
write_json(list(package = "rstanarm", version = as.character(packageVersion("rstanarm")), fit_s = secs,
                cold_s = proc.time()[["elapsed"]] - t0, min_ess_bulk = min(ess[is.finite(ess)]),
                max_rhat = max(rh[is.finite(rh)]), params = keep), a[4], digits = NA, auto_unbox = TRUE)
