# make_summary_output.R -- produces summary_output.json (+ data/{Dyestuff2,ham,warpbreaks,ToothGrowth,
# InsectSprays}.csv): the PRINTED output of R summaries, captured line by line, so that hierlm's printing
# can be tested digit for digit against R. R is only used to produce these committed reference files;
# it is never a runtime dependency of hierlm.
#
# Run:  cd /work/main/tests/reference && Rscript make_summary_output.R
# Made with: R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, Matrix (see "versions" in the JSON).
# Console settings: options(digits = 7, width = 80); the LC_CTYPE locale is recorded in "options" (UTF-8
# here, so the "Signif. codes" legend uses curly quotes; see "notes").
#
# JSON layout (top level):
#   _source, versions, options {digits, width, locale, utf8, useFancyQuotes}, notes [strings],
#   datasets  {name: {source, csv, n, columns, factors {col: [levels in order]}, renamed {old: new},
#              level_order_note (only where levels are NOT in the Python loader's order: warpbreaks tension)}}
#   lmer      {name: model record}   each with
#       data (dataset name), data_name_in_call, formula (as written), formula_deparsed, call (deparse of
#       m@call), settings {REML, weights, control, subset, nAGQ, family}, fit_conditions [{class, text}],
#       lmerTest_conversion_conditions, note,
#       print {lme4, lmerTest_satterthwaite, lmerTest_kr, varcorr, anova_type3}: each
#           {lines: [captured stdout lines], conditions: [{class, text}], error: null|string}
#       values {fixef, se, vcov, vcov_names, corr_fixef, varcorr (as.data.frame(VarCorr)), sigma, theta,
#           resid_quantiles (unzapped quantile(summary(m)$residuals)), logLik, AIC, BIC, deviance (ML
#           fits; null for REML), REMLcrit (REML fits; null for ML), df_resid, nobs, ngrps, singular,
#           optimizer_messages, AICtab (summary(m)$AICtab), satterthwaite (coef table), kenward_roger
#           (coef table; null for ML fits, see kenward_roger_error), anova_type3 (table)}
#       resid_quantiles keys are Min, 1Q, Median, 3Q, Max (as printed).
#   glmer     {name: record}  like lmer but print {lme4, varcorr}; settings hold family, link, family_expr,
#       nAGQ, weights, subset, fitter; values add coef (table with z value / Pr(>|z|)), nb_theta (glmer.nb)
#   lm, glm   {name: {data, data_name_in_call, formula, call, settings, fit_conditions, print {summary},
#       values, note}}; lm values {coef (table), resid_quantiles, sigma, df, r_squared, adj_r_squared,
#       fstatistic {value, numdf, dendf}, f_pvalue, logLik, AIC, BIC, nobs}; glm values {coef,
#       deviance_resid_quantiles, null_deviance, df_null, deviance, df_residual, aic, dispersion, iter,
#       logLik, BIC, nobs, converged}
#   anova_lm    {name: {models: [names], call, print {lines, conditions}, table}}
#   anova_lmer  {name: {models: [{name, formula, REML, class}], call, argument_order, print, table,
#                        refit_message_is (message|output|none)}}
#   ranova      {name: {model (an lmer record name), print, table}}
# A "table" is {rownames: [...], columns: {colname: [values]}} with R's column names, full precision.
# Condition records: class is "message" (went to stderr via message(), NOT part of the printed lines) or
# "warning"; text is conditionMessage() verbatim (messages keep their trailing newline).
options(digits = 7, width = 80, warn = 1)
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))  # alphabetical levels in code-point order (as Python's sorted())

OUT_JSON <- "summary_output.json"
DATA_DIR <- "/work/shared/data"
FACTOR_COLS <- list(
  sleepstudy = "Subject", Sitka = "treat", Dyestuff = "Batch", Penicillin = c("plate", "sample"),
  Pastes = c("batch", "cask", "sample"), cbpp = c("herd", "period"),
  grouseticks = c("INDEX", "BROOD", "YEAR", "LOCATION"),
  InstEval = c("s", "d", "studage", "lectage", "service", "dept"),
  Orthodont = c("Subject", "Sex"), Oats = c("Block", "Variety"), Machines = c("Worker", "Machine"),
  ChickWeight = c("Chick", "Diet"),
  VerbAgg = c("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2"),
  ergoStool = c("Type", "Subject"), mtcars = character(0))
