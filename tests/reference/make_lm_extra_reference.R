# Regenerates lm_extra_reference.json: R reference numbers for hl.lm / hl.glm, influence and prediction intervals
# that course_reference.json does not hold (it is the companion of that file; same data conventions).
# R is only used to produce these committed numbers; it is never a runtime dependency.
# Run from this folder:  Rscript make_lm_extra_reference.R   (a few seconds)
# Produced with R 4.2, lme4 1.1-31, jsonlite 1.8.4 (versions are stored in "versions").
#
# Data: as make_course_reference.R -- hierlm datasets from /work/shared/data/<name>.csv and extra datasets from
# data/<name>.csv (LC_COLLATE=C, read.csv(stringsAsFactors=TRUE), factor(as.vector(x)) on the factor columns, so
# numeric-looking levels are ordered numerically and others in code-point order: warpbreaks tension is H, L, M).
#
# JSON layout (tables: objects keyed by R's row name, rows keyed by R's column name; NA -> null):
#   lm_sequential{name: {data, formula, weights, table}}          anova(lm) (type I F table)
#   glm_sequential{name: {data, formula, family, test, table}}     anova(glm, test = ...)
#   glm_list{name: {data, formulas[], family, test, table}}        anova(glm0, glm1, test = ...)
#   glm_gaussian{name: {data, formula, coefficients, dispersion, deviance, null_deviance, df_residual, df_null,
#       logLik, logLik_df, AIC, BIC, iter, rstudent[], rstandard[], cooks_distance[], hatvalues[]}}
#   glm_rstudent{name: {data, formula, family, rstudent[]}}
#   glmm_hat_tight{name: {data, formula, family, theta[], beta[], hatvalues[], cooks_distance[], pearson[]}}
#       lme4 glmer refitted with tolPwrss = 1e-12 and bobyqa rhoend = 1e-12, so that its working weights are those
#       of its reported conditional modes; hierlm evaluates its hat values at these theta and beta.
#   lmer_intervals{name: {data, formula, REML, family, newdata[], re_form, allow_new_levels, level,
#       confidence{fit[], lwr[], upr[]}, prediction{...} | null, theta[], beta[], sigma}}
#       The GLMM FAQ recipe (no single R function does this): pvar = diag(X vcov X'); confidence = fit +- z sqrt(pvar);
#       prediction = fit +- z sqrt(pvar + sum over random effects not conditioned on of z' Sigma z + sigma^2), where
#       "not conditioned on" = blocks left out by re.form, and new levels (allow.new.levels) of kept blocks.
#       glmer: confidence on the link scale, back-transformed with plogis.  z = qnorm((1 + level) / 2).
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))

