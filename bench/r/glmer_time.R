# Times lme4::glmer (Laplace, nAGQ = 1) inside R (system.time, elapsed) on a CSV written by the benchmark.
# Usage: Rscript glmer_time.R data.csv "formula" family reps factor,cols out.json
suppressMessages({library(lme4); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
x <- read.csv(a[1], stringsAsFactors = TRUE)
for (k in strsplit(a[5], ",")[[1]]) if (nzchar(k)) x[[k]] <- factor(as.vector(x[[k]]))
f <- as.formula(a[2])
fam <- switch(a[3], binomial = binomial(), bernoulli = binomial(), poisson = poisson())
reps <- as.integer(a[4])
secs <- numeric(reps)
for (i in seq_len(reps)) secs[i] <- system.time(m <- suppressMessages(suppressWarnings(glmer(f, x, family = fam))))[["elapsed"]]
write_json(list(seconds = I(secs), loglik = as.numeric(logLik(m)), fixef = as.list(fixef(m)),
                vcov = as.data.frame(VarCorr(m))$vcov,
                versions = list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")))),
           a[6], digits = NA, auto_unbox = TRUE)