DATASETS <- list()
describe_data <- function(name, x, source, csv, renamed = NULL) {
  fc <- names(x)[vapply(x, is.factor, TRUE)]
  DATASETS[[name]] <<- list(source = source, csv = csv, n = nrow(x), columns = I(names(x)),
    factors = setNames(lapply(fc, function(k) I(levels(x[[k]]))), fc),
    renamed = if (is.null(renamed)) setNames(list(), character(0)) else as.list(renamed))
  # flag factors whose level order is NOT the Python loader rule (numeric-looking numerically, else
  # code-point alphabetical), e.g. warpbreaks tension L < M < H (R's order, kept so coefficient names match R)
  odd <- fc[vapply(fc, function(k) !identical(levels(x[[k]]), levels(factor(as.vector(x[[k]])))), TRUE)]
  if (length(odd)) DATASETS[[name]]$level_order_note <<- paste("levels of", paste(odd, collapse = ", "),
    "are in R's order, NOT the loader's alphabetical/numeric rule: rebuild them from `factors`")
}
load_data <- function(name) {
  x <- read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in FACTOR_COLS[[name]]) x[[k]] <- factor(as.vector(x[[k]]))
  describe_data(name, x, "hierlm shared data (hl.load_dataset)", file.path(DATA_DIR, paste0(name, ".csv")))
  x
}
# Export a dataset from an R package to data/<name>.csv, then read it BACK from the CSV (so R fits
# exactly what Python loads) and rebuild factors with the given level order.
export_data <- function(name, x, source, renamed = NULL) {
  if (!is.null(renamed)) names(x)[match(names(renamed), names(x))] <- unname(renamed)
  levs <- lapply(Filter(is.factor, x), levels)
  for (k in names(x)) if (is.factor(x[[k]])) x[[k]] <- factor(as.character(x[[k]]), levels = levs[[k]])
  dir.create("data", showWarnings = FALSE)
  csv <- file.path("data", paste0(name, ".csv"))
  write.csv(x, csv, row.names = FALSE)
  y <- read.csv(csv, stringsAsFactors = FALSE)
  for (k in names(levs)) y[[k]] <- factor(as.character(y[[k]]), levels = levs[[k]])
  stopifnot(!anyNA(y))
  describe_data(name, y, source, paste0("tests/reference/", csv), renamed)
  y
}

## ------------------------------------------------------------------ capture helpers
# Evaluate expr; collect messages and warnings (muffled) in order; return value too.
run_cap <- function(expr_fun) {
  conds <- list()
  h_msg <- function(m) { conds[[length(conds) + 1L]] <<- list(class = "message", text = conditionMessage(m)); invokeRestart("muffleMessage") }
  h_wrn <- function(w) { conds[[length(conds) + 1L]] <<- list(class = "warning", text = conditionMessage(w)); invokeRestart("muffleWarning") }
  err <- NULL
  val <- tryCatch(withCallingHandlers(expr_fun(), message = h_msg, warning = h_wrn),
                  error = function(e) { err <<- conditionMessage(e); NULL })
  list(value = val, conditions = conds, error = err)
}
# Captured printout: stdout lines (capture.output) + conditions raised while computing/printing.
cap_print <- function(expr_fun) {
  r <- run_cap(function() capture.output(expr_fun()))
  list(lines = I(if (is.null(r$value)) character(0) else r$value), conditions = r$conditions, error = r$error)
}
tab <- function(x) {
  x <- as.data.frame(x, check.names = FALSE)
  list(rownames = I(rownames(x)), columns = lapply(as.list(x), function(v) I(if (is.factor(v)) as.character(v) else unname(v))))
}
vc_df <- function(m) { x <- as.data.frame(VarCorr(m)); for (k in c("grp", "var1", "var2")) x[[k]] <- as.character(x[[k]]); x }
quant <- function(r) as.list(setNames(quantile(r, na.rm = TRUE), c("Min", "1Q", "Median", "3Q", "Max")))
opt_msgs <- function(m) as.list(as.character(c(m@optinfo$conv$lme4$messages, unlist(m@optinfo$warnings))))
dep <- function(x) paste(deparse(x, width.cutoff = 500L), collapse = " ")

# Build a call such as lmer(<formula as typed>, data = <dataset symbol>, ...) and evaluate it in the
# global environment, so printed "Formula:"/"Data:"/"Call:" lines look as if typed at the console.
make_call <- function(fun, fstr, dname, extra = list()) {
  as.call(c(list(fun, formula = str2lang(fstr), data = as.name(dname)), extra))
}

