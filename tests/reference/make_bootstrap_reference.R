# Parametric-bootstrap LRT reference: lme4 refits of the SAME simulated responses hierlm uses.
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Inputs: bootstrap_<case>_sims.csv.gz (one column per replicate), written by
#   .venv/bin/python tests/test_inference.py --make-sims
# (hierlm simulates from the ML fit of the null model, as pbkrtest's PBrefdist does).
# For every replicate both models are refitted with lme4's refit() (ML, start at the original θ),
# as pbkrtest's .get_refdist_merMod does, and 2 (logLik(large) - logLik(small)) is recorded with
# both log-likelihoods and any convergence messages; the p-values come from pbkrtest's PBmodcomp
# given that reference distribution.  Needs R with lme4, pbkrtest, jsonlite.
# Run from this folder: Rscript make_bootstrap_reference.R   ->  bootstrap_reference.json
suppressMessages({library(lme4); library(pbkrtest); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
DATA_DIR <- file.path("..", "..", "hierlm", "data")
load_data <- function(name, factors) {
  x <- read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in factors) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
CASES <- list(
  sleep = list(data = "sleepstudy", factors = "Subject",
               small = "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
               large = "Reaction ~ Days + (Days | Subject)"),
  sitka = list(data = "Sitka", factors = c("tree", "treat"),
               small = "size ~ Time + I(Time^2) + (1 | tree)",
               large = "size ~ treat*(Time + I(Time^2)) + (1 | tree)"))

msgs <- function(m) {
  out <- c(m@optinfo$conv$lme4$messages, m@optinfo$warnings)
  if (is.null(out)) character(0) else as.character(unlist(out))
}
out <- list(`_source` = paste("R", getRversion(), "lme4", packageVersion("lme4"),
                              "pbkrtest", packageVersion("pbkrtest")))
for (name in names(CASES)) {
  cs <- CASES[[name]]
  d <- load_data(cs$data, cs$factors)
  sm <- lmer(as.formula(cs$small), d, REML = FALSE)
  lg <- lmer(as.formula(cs$large), d, REML = FALSE)
  Y <- read.csv(gzfile(paste0("bootstrap_", name, "_sims.csv.gz")))
  ll0 <- ll1 <- stat <- numeric(ncol(Y))
  conv <- character(ncol(Y))
  for (i in seq_len(ncol(Y))) {
    s2 <- suppressMessages(refit(sm, newresp = Y[[i]]))
    l2 <- suppressMessages(refit(lg, newresp = Y[[i]]))
    ll0[i] <- as.numeric(logLik(s2, REML = FALSE))
    ll1[i] <- as.numeric(logLik(l2, REML = FALSE))
    stat[i] <- 2 * (ll1[i] - ll0[i])
    conv[i] <- paste(c(msgs(s2), msgs(l2)), collapse = "; ")
  }
  pb <- PBmodcomp(lg, sm, ref = stat)
  tobs <- 2 * (as.numeric(logLik(lg)) - as.numeric(logLik(sm)))
  out[[name]] <- list(data = cs$data, small = cs$small, large = cs$large, nsim = ncol(Y),
    tobs = tobs, df = pb$test["LRT", "df"], p_chisq = pb$test["LRT", "p.value"],
    p_pbkrtest = pb$test["PBtest", "p.value"],
    p_standard = (1 + sum(stat >= tobs)) / (1 + length(stat)),
    stats = stat, loglik_small = ll0, loglik_large = ll1, messages = conv)
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "bootstrap_reference.json")
