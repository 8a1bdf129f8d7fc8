# Times lme4 at its defaults (lmer REML / glmer Laplace / glmer.nb) on a CSV written by bench/freq_speed.py.
# Usage: Rscript freq_speed.R data.csv "formula" family reps warmup factor,cols out.json
#   family: gaussian (lmer), binomial, bernoulli, poisson (glmer) or negbinomial (glmer.nb)
# Plain wall-clock timing around each fit (Sys.time before and after; no system.time, no gc first):
# `warmup` untimed fits, then `reps` timed ones.  Writes the seconds, logLik, lme4's count of deviance
# evaluations (m@optinfo$feval: the whole lmer optimisation, glmer's second stage) and the estimates.
suppressMessages({library(lme4); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
x <- read.csv(a[1], stringsAsFactors = TRUE)
for (k in strsplit(a[6], ",")[[1]]) if (nzchar(k)) x[[k]] <- factor(as.vector(x[[k]]))
f <- as.formula(a[2])
fam <- a[3]
fit <- switch(fam,
  gaussian = function() lmer(f, x),
  binomial = , bernoulli = function() glmer(f, x, family = binomial()),
  poisson = function() glmer(f, x, family = poisson()),
  negbinomial = function() glmer.nb(f, x),
  stop("unknown family ", fam))
quiet <- function() suppressMessages(suppressWarnings(fit()))
for (i in seq_len(as.integer(a[5]))) invisible(quiet())
reps <- as.integer(a[4])
secs <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- Sys.time()
  m <- quiet()
  secs[i] <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
}
write_json(list(seconds = I(secs), loglik = as.numeric(logLik(m)), feval = m@optinfo$feval,
                theta = I(unname(getME(m, "theta"))), fixef = I(unname(fixef(m))),
                nb_theta = if (fam == "negbinomial") getME(m, "glmer.nb.theta") else NULL,
                messages = I(as.character(unlist(m@optinfo$conv$lme4$messages))),
                versions = list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")))),
           a[7], digits = NA, auto_unbox = TRUE)