OUT <- list(lmer = list(), glmer = list(), lm = list(), glm = list(), anova_lm = list(),
            anova_lmer = list(), ranova = list())
MODELS <- list()   # fitted objects by record name

## ------------------------------------------------------------------ lmer
fit_lmer <- function(name, dataset, dname, fstr, REML = TRUE, weights = NULL, control = NULL, note = NULL) {
  extra <- list()
  if (!REML) extra$REML <- FALSE
  if (!is.null(weights)) extra$weights <- as.name(weights)
  if (!is.null(control)) extra$control <- str2lang(control)
  cl <- make_call(quote(lmer), fstr, dname, extra)
  fit <- run_cap(function() eval(cl, globalenv()))
  if (!is.null(fit$error)) stop(name, ": ", fit$error)
  m <- fit$value; MODELS[[name]] <<- m
  conv <- run_cap(function() lmerTest::as_lmerModLmerTest(m))
  mt <- conv$value
  pr <- list(
    lme4 = cap_print(function() print(summary(m))),
    lmerTest_satterthwaite = cap_print(function() print(summary(mt))),
    lmerTest_kr = cap_print(function() print(summary(mt, ddf = "Kenward-Roger"))),
    varcorr = cap_print(function() print(VarCorr(m), comp = c("Variance", "Std.Dev."))),
    anova_type3 = cap_print(function() print(anova(mt))))
  sm <- summary(m); co <- coef(sm); v <- as.matrix(vcov(m))
  sat <- run_cap(function() coef(summary(mt)))
  kr <- run_cap(function() coef(summary(mt, ddf = "Kenward-Roger")))
  a3 <- run_cap(function() anova(mt))
  vals <- list(
    fixef = as.list(fixef(m)), se = as.list(co[, "Std. Error"]), t = as.list(co[, "t value"]),
    vcov = unname(v), vcov_names = I(colnames(v)), corr_fixef = unname(cov2cor(v)),
    varcorr = vc_df(m), sigma = sigma(m), theta = as.list(getME(m, "theta")),
    resid_quantiles = quant(sm$residuals),
    logLik = as.numeric(logLik(m)), logLik_df = attr(logLik(m), "df"), AIC = AIC(m), BIC = BIC(m),
    deviance = if (isREML(m)) NA else deviance(m), REMLcrit = if (isREML(m)) as.numeric(REMLcrit(m)) else NA,
    df_resid = df.residual(m), AICtab = as.list(sm$AICtab), nobs = nobs(m), ngrps = as.list(ngrps(m)),
    singular = isSingular(m), optimizer_messages = opt_msgs(m),
    satterthwaite = if (is.null(sat$value)) NULL else tab(sat$value),
    kenward_roger = if (is.null(kr$value)) NULL else tab(kr$value),
    kenward_roger_error = kr$error,
    anova_type3 = if (is.null(a3$value)) NULL else tab(a3$value))
  OUT$lmer[[name]] <<- list(data = dataset, data_name_in_call = dname, formula = fstr,
    formula_deparsed = dep(formula(m)), call = dep(m@call),
    settings = list(REML = REML, weights = weights, control = control, subset = NULL, nAGQ = NULL, family = "gaussian"),
    fit_conditions = fit$conditions, lmerTest_conversion_conditions = conv$conditions,
    print = pr, values = vals, note = note)
  invisible(m)
}

sleepstudy <- load_data("sleepstudy")
mtcars <- load_data("mtcars")
Penicillin <- load_data("Penicillin")
Pastes <- load_data("Pastes")
Sitka <- load_data("Sitka")
Orthodont <- load_data("Orthodont")
ChickWeight <- load_data("ChickWeight")
Oats <- load_data("Oats")
ergoStool <- load_data("ergoStool")
cbpp <- load_data("cbpp")
Machines <- load_data("Machines")
grouseticks <- load_data("grouseticks")
VerbAgg <- load_data("VerbAgg")
Dyestuff2 <- export_data("Dyestuff2", lme4::Dyestuff2, "lme4::Dyestuff2")
ham <- export_data("ham", lmerTest::ham, "lmerTest::ham", renamed = c(Informed.liking = "Informed_liking"))
warpbreaks <- export_data("warpbreaks", datasets::warpbreaks, "datasets::warpbreaks")
ToothGrowth <- export_data("ToothGrowth", datasets::ToothGrowth, "datasets::ToothGrowth")
InsectSprays <- export_data("InsectSprays", datasets::InsectSprays, "datasets::InsectSprays")

