# rstanarm / brms fit of sleepstudy (Days | Subject) with their defaults, timed inside R.
# Usage: Rscript stan_sleepstudy.R rstanarm|brms data.csv chains iter warmup cores seed out.json
# Writes the library-loading time, the fit time (brms: includes compiling the Stan model) and the
# smallest bulk ESS over the fixed effects, SDs, correlation and sigma (posterior::ess_bulk).
t0 <- proc.time()[["elapsed"]]
a <- commandArgs(trailingOnly = TRUE)
pkg <- a[1]
suppressMessages({library(jsonlite); library(posterior); library(pkg, character.only = TRUE)})
t_load <- proc.time()[["elapsed"]] - t0
x <- read.csv(a[2], stringsAsFactors = TRUE)
x$Subject <- factor(as.vector(x$Subject))
chains <- as.integer(a[3]); iter <- as.integer(a[4]); warmup <- as.integer(a[5]); cores <- as.integer(a[6])
seed <- as.integer(a[7])
f <- Reaction ~ Days + (Days | Subject)
secs <- system.time(fit <- suppressMessages(suppressWarnings(
  if (pkg == "rstanarm") {
    stan_lmer(f, data = x, chains = chains, iter = iter, warmup = warmup, cores = cores, seed = seed, refresh = 0)
  } else {
    brm(f, data = x, chains = chains, iter = iter, warmup = warmup, cores = cores, seed = seed, refresh = 0,
        silent = 2)
  })))[["elapsed"]]
d <- as_draws_df(if (pkg == "rstanarm") as.array(fit) else fit)
keep <- grep("^(b_|sd_|cor_|sigma$|\\(Intercept\\)$|Days$|Sigma\\[)", variables(d), value = TRUE)
keep <- setdiff(keep, grep("^b\\[", keep, value = TRUE))
ess <- sapply(keep, function(v) ess_bulk(extract_variable_matrix(d, v)))
ess <- ess[is.finite(ess)]
write_json(list(package = pkg, version = as.character(packageVersion(pkg)), load_s = t_load, fit_s = secs,
                cold_s = proc.time()[["elapsed"]] - t0, min_ess_bulk = min(ess), ess_params = names(ess)),
           a[8], digits = NA, auto_unbox = TRUE)