num <- function(x) { x <- unname(as.numeric(x)); x[!is.finite(x)] <- NA; x }
tab_rows <- function(tab) {
  tab <- as.data.frame(tab, check.names = FALSE)
  rn <- rownames(tab)
  setNames(lapply(seq_len(nrow(tab)), function(i)
    setNames(lapply(names(tab), function(k) num(tab[[k]][i])), names(tab))), rn)
}
arr <- function(x) I(num(x))
hl_data <- function(name, factors) {
  x <- read.csv(file.path("/work/shared/data", paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in factors) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
ext_data <- function(name, factors) {
  x <- read.csv(file.path("data", paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in factors) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
mt <- hl_data("mtcars", character(0))
cb <- hl_data("cbpp", c("herd", "period"))
ss <- hl_data("sleepstudy", "Subject")
pe <- hl_data("Penicillin", c("plate", "sample"))
od <- hl_data("Orthodont", c("Subject", "Sex"))
gt <- hl_data("grouseticks", c("INDEX", "BROOD", "YEAR", "LOCATION"))
tg <- ext_data("ToothGrowth", "supp")
wb <- ext_data("warpbreaks", c("wool", "tension"))
DATA <- list(mtcars = mt, cbpp = cb, sleepstudy = ss, Penicillin = pe, Orthodont = od, grouseticks = gt,
             ToothGrowth = tg, warpbreaks = wb)

out <- list(`_source` = "make_lm_extra_reference.R",
  versions = list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")),
                  jsonlite = as.character(packageVersion("jsonlite"))))

## ------------------------------------------------------------------ sequential and nested anova tables
LS <- list()
for (case in list(list("mtcars_wt_hp", "mtcars", "mpg ~ wt + hp", NULL),
                  list("toothgrowth_int", "ToothGrowth", "len ~ supp * dose", NULL),
                  list("warpbreaks_int", "warpbreaks", "breaks ~ wool * tension", NULL),
                  list("cbpp_weighted", "cbpp", "incidence/size ~ period", "size"),
                  list("mtcars_cyl", "mtcars", "mpg ~ wt * factor(cyl)", NULL))) {
  d <- DATA[[case[[2]]]]
  m <- if (is.null(case[[4]])) lm(as.formula(case[[3]]), d) else lm(as.formula(case[[3]]), d, weights = d[[case[[4]]]])
  LS[[case[[1]]]] <- list(data = case[[2]], formula = case[[3]], weights = case[[4]], table = tab_rows(anova(m)))
}
out$lm_sequential <- LS

GS <- list()
for (case in list(list("cbpp_binomial_F", "cbpp", "cbind(incidence, size - incidence) ~ period", "binomial", "Chisq"),
                  list("mtcars_gaussian_F", "mtcars", "mpg ~ wt + hp + factor(am)", "gaussian", "F"),
                  list("mtcars_gaussian_Chisq", "mtcars", "mpg ~ wt + hp + factor(am)", "gaussian", "Chisq"),
                  list("cbpp_poisson_offset", "cbpp", "incidence ~ period + offset(log(size))", "poisson", "Chisq"))) {
  m <- glm(as.formula(case[[3]]), get(case[[4]])(), DATA[[case[[2]]]])
  GS[[case[[1]]]] <- list(data = case[[2]], formula = case[[3]], family = case[[4]], test = case[[5]],
                          table = tab_rows(anova(m, test = case[[5]])))
}
out$glm_sequential <- GS

GL <- list()
for (case in list(list("cbpp_binomial", "cbpp", c("cbind(incidence, size - incidence) ~ 1", "cbind(incidence, size - incidence) ~ period"), "binomial", "Chisq"),
                  list("warpbreaks_poisson", "warpbreaks", c("breaks ~ wool + tension", "breaks ~ wool * tension"), "poisson", "Chisq"),
                  list("mtcars_gaussian", "mtcars", c("mpg ~ wt", "mpg ~ wt + hp", "mpg ~ wt * hp"), "gaussian", "F"))) {
  ms <- lapply(case[[3]], function(f) glm(as.formula(f), get(case[[4]])(), DATA[[case[[2]]]]))
  GL[[case[[1]]]] <- list(data = case[[2]], formulas = I(case[[3]]), family = case[[4]], test = case[[5]],
                          table = tab_rows(do.call(anova, c(ms, list(test = case[[5]])))))
}
out$glm_list <- GL

## ------------------------------------------------------------------ Gaussian glm and glm rstudent
m <- glm(mpg ~ wt + hp, gaussian, mt)
s <- summary(m); ll <- logLik(m)
out$glm_gaussian <- list(mtcars_wt_hp = list(data = "mtcars", formula = "mpg ~ wt + hp",
  coefficients = tab_rows(coef(s)), dispersion = s$dispersion, deviance = deviance(m), null_deviance = m$null.deviance,
  df_residual = df.residual(m), df_null = m$df.null, logLik = as.numeric(ll), logLik_df = attr(ll, "df"),
  AIC = AIC(m), BIC = BIC(m), iter = m$iter, rstudent = arr(rstudent(m)), rstandard = arr(rstandard(m)),
  cooks_distance = arr(cooks.distance(m)), hatvalues = arr(hatvalues(m))))
RS <- list()
for (case in list(list("cbpp_binomial", "cbpp", "cbind(incidence, size - incidence) ~ period", "binomial"),
                  list("warpbreaks_poisson", "warpbreaks", "breaks ~ wool * tension", "poisson"),
                  list("mtcars_bernoulli", "mtcars", "am ~ wt + hp", "binomial"))) {
  m <- glm(as.formula(case[[3]]), get(case[[4]])(), DATA[[case[[2]]]])
  RS[[case[[1]]]] <- list(data = case[[2]], formula = case[[3]], family = case[[4]], rstudent = arr(rstudent(m)))
}
out$glm_rstudent <- RS

## ------------------------------------------------------------------ GLMM hat values at a fully converged PIRLS
TIGHT <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
GH <- list()
for (case in list(list("cbpp_glmer", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial"),
                  list("grouseticks_glmer", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "poisson"))) {
  m <- glmer(as.formula(case[[3]]), DATA[[case[[2]]]], family = get(case[[4]])(), control = TIGHT)
  h <- suppressWarnings(hatvalues(m)); cd <- suppressWarnings(cooks.distance(m))
  GH[[case[[1]]]] <- list(data = case[[2]], formula = case[[3]], family = case[[4]], theta = arr(getME(m, "theta")),
    beta = arr(fixef(m)), hatvalues = arr(h), cooks_distance = arr(cd), pearson = arr(residuals(m, "pearson")))
}
out$glmm_hat_tight <- GH

## ------------------------------------------------------------------ prediction intervals by the GLMM FAQ recipe
faq <- function(m, nd, re_form, level, allow_new, not_conditioned) {
  # not_conditioned(nd): list of (Z columns matrix, Sigma) pairs of the random effects not conditioned on, per row
  X <- model.matrix(delete.response(terms(formula(m, fixed.only = TRUE))), nd)
  pvar <- rowSums((X %*% vcov(m)) * X)
  fit <- predict(m, nd, re.form = re_form, allow.new.levels = allow_new, type = "link")
  z <- qnorm((1 + level) / 2)
  res <- list(confidence = list(fit = arr(fit), lwr = arr(fit - z * sqrt(pvar)), upr = arr(fit + z * sqrt(pvar))))
  if (isGLMM(m)) {
    inv <- family(m)$linkinv
    res$confidence <- lapply(res$confidence, function(v) arr(inv(v)))
    res$prediction <- NULL
  } else {
    rvar <- 0
    for (p in not_conditioned(nd)) rvar <- rvar + rowSums((p$Z %*% p$S) * p$Z) * p$rows
    w <- z * sqrt(pvar + rvar + sigma(m)^2)
    res$prediction <- list(fit = arr(fit), lwr = arr(fit - w), upr = arr(fit + w))
  }
  res
}
LI <- list()
rec <- function(name, m, data_name, formula, nd, re_form, allow_new, level, nc) {
  r <- faq(m, nd, re_form, level, allow_new, nc)
  nd_out <- lapply(seq_len(nrow(nd)), function(i) lapply(nd[i, , drop = FALSE], function(v) if (is.factor(v)) as.character(v) else v))
  LI[[name]] <<- c(list(data = data_name, formula = formula, REML = if (isGLMM(m)) NULL else isREML(m),
    family = family(m)$family, newdata = nd_out, re_form = if (is.null(re_form)) NULL else deparse(re_form),
    allow_new_levels = allow_new, level = level, theta = arr(getME(m, "theta")), beta = arr(fixef(m)),
    sigma = sigma(m)), r)
}
m_ss <- lmer(Reaction ~ Days + (Days | Subject), ss, control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12)))
nd <- data.frame(Days = c(0, 5, 9, 4), Subject = c("308", "309", "new", "new"))
S_ss <- VarCorr(m_ss)$Subject
zs <- function(nd) cbind(1, nd$Days)
rec("sleep_population", m_ss, "sleepstudy", "Reaction ~ Days + (Days | Subject)", nd, NA, TRUE, 0.95,
    function(nd) list(list(Z = zs(nd), S = S_ss, rows = 1)))
rec("sleep_population_90", m_ss, "sleepstudy", "Reaction ~ Days + (Days | Subject)", nd, NA, TRUE, 0.9,
    function(nd) list(list(Z = zs(nd), S = S_ss, rows = 1)))
rec("sleep_conditional_newlevels", m_ss, "sleepstudy", "Reaction ~ Days + (Days | Subject)", nd, NULL, TRUE, 0.95,
    function(nd) list(list(Z = zs(nd), S = S_ss, rows = as.numeric(!(nd$Subject %in% levels(ss$Subject))))))
m_pe <- lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pe, REML = FALSE)
ndp <- data.frame(plate = c("a", "b", "x"), sample = c("A", "B", "F"))
vc <- VarCorr(m_pe)
rec("penicillin_plate_only", m_pe, "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", ndp, ~(1 | plate), FALSE, 0.95,
    function(nd) list(list(Z = matrix(1, nrow(nd), 1), S = vc$sample, rows = 1)))
m_od <- lmer(distance ~ age * Sex + (age | Subject), od, control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12)))
ndo <- data.frame(age = c(8, 11, 14), Sex = factor(c("Female", "Male", "Male"), levels = levels(od$Sex)), Subject = c("F01", "M05", "X"))
S_od <- VarCorr(m_od)$Subject
rec("orthodont_population", m_od, "Orthodont", "distance ~ age * Sex + (age | Subject)", ndo, NA, TRUE, 0.95,
    function(nd) list(list(Z = cbind(1, nd$age), S = S_od, rows = 1)))
m_cb <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial, control = TIGHT)
ndc <- data.frame(period = factor(c("1", "2", "4"), levels = levels(cb$period)), herd = c("1", "5", "9"))
rec("cbpp_glmer_population", m_cb, "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", ndc, NA, FALSE, 0.95, NULL)
rec("cbpp_glmer_conditional", m_cb, "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", ndc, NULL, FALSE, 0.95, NULL)
out$lmer_intervals <- LI

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE), "lm_extra_reference.json")
cat("wrote lm_extra_reference.json\n")