cat("lmer fits...\n")
fit_lmer("sleep_corr", "sleepstudy", "sleepstudy", "Reaction ~ Days + (Days|Subject)")
fit_lmer("sleep_corr_ML", "sleepstudy", "sleepstudy", "Reaction ~ Days + (Days|Subject)", REML = FALSE)
fit_lmer("sleep_dblbar", "sleepstudy", "sleepstudy", "Reaction ~ Days + (Days||Subject)")
fit_lmer("sleep_int", "sleepstudy", "sleepstudy", "Reaction ~ Days + (1|Subject)")
fit_lmer("mtcars_singular", "mtcars", "mtcars", "mpg ~ wt + (wt|cyl)",
         note = "singular fit: correlation estimated at -1")
fit_lmer("dyestuff2_zero", "Dyestuff2", "Dyestuff2", "Yield ~ 1 + (1|Batch)",
         note = "Batch variance estimated at exactly 0 (theta = 0)")
fit_lmer("penicillin_crossed", "Penicillin", "Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)")
fit_lmer("pastes_nested", "Pastes", "Pastes", "strength ~ 1 + (1|batch/cask)")
fit_lmer("sitka_quad", "Sitka", "Sitka", "size ~ treat*(Time + I(Time^2)) + (Time|tree)",
         note = "raw Time is badly scaled; default optimizer (nloptwrap) stops short of the optimum with a convergence warning (max|grad| ~ 0.1); see sitka_quad_bobyqa for the converged fit")
fit_lmer("sitka_quad_bobyqa", "Sitka", "Sitka", "size ~ treat*(Time + I(Time^2)) + (Time|tree)",
         control = 'lmerControl(optimizer = "bobyqa")',
         note = "same model as sitka_quad with the bobyqa optimizer, which converges (REML criterion lower by ~0.0016); the default-optimizer fit stops early")
fit_lmer("orthodont", "Orthodont", "Orthodont", "distance ~ age*Sex + (age|Subject)")
fit_lmer("orthodont_ML", "Orthodont", "Orthodont", "distance ~ age*Sex + (age|Subject)", REML = FALSE)
fit_lmer("orthodont_add", "Orthodont", "Orthodont", "distance ~ age + Sex + (age|Subject)")
fit_lmer("chick", "ChickWeight", "ChickWeight", "weight ~ Time*Diet + (Time|Chick)")
fit_lmer("oats_nested", "Oats", "Oats", "yield ~ nitro + Variety + (1|Block/Variety)")
fit_lmer("oats_nitro_only", "Oats", "Oats", "yield ~ nitro + (1|Block/Variety)")
fit_lmer("oats_interaction_ML", "Oats", "Oats", "yield ~ nitro*Variety + (1|Block/Variety)", REML = FALSE)
fit_lmer("ergostool", "ergoStool", "ergoStool", "effort ~ Type + (1|Subject)")
fit_lmer("cbpp_weighted", "cbpp", "cbpp", "incidence/size ~ period + (1|herd)", weights = "size",
         note = "prior (precision) weights = size")
fit_lmer("machines_nested", "Machines", "Machines", "score ~ Machine + (1|Worker/Machine)")
fit_lmer("ham_interaction", "ham", "ham",
         "Informed_liking ~ Product*Information + (1|Consumer) + (1|Consumer:Product)")
fit_lmer("penicillin_plate", "Penicillin", "Penicillin", "diameter ~ 1 + (1|plate)")
fit_lmer("chick_add_ML", "ChickWeight", "ChickWeight", "weight ~ Time + Diet + (Time|Chick)", REML = FALSE)
fit_lmer("chick_ML", "ChickWeight", "ChickWeight", "weight ~ Time*Diet + (Time|Chick)", REML = FALSE,
         note = "default optimizer gives a convergence warning (max|grad| ~ 0.005); see chick_ML_bobyqa")
fit_lmer("chick_ML_bobyqa", "ChickWeight", "ChickWeight", "weight ~ Time*Diet + (Time|Chick)", REML = FALSE,
         control = 'lmerControl(optimizer = "bobyqa")',
         note = "same model as chick_ML with the bobyqa optimizer (converges; deviance differs from chick_ML by ~4e-7)")

