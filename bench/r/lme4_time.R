# Times lme4::lmer inside R (system.time, elapsed) on a CSV written by the benchmark.
# Usage: Rscript lme4_time.R data.csv "formula" REML(TRUE/FALSE) reps warmup factor,cols out.json
suppressMessages({library(lme4); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
x <- read.csv(a[1], stringsAsFactors = TRUE)
for (k in strsplit(a[6], ",")[[1]]) if (nzchar(k)) x[[k]] <- factor(as.vector(x[[k]]))
f <- as.formula(a[2])
reml <- as.logical(a[3])
reps <- as.integer(a[4])
for (i in seq_len(as.integer(a[5]))) invisible(suppressMessages(suppressWarnings(lmer(f, x, REML = reml))))
secs <- numeric(reps)
for (i in seq_len(reps)) secs[i] <- system.time(m <- suppressMessages(suppressWarnings(lmer(f, x, REML = reml))))[["elapsed"]]
crit <- if (reml) REMLcrit(m) else deviance(m)
write_json(list(seconds = I(secs), criterion = crit, sigma = sigma(m), theta = unname(getME(m, "theta")),
                vcov = as.data.frame(VarCorr(m))$vcov,
                versions = list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")))),
           a[7], digits = NA, auto_unbox = TRUE)
