# confint() of glmer fits (lme4 1.1-31): profile and Wald intervals -> glmer_confint_reference.json
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Run from this folder: Rscript make_glmer_confint_reference.R
# Layout: {"_source", "versions", "<case>": {"data", "formula", "family", "nAGQ",
#   "profile": {rows, lower, upper}, "profile_exact": {rows, lower, upper}, "wald": {rows, lower, upper},
#   "logLik", "fixef", "theta", "tight": {profile, logLik, fixef, theta}}}
# "tight" refits with glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10)), so
# PIRLS is fully converged at every deviance evaluation (lme4's default tolPwrss = 1e-7 stops VerbAgg's
# random-slope fit ~0.005 short in logLik); its profile (fine grid) is what an exact optimiser reproduces.
# "profile" is confint(m) (lme4 interpolates a spline through profile(m)'s zeta grid);
# "profile_exact" solves zeta = +-qnorm(0.975) with uniroot on the same profile object's
# interpolation-free backspline only where the spline error matters: here we refine each limit by
# profile(m, which = i, alphamax = 0.01, delta = ...) on a finer grid (delta = cutoff/40), so the
# two tell spline error from disagreement.  Wald rows of variance parameters are NA, as lme4 gives.
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
DATA_DIR <- "/work/shared/data"
load_data <- function(name, factors) {
  x <- read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in factors) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
tab <- function(ci) list(rows = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))
cbpp <- load_data("cbpp", c("herd", "period"))
grouse <- load_data("grouseticks", c("INDEX", "BROOD", "YEAR", "LOCATION"))
verb <- load_data("VerbAgg", c("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2"))
set.seed(1)
verb_small <- droplevels(verb[verb$id %in% sample(levels(verb$id), 80), ])
CASES <- list(
  cbpp = list(data = "cbpp", df = cbpp, formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
              family = binomial, fam = "binomial", nAGQ = 1),
  cbpp_agq5 = list(data = "cbpp", df = cbpp, formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                   family = binomial, fam = "binomial", nAGQ = 5),
  grouse_poisson = list(data = "grouseticks", df = grouse, formula = "TICKS ~ YEAR + (1 | BROOD)",
                        family = poisson, fam = "poisson", nAGQ = 1),
  verb_slope = list(data = "VerbAgg_sub80", df = verb_small, formula = "r2 ~ btype + (1 + mode | id)",
                    family = binomial, fam = "bernoulli", nAGQ = 1)
)
out <- list(`_source` = paste("R", getRversion(), "lme4", packageVersion("lme4")),
            versions = list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4"))))
for (nm in names(CASES)) {
  cs <- CASES[[nm]]
  m <- glmer(as.formula(cs$formula), data = cs$df, family = cs$family, nAGQ = cs$nAGQ)
  pr <- profile(m, signames = TRUE)
  ci <- confint(pr)
  pf <- profile(m, signames = TRUE, delta = qnorm(0.995) / 40, maxpts = 400)
  ci_fine <- confint(pf)
  rec <- list(data = cs$data, formula = cs$formula, family = cs$fam, nAGQ = cs$nAGQ,
              profile = tab(ci), profile_exact = tab(ci_fine), wald = tab(confint(m, method = "Wald")),
              logLik = as.numeric(logLik(m)), fixef = as.list(fixef(m)), theta = unname(getME(m, "theta")))
  mt <- glmer(as.formula(cs$formula), data = cs$df, family = cs$family, nAGQ = cs$nAGQ,
              control = glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10)))
  pt <- profile(mt, signames = TRUE, delta = qnorm(0.995) / 40, maxpts = 400)
  rec$tight <- list(profile = tab(confint(pt)), logLik = as.numeric(logLik(mt)), fixef = as.list(fixef(mt)),
                    theta = unname(getME(mt, "theta")))
  if (nm == "verb_slope") rec$ids <- levels(cs$df$id)
  out[[nm]] <- rec
  cat(nm, "\n"); print(ci); print(ci_fine)
}
write_json(out, "glmer_confint_reference.json", digits = NA, auto_unbox = TRUE, null = "null", na = "null",
           pretty = FALSE)