## ------------------------------------------------------------------ glmer
fit_glmer <- function(name, dataset, dname, fstr, family, family_expr, nAGQ = 1L, weights = NULL,
                      subset = NULL, nb = FALSE, note = NULL) {
  extra <- list()
  if (!nb) extra$family <- str2lang(family_expr)
  if (!is.null(weights)) extra$weights <- as.name(weights)
  if (!is.null(subset)) extra$subset <- str2lang(subset)
  if (nAGQ != 1L) extra$nAGQ <- nAGQ
  cl <- make_call(if (nb) quote(glmer.nb) else quote(glmer), fstr, dname, extra)
  fit <- run_cap(function() eval(cl, globalenv()))
  if (!is.null(fit$error)) stop(name, ": ", fit$error)
  m <- fit$value; MODELS[[name]] <<- m
  sm <- summary(m); v <- as.matrix(vcov(m)); fam <- family(m)
  pr <- list(lme4 = cap_print(function() print(summary(m))),
             varcorr = cap_print(function() print(VarCorr(m), comp = c("Variance", "Std.Dev."))))
  vals <- list(coef = tab(coef(sm)), fixef = as.list(fixef(m)), se = as.list(coef(sm)[, "Std. Error"]),
    vcov = unname(v), vcov_names = I(colnames(v)), corr_fixef = unname(cov2cor(v)),
    varcorr = vc_df(m), theta = as.list(getME(m, "theta")), resid_quantiles = quant(sm$residuals),
    logLik = as.numeric(logLik(m)), logLik_df = attr(logLik(m), "df"), AIC = AIC(m), BIC = BIC(m),
    deviance = deviance(m), df_resid = df.residual(m), AICtab = as.list(sm$AICtab), nobs = nobs(m),
    ngrps = as.list(ngrps(m)), singular = isSingular(m), optimizer_messages = opt_msgs(m),
    nb_theta = if (nb) getME(m, "glmer.nb.theta") else NULL)
  OUT$glmer[[name]] <<- list(data = dataset, data_name_in_call = dname, formula = fstr,
    formula_deparsed = dep(formula(m)), call = dep(m@call),
    settings = list(REML = FALSE, family = fam$family, link = fam$link,
      family_expr = if (nb) "glmer.nb" else family_expr, nAGQ = m@devcomp$dims[["nAGQ"]],
      weights = weights, subset = subset, fitter = if (nb) "glmer.nb" else "glmer"),
    fit_conditions = fit$conditions, print = pr, values = vals, note = note)
  invisible(m)
}
cat("glmer fits...\n")
fit_glmer("cbpp_binomial", "cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period + (1|herd)", "binomial", "binomial")
fit_glmer("cbpp_binomial_agq5", "cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period + (1|herd)", "binomial", "binomial", nAGQ = 5L,
          note = "lme4: with nAGQ > 1 logLik/AIC/BIC/deviance omit a constant that nAGQ = 1 includes")
fit_glmer("cbpp_prop_weights", "cbpp", "cbpp", "incidence/size ~ period + (1|herd)", "binomial", "binomial", weights = "size")
fit_glmer("cbpp_poisson_offset", "cbpp", "cbpp", "incidence ~ period + offset(log(size)) + (1|herd)", "poisson", "poisson")
fit_glmer("verbagg_curse_crossed", "VerbAgg", "VerbAgg", "r2 ~ Anger + Gender + situ + mode + (1|id) + (1|item)",
          "binomial", "binomial", subset = 'btype == "curse"')  # note filled in below
fit_glmer("verbagg_singular", "VerbAgg", "VerbAgg", "r2 ~ Anger + (Anger|item)", "binomial", "binomial",
          note = "boundary (singular) fit expected")
fit_glmer("grouseticks_poisson", "grouseticks", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION)",
          "poisson", "poisson",
          note = paste("UNSTABLE DIGITS: the likelihood is flat in theta (logLik agrees to ~1e-11 between fits whose",
                       "parameters differ by ~1e-5); repeated runs of this very script on the same machine give one of",
                       "two optima (951 or 994 function evaluations, memory-layout dependent floating point), which",
                       "differ in printed digits (e.g. LOCATION variance 0.2796 vs 0.2795, (Intercept) 0.372798 vs",
                       "0.372776, z 6.910 vs 6.911). Compare this printout with a tolerance; use",
                       "grouseticks_poisson_brood_location for a digit-for-digit Poisson check."))
