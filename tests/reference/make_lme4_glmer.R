# Regenerates lme4_glmer.json: extra lme4 reference values for hl.glmer (tests/test_glmer.py).
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Needs R with lme4 and jsonlite. Run from this folder: Rscript make_lme4_glmer.R
# Same data loading and record layout as make_lme4_extra.R (grec() / lrt()).
#  * "<name>_tight": the glmer records of lme4_extra.json / lme4_reference.json refitted with a tightly
#    converged PIRLS (tolPwrss = 1e-12) and optimizer.  With the default tolPwrss = 1e-7, lme4's Laplace
#    deviance is evaluated after a fixed couple of PIRLS steps from the stage-1 linear predictor, which
#    moves e.g. the cbpp standard errors by ~1.3%; hierlm converges PIRLS fully, as these refits do.
#    (grouseticks_poisson: see below.)
#  * anova_cbpp: likelihood-ratio test between two binomial GLMMs (lme4 defaults).
#  * cbpp_nagq0: nAGQ = 0 fit (vcov from RX); verbagg_singular: a boundary (singular) fit.
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))

DATA_DIR <- "/work/shared/data"
FACTOR_COLS <- list(cbpp = c("herd", "period"), grouseticks = c("INDEX", "BROOD", "YEAR", "LOCATION"),
  VerbAgg = c("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2"))
load_data <- function(name) {
  x <- read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in FACTOR_COLS[[name]]) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
out <- list(`_source` = paste("R", getRversion(), "lme4", packageVersion("lme4")))

vc <- function(m) { x <- as.data.frame(VarCorr(m)); for (k in c("grp", "var1", "var2")) x[[k]] <- as.character(x[[k]]); x }
re_list <- function(m) lapply(ranef(m), function(r) { r <- as.data.frame(r); r$level <- rownames(r); r })
grec <- function(name, m, data_name, formula, ...) {
  co <- coef(summary(m)); fam <- family(m)
  conv <- as.list(as.character(m@optinfo$conv$lme4$messages))
  out[[name]] <<- c(list(data = data_name, formula = formula,
    family = fam$family, link = fam$link, nAGQ = m@devcomp$dims[["nAGQ"]],
    fixef = as.list(fixef(m)), se = as.list(co[, "Std. Error"]), varcorr = vc(m),
    logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), deviance = deviance(m),
    nobs = nobs(m), ngrps = as.list(ngrps(m)), singular = isSingular(m),
    ranef = re_list(m), theta = unname(getME(m, "theta")),
    pearson_quantiles = unname(quantile(residuals(m, "pearson", scaled = TRUE))),
    fitted_head = unname(head(fitted(m), 5)), convergence_messages = conv), list(...))
}
lrt <- function(a, models) list(models = models, npar = a$npar, AIC = a$AIC, BIC = a$BIC,
  logLik = a$logLik, deviance = a$deviance, Chisq = a$Chisq, Df = a$Df, p = a[["Pr(>Chisq)"]])

tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
cb <- load_data("cbpp"); gt <- load_data("grouseticks"); va <- load_data("VerbAgg")

grec("cbpp_binomial_tight", glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial,
     control = tight), "cbpp", "cbind(incidence, size - incidence) ~ period + (1|herd)")
grec("cbpp_prop_tight", glmer(incidence/size ~ period + (1 | herd), cb, weights = size, family = binomial,
     control = tight), "cbpp", "incidence/size ~ period + (1|herd)", weights = "size")
grec("cbpp_prop_agq10_tight", glmer(incidence/size ~ period + (1 | herd), cb, weights = size, family = binomial,
     nAGQ = 10, control = tight), "cbpp", "incidence/size ~ period + (1|herd)", weights = "size")
grec("cbpp_poisson_offset_tight", glmer(incidence ~ period + offset(log(size)) + (1 | herd), cb, family = poisson,
     control = tight), "cbpp", "incidence ~ period + offset(log(size)) + (1|herd)")
# grouseticks_poisson has no tight refit: lme4's default fit is already converged (hierlm matches it to 5e-5),
# while with tolPwrss = 1e-12 lme4's finite-difference Hessian moves SE(cHEIGHT) to 0.00349 (hierlm's Hessian
# gives 0.0034385 for steps 1e-3 .. 1e-5, lme4's default 0.0034383) and bobyqa with rhoend = 1e-10 stops early.
grec("verbagg_crossed_tight", glmer(r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), va, family = binomial,
     control = tight), "VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item)")
grec("verbagg_slope_tight", glmer(r2 ~ mode + (1 + mode | item), va, family = binomial, control = tight), "VerbAgg",
     "r2 ~ mode + (1 + mode|item)",
     note = "every item has one mode, so only var(item) and var(item + modewant) are identified: SD of modewant and the correlation lie on a ridge")
# glmer.nb()'s refits stop ("pwrssUpdate did not converge") with a tight tolPwrss, so profile over the
# NB theta with fresh glmer() fits instead (the same optimum: glmer.nb maximises this profile too)
nbfit <- function(t) glmer(TICKS ~ YEAR + cHEIGHT + (1 | LOCATION), data = gt,
                           family = MASS::negative.binomial(theta = exp(t)), control = tight)
opt_nb <- optimize(function(t) -2 * as.numeric(logLik(nbfit(t))), log(2.05) + c(-1, 1), tol = 1e-9)
nb <- nbfit(opt_nb$minimum)
grec("grouseticks_nb_tight", nb, "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|LOCATION)",
     nb_theta = exp(opt_nb$minimum), fitter = "optimize over log(theta) of glmer(negative.binomial(theta))")

grec("cbpp_nagq0", glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial, nAGQ = 0),
     "cbpp", "cbind(incidence, size - incidence) ~ period + (1|herd)")

grec("verbagg_singular", glmer(r2 ~ Anger + (Anger | item), va, family = binomial), "VerbAgg",
     "r2 ~ Anger + (Anger|item)", note = "singular fit (lme4 defaults)")

m0 <- glmer(cbind(incidence, size - incidence) ~ 1 + (1 | herd), cb, family = binomial)
m1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial)
out$anova_cbpp <- c(lrt(anova(m0, m1), c("cbpp_null", "cbpp_binomial")),
  list(formulas = c("cbind(incidence, size - incidence) ~ 1 + (1|herd)",
                    "cbind(incidence, size - incidence) ~ period + (1|herd)"), data = "cbpp"))
out$summary_cbpp <- paste(capture.output(print(summary(m1))), collapse = "\n")

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "lme4_glmer.json")
