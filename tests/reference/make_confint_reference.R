# confint.merMod reference values (profile, Wald, bootstrap percentile) and variance components for ICCs.
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Needs R with lme4, boot, jsonlite. Run from this folder: Rscript make_confint_reference.R
#   -> confint_reference.json
# Notes on what lme4 does (lme4 1.1-31):
# * profile() refits a REML model by ML (devfun2 calls refitML), so profile intervals are those of
#   the ML deviance for REML and ML fits alike;
# * confint(method = "profile") evaluates interpolating splines of the profile at zeta = qnorm(a);
#   the "exact" entries below solve zeta = +-qnorm(a) with uniroot on lme4's own profiled deviance
#   (profile() on a fine grid would do the same), to tell spline error from disagreement;
# * "boot" entries fit the model to the SAME simulated responses hierlm uses
#   (bootstrap_sleep_sims.csv.gz, see make_bootstrap_reference.R), record lme4's bootMer statistic
#   and apply boot's percentile rule (boot:::perc.ci, what confint.bootMer calls).  They use fresh
#   lmer() fits, not refit(): in lme4 1.1-31 refit() of a REML fit rebuilds the response module
#   with REML = TRUE, i.e. 1 instead of p = ncol(X) (refit(m, newresp = y_orig) of
#   lmer(Reaction ~ Days + (Days | Subject)) reports REMLcrit 1751.947 instead of 1743.628), so
#   bootMer / confint(method = "boot") of REML fits optimise a slightly wrong criterion there.
suppressMessages({library(lme4); library(boot); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
DATA_DIR <- file.path("..", "..", "hierlm", "data")
load_data <- function(name, factors) {
  x <- read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in factors) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
tab <- function(ci) list(rows = rownames(ci), cols = colnames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))

out <- list(`_source` = paste("R", getRversion(), "lme4", packageVersion("lme4"), "boot", packageVersion("boot")))
ss <- load_data("sleepstudy", "Subject")
CASES <- list(
  sleep_corr = list(data = "sleepstudy", factors = "Subject", formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE, levels = 0.95),
  sleep_corr_ML = list(data = "sleepstudy", factors = "Subject", formula = "Reaction ~ Days + (Days | Subject)", REML = FALSE, levels = 0.95),
  dyestuff = list(data = "Dyestuff", factors = "Batch", formula = "Yield ~ 1 + (1 | Batch)", REML = TRUE, levels = c(0.95, 0.9)),
  penicillin_ML = list(data = "Penicillin", factors = c("plate", "sample"), formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", REML = FALSE, levels = 0.95),
  pastes = list(data = "Pastes", factors = c("batch", "cask", "sample"), formula = "strength ~ 1 + (1 | batch/cask)", REML = TRUE, levels = 0.95))

for (name in names(CASES)) {
  cs <- CASES[[name]]
  d <- load_data(cs$data, cs$factors)
  m <- lmer(as.formula(cs$formula), d, REML = cs$REML)
  pr <- profile(m, signames = TRUE)
  labels <- rownames(confint(pr, level = 0.95))
  rec <- list(data = cs$data, formula = cs$formula, REML = cs$REML,
              names_new = lme4:::profnames(m, signames = FALSE, useSc = TRUE))
  for (lev in cs$levels) {
    key <- sprintf("%g", 100 * lev)
    rec[[paste0("profile_", key)]] <- tab(confint(pr, level = lev))
    rec[[paste0("wald_", key)]] <- tab(confint(m, method = "Wald", level = lev))
  }
  # exact roots of lme4's own profile: uniroot on zeta, with the other parameters optimised
  dd <- lme4:::devfun2(m, useSc = TRUE, signames = TRUE)
  opt <- attr(dd, "optimum"); base <- attr(dd, "basedev")
  nvp <- length(opt) - length(fixef(m))
  lower <- c(pmax(m@lower, -1), 0); upper <- c(ifelse(m@lower == 0, Inf, 1), Inf)
  z <- qnorm(0.975)
  zeta_var <- function(w, x) {
    f <- function(p) { pp <- opt[seq_len(nvp)]; pp[w] <- x; pp[-w] <- p; dd(pp) }
    o <- nloptr::nloptr(opt[seq_len(nvp)][-w], f, lb = lower[-w], ub = upper[-w],
                        opts = list(algorithm = if (nvp > 2) "NLOPT_LN_BOBYQA" else "NLOPT_LN_COBYLA",
                                    xtol_abs = 1e-12, ftol_abs = 1e-12, maxeval = 1e5))
    sign(x - opt[w]) * sqrt(max(0, o$objective - base))
  }
  exact <- matrix(NA_real_, nvp, 2, dimnames = list(names(opt)[seq_len(nvp)], NULL))
  pci <- confint(pr, level = 0.95)
  for (w in seq_len(nvp)) for (s in 1:2) {
    guess <- pci[w, s]
    if (guess <= lower[w] || guess >= upper[w]) { exact[w, s] <- guess; next }
    g <- function(x) zeta_var(w, x) - c(-z, z)[s]
    iv <- sort(c(opt[w] + 0.2 * (guess - opt[w]), guess + 0.3 * (guess - opt[w])))
    iv[1] <- max(iv[1], lower[w]); iv[2] <- min(iv[2], upper[w])
    exact[w, s] <- uniroot(g, iv, tol = 1e-10)$root
  }
  rec$profile_exact_95 <- list(rows = rownames(exact), lower = unname(exact[, 1]), upper = unname(exact[, 2]))
  out[[name]] <- rec
}

# bootstrap: lme4's bootMer statistic on hierlm's simulated responses, boot's percentile rule
m <- lmer(Reaction ~ Days + (Days | Subject), ss)
Y <- read.csv(gzfile("bootstrap_sleep_sims.csv.gz"))
vn <- lme4:::profnames(m, TRUE, useSc = TRUE)
bootFun <- function(x) c(setNames(lme4:::Cv_to_Sv(x@theta, n = lengths(x@cnms), s = sigma(x)), vn), fixef(x))
fits <- lapply(Y, function(y) suppressMessages(lmer(Reaction ~ Days + (Days | Subject), transform(ss, Reaction = y))))
tt <- t(vapply(fits, bootFun, numeric(length(bootFun(m)))))
perc <- t(apply(tt, 2, function(v) boot:::perc.ci(v[is.finite(v)], conf = 0.95)[1, 4:5]))
out$boot_sleep_corr <- list(formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE, names = colnames(tt),
                            t = unname(tt), REMLcrit = unname(vapply(fits, REMLcrit, 0)), lower = unname(perc[, 1]), upper = unname(perc[, 2]))

# ICC: variance components of random-intercept fits
icc_rec <- function(formula, data) {
  m <- lmer(as.formula(formula), data)
  vc <- as.data.frame(VarCorr(m))
  v <- vc$vcov[vc$grp != "Residual"]
  list(formula = formula, grp = as.character(vc$grp[vc$grp != "Residual"]), icc = v / sum(vc$vcov))
}
out$icc <- list(sleep_int = c(list(data = "sleepstudy"), icc_rec("Reaction ~ 1 + (1 | Subject)", ss)),
                penicillin = c(list(data = "Penicillin"), icc_rec("diameter ~ 1 + (1 | plate) + (1 | sample)",
                                                                   load_data("Penicillin", c("plate", "sample")))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "confint_reference.json")