fit_glmer("grouseticks_poisson_brood_location", "grouseticks", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|LOCATION)",
          "poisson", "poisson", note = "well-determined Poisson GLMM (printout identical across repeated runs)")
fit_glmer("grouseticks_nb", "grouseticks", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|LOCATION)", "nb", "glmer.nb", nb = TRUE)
OUT$glmer$verbagg_curse_crossed$note <- sprintf("Bernoulli response; subset argument btype == \"curse\" keeps %d of %d rows",
                                               nobs(MODELS$verbagg_curse_crossed), nrow(VerbAgg))

## ------------------------------------------------------------------ lm / glm
fit_lm <- function(name, dataset, dname, fstr, weights = NULL, family_expr = NULL, note = NULL) {
  extra <- list()
  if (!is.null(family_expr)) extra$family <- str2lang(family_expr)
  if (!is.null(weights)) extra$weights <- as.name(weights)
  is_glm <- !is.null(family_expr)
  cl <- make_call(if (is_glm) quote(glm) else quote(lm), fstr, dname, extra)
  fit <- run_cap(function() eval(cl, globalenv()))
  if (!is.null(fit$error)) stop(name, ": ", fit$error)
  m <- fit$value; MODELS[[name]] <<- m
  sm <- summary(m)
  pr <- list(summary = cap_print(function() print(summary(m))))
  if (is_glm) {
    vals <- list(coef = tab(coef(sm)), deviance_resid_quantiles = quant(sm$deviance.resid),
      null_deviance = sm$null.deviance, df_null = sm$df.null, deviance = sm$deviance,
      df_residual = sm$df.residual, aic = sm$aic, dispersion = sm$dispersion, iter = sm$iter,
      logLik = if (is.na(m$aic)) NA else as.numeric(logLik(m)), BIC = if (is.na(m$aic)) NA else BIC(m),
      nobs = nobs(m), converged = m$converged)
    OUT$glm[[name]] <<- list(data = dataset, data_name_in_call = dname, formula = fstr, call = dep(m$call),
      settings = list(family = family(m)$family, link = family(m)$link, family_expr = family_expr, weights = weights),
      fit_conditions = fit$conditions, print = pr, values = vals, note = note)
  } else {
    vals <- list(coef = tab(coef(sm)), resid_quantiles = quant(sm$residuals), sigma = sm$sigma,
      df = sm$df, r_squared = sm$r.squared, adj_r_squared = sm$adj.r.squared,
      fstatistic = if (is.null(sm$fstatistic)) NULL else as.list(sm$fstatistic),
      f_pvalue = if (is.null(sm$fstatistic)) NULL else unname(pf(sm$fstatistic[1], sm$fstatistic[2], sm$fstatistic[3], lower.tail = FALSE)),
      logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), nobs = nobs(m))
    OUT$lm[[name]] <<- list(data = dataset, data_name_in_call = dname, formula = fstr, call = dep(m$call),
      settings = list(weights = weights), fit_conditions = fit$conditions, print = pr, values = vals, note = note)
  }
  invisible(m)
}
cat("lm/glm fits...\n")
fit_lm("mtcars_wt_hp", "mtcars", "mtcars", "mpg ~ wt + hp")
fit_lm("mtcars_wt", "mtcars", "mtcars", "mpg ~ wt")
fit_lm("mtcars_noint", "mtcars", "mtcars", "mpg ~ 0 + wt + hp", note = "no intercept: R^2 uses uncentred total SS")
fit_lm("warpbreaks_interaction", "warpbreaks", "warpbreaks", "breaks ~ wool*tension")
fit_lm("warpbreaks_additive", "warpbreaks", "warpbreaks", "breaks ~ wool + tension")
fit_lm("toothgrowth", "ToothGrowth", "ToothGrowth", "len ~ supp*dose")
fit_lm("insectsprays_sqrt", "InsectSprays", "InsectSprays", "sqrt(count) ~ spray")
fit_lm("sleepstudy_fixed_subject", "sleepstudy", "sleepstudy", "Reaction ~ Days + Subject")
fit_lm("cbpp_weighted", "cbpp", "cbpp", "incidence/size ~ period", weights = "size",
       note = "weighted lm: summary prints 'Weighted Residuals'")
fit_lm("sleepstudy_days", "sleepstudy", "sleepstudy", "Reaction ~ Days")
fit_lm("mtcars_logit", "mtcars", "mtcars", "am ~ wt + hp", family_expr = "binomial")
fit_lm("cbpp_binomial", "cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period", family_expr = "binomial")
fit_lm("cbpp_poisson_offset", "cbpp", "cbpp", "incidence ~ period + offset(log(size))", family_expr = "poisson")
fit_lm("insectsprays_poisson", "InsectSprays", "InsectSprays", "count ~ spray", family_expr = "poisson")
fit_lm("warpbreaks_quasipoisson", "warpbreaks", "warpbreaks", "breaks ~ wool + tension", family_expr = "quasipoisson")
fit_lm("mtcars_gamma_log", "mtcars", "mtcars", "mpg ~ wt + hp", family_expr = 'Gamma(link = "log")')

# anova for lm: one table with factors, nested pairs
anova_lm_rec <- function(name, model_names, note = NULL) {
  env <- new.env(parent = globalenv())
  for (k in model_names) assign(k, MODELS[[k]], envir = env)
  cl <- as.call(c(list(quote(anova)), lapply(model_names, as.name)))
  pr <- cap_print(function() print(eval(cl, env)))
  OUT$anova_lm[[name]] <<- list(models = I(model_names), call = dep(cl), print = pr,
    table = tab(suppressWarnings(eval(cl, env))), note = note)
}
anova_lm_rec("warpbreaks_interaction_seq", "warpbreaks_interaction", note = "sequential (type I) table")
anova_lm_rec("warpbreaks_additive_vs_interaction", c("warpbreaks_additive", "warpbreaks_interaction"))
anova_lm_rec("mtcars_wt_vs_wt_hp", c("mtcars_wt", "mtcars_wt_hp"))

## ------------------------------------------------------------------ anova(lmer, lmer)
anova_lmer_rec <- function(name, model_names, refit = TRUE, note = NULL) {
  env <- new.env(parent = globalenv())
  for (k in model_names) assign(k, MODELS[[k]], envir = env)
  args <- lapply(model_names, as.name)
  if (!refit) args <- c(args, list(refit = FALSE))
  cl <- as.call(c(list(quote(anova)), args))
  pr <- cap_print(function() print(eval(cl, env)))
  tb <- suppressMessages(eval(cl, env))
  msgs <- vapply(pr$conditions, function(z) z$text, "")
  refit_where <- if (any(grepl("refitting", msgs))) "message" else if (any(grepl("refitting", pr$lines))) "output" else "none"
  OUT$anova_lmer[[name]] <<- list(
    models = lapply(model_names, function(k) {
      m <- MODELS[[k]]
      list(name = k, formula = if (inherits(m, "merMod")) OUT$lmer[[k]]$formula else OUT$lm[[k]]$formula,
           REML = if (inherits(m, "merMod")) isREML(m) else NA, class = class(m)[1])
    }),
    argument_order = I(model_names), call = dep(cl), refit = refit, print = pr,
    refit_message_is = refit_where, table = tab(tb), note = note)
}
cat("anova(lmer) ...\n")
anova_lmer_rec("sleep_int_vs_corr", c("sleep_int", "sleep_corr"))
anova_lmer_rec("orthodont_decreasing_order", c("orthodont", "orthodont_add"),
               note = "arguments given larger model first; R sorts the rows by npar")
anova_lmer_rec("sleep_three", c("sleep_int", "sleep_dblbar", "sleep_corr"))
anova_lmer_rec("oats_variety", c("oats_nitro_only", "oats_nested"))
anova_lmer_rec("penicillin_plate_vs_crossed", c("penicillin_plate", "penicillin_crossed"))
anova_lmer_rec("penicillin_plate_vs_crossed_norefit", c("penicillin_plate", "penicillin_crossed"), refit = FALSE,
               note = "refit = FALSE: compares the REML fits as they are (no refit message)")
anova_lmer_rec("chick_ML_pair", c("chick_add_ML", "chick_ML"), note = "both ML fits: no refit message")
anova_lmer_rec("sleep_lmer_vs_lm", c("sleep_int", "sleepstudy_days"),
               note = "anova(lmer, lm): lm model names/rows come first because it has fewer parameters")

## ------------------------------------------------------------------ ranova
cat("ranova ...\n")
ranova_rec <- function(name, model) {
  mt <- lmerTest::as_lmerModLmerTest(MODELS[[model]])
  pr <- cap_print(function() print(lmerTest::ranova(mt)))
  r <- run_cap(function() lmerTest::ranova(mt))
  OUT$ranova[[name]] <<- list(model = model, formula = OUT$lmer[[model]]$formula,
    call = "ranova(as_lmerModLmerTest(m))", print = pr, table = if (is.null(r$value)) NULL else tab(r$value))
}
ranova_rec("sleep_corr", "sleep_corr")
ranova_rec("pastes_nested", "pastes_nested")
ranova_rec("ham_interaction", "ham_interaction")
ranova_rec("oats_nested", "oats_nested")

## ------------------------------------------------------------------ write
versions <- list(R = as.character(getRversion()), R_full = R.version.string,
  lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest")),
  pbkrtest = as.character(packageVersion("pbkrtest")), Matrix = as.character(packageVersion("Matrix")),
  jsonlite = as.character(packageVersion("jsonlite")), BLAS = extSoftVersion()[["BLAS"]])
out <- c(list(
  `_source` = sprintf("make_summary_output.R: %s, lme4 %s, lmerTest %s, pbkrtest %s", R.version.string,
                      versions$lme4, versions$lmerTest, versions$pbkrtest),
  versions = versions,
  options = list(digits = getOption("digits"), width = getOption("width"), locale = Sys.getlocale(),
                 utf8 = l10n_info()[["UTF-8"]], useFancyQuotes = getOption("useFancyQuotes"),
                 OutDec = getOption("OutDec"), scipen = getOption("scipen")),
  notes = c(
    "Printed lines come from capture.output(print(...)) with options(digits = 7, width = 80).",
    "Width-dependent: the lme4/lmerTest title line is word-wrapped (strwrap) at the console width: lmerTest's 'Linear mixed model fit by REML. t-tests use Satterthwaite's method [' / 'lmerModLmerTest]' and glmer's 'Generalized linear mixed model fit by maximum likelihood (Laplace' / '  Approximation) [glmerMod]' are split over two lines at width 80; coefficient tables, the fixed-effect correlation matrix and anova tables wrap into column blocks when wider than 'width'; lme4 abbreviates correlation column names.",
    "Locale-dependent: the 'Signif. codes' legend uses sQuote(); in a UTF-8 locale with useFancyQuotes = TRUE (as here) it prints curly quotes \u2018***\u2019, in a C/ASCII locale or with useFancyQuotes = FALSE straight quotes '***'. OutDec '.' assumed.",
    "Formula/call lines use deparse() with its default width.cutoff = 60 bytes (not the console width): long formulas are split, and lme4's .prt.call cat()s the pieces separated by a space.",
    "Scaled/deviance residual quantiles are stored unzapped; R prints zapsmall(quantile(r), digits + 1).",
    "R 4.2 summary.glm prints a 'Deviance Residuals:' block; R >= 4.3 no longer does.",
    "lme4 messages such as 'boundary (singular) fit: see help('isSingular')' at fit time are message() conditions (stderr) recorded in fit_conditions; the same text also appears INSIDE print(summary(m)) output via lme4's convergence/warnings footer.",
    "anova() of REML lmer fits emits 'refitting model(s) with ML (instead of REML)' as a message() (stderr), not as printed output: see refit_message_is.",
    "Model names in anova(lmer) printouts are the argument symbols (here the record names); rows are sorted by npar whatever the argument order.",
    "lme4 prints (Days||Subject) expanded: 'Formula: Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))', and the second term's group as 'Subject.1'.",
    "lmerTest ranova prints the model formula on one line (not wrapped, may exceed 80 chars) and with terms reordered (e.g. ham: '... + (1 | Consumer:Product) + Product:Information'; Pastes: '(1 | cask:batch) + (1 | batch)').",
    "Kenward-Roger is only available for REML fits in lmerTest: for ML fits print$lmerTest_kr has error set and no lines.",
    "Fit-time warnings are also printed by lme4 at the end of summary() under 'fit warnings:' (e.g. Sitka 'Some predictor variables are on very different scales'), and convergence-check failures as 'Model failed to converge ...' lines."
  )),
  list(datasets = DATASETS), OUT)
jsonlite::write_json(out, OUT_JSON, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE)
cat("wrote", OUT_JSON, file.size(OUT_JSON), "bytes\n")
