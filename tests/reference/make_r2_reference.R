# Regenerates r2_reference.json: the estimates behind course_reference.json's "performance" block, and
# Nakagawa R2 / ICC / get_variance for extra random-effects structures (hierlm's tests of hl.r2 and
# hl.icc(adjusted = TRUE)).  R is only used to produce these committed numbers; never a runtime dependency.
# Run from this folder:  Rscript make_r2_reference.R   (about a minute)
# Produced with R 4.2, lme4 1.1-31, performance 0.10.2, insight 0.19.0 (exact versions stored in "versions").
#
# Why: lme4's glmer stops PIRLS early (tolPwrss = 1e-7), so its GLMM estimates sit up to ~0.02 deviance
# units off the exact Laplace optimum that hierlm reaches; R2 / ICC then differ by up to ~2e-3 relative for
# reasons that have nothing to do with the variance decomposition.  So for every model this file stores
#   params_default: the estimates performance saw (fixef, theta, sigma, glmer.nb theta, and the null model's
#       fixef(Intercept) that insight refits for log-link count families) -- hierlm's formulas evaluated at
#       these must give course_reference.json's numbers to ~1e-8;
#   tight: the same model refitted with tolPwrss = 1e-13 (PIRLS to convergence, as hierlm does) and its
#       r2_nakagawa / icc / get_variance / params -- hierlm's end-to-end numbers must match these closely.
# The same fitting rule as make_course_reference.R (default control and bobyqa with rhoend = 1e-12, the fit
# with the smaller -2 logLik kept; glmer.nb: default fit only).
#
# JSON layout: versions, models{name: {data, formula, family, link, fitter, subset, weights, in_course,
#   default{params, r2_nakagawa{R2_conditional, R2_marginal}, icc{ICC_adjusted, ICC_unadjusted} | null,
#           get_variance{...as course_reference...}, warnings_r2[]},
#   tight{...same..., tolPwrss}}}  (tolPwrss: 1e-13, or the smallest of 1e-11 ... 1e-8 that converges)
#   params: {fixef{name: value}, theta[], sigma, nb_theta, null_intercept, deviance (-2 logLik)}
suppressMessages({library(lme4); library(performance); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))

factorise <- function(x, cols) { for (k in cols) x[[k]] <- factor(as.vector(x[[k]])); x }
shared <- function(name, cols) factorise(read.csv(file.path("/work/shared/data", paste0(name, ".csv")), stringsAsFactors = TRUE), cols)
local_csv <- function(name, cols) {
  x <- read.csv(file.path("data", paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in names(x)) if (is.factor(x[[k]]) && !(k %in% cols)) stop("unlisted factor column ", k)
  factorise(x, cols)
}
D <- list(
  sleepstudy = shared("sleepstudy", "Subject"), Penicillin = shared("Penicillin", c("plate", "sample")),
  Pastes = shared("Pastes", c("batch", "cask", "sample")), Orthodont = shared("Orthodont", c("Subject", "Sex")),
  Machines = shared("Machines", c("Worker", "Machine")), Oats = shared("Oats", c("Block", "Variety")),
  ergoStool = shared("ergoStool", c("Type", "Subject")), ChickWeight = shared("ChickWeight", c("Chick", "Diet")),
  cbpp = shared("cbpp", c("herd", "period")), grouseticks = shared("grouseticks", c("INDEX", "BROOD", "YEAR", "LOCATION")),
  VerbAgg = shared("VerbAgg", c("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2")),
  carrots = local_csv("carrots", c("Consumer", "Frequency", "Gender", "Age", "Homesize", "Work", "Income", "Product")),
  VerbAgg_agg = local_csv("VerbAgg_agg", c("id", "Gender", "btype")),
  bacteria = local_csv("bacteria", c("ap", "hilo", "ID", "trt")),
  epil = local_csv("epil", c("trt", "subject")),
  Dyestuff2 = local_csv("Dyestuff2", "Batch"))
va_want <- D$VerbAgg[D$VerbAgg$mode == "want", ]; rownames(va_want) <- NULL

TIGHT_LMM <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
TIGHT_GLMM <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
EXACT_GLMM <- quote(glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))
TOLPWRSS <- NULL
quiet <- function(expr) suppressWarnings(suppressMessages(expr))
# the fitting call is built with bquote and evaluated in the global environment (data in `.d`), so that
# insight's update() of the null model finds the data, weights and control again
fit_model <- function(fitter, formula, family, weights, exact = FALSE) {
  f <- as.formula(formula)
  wt <- if (is.null(weights)) NULL else as.name(weights)
  base <- switch(fitter,
    lmer = bquote(lme4::lmer(.(f), data = .d)),
    glmer = bquote(lme4::glmer(.(f), data = .d, family = .(as.name(family)))),
    glmer.nb = bquote(lme4::glmer.nb(.(f), data = .d)))
  if (!is.null(wt)) base$weights <- wt
  run <- function(cl) quiet(eval(cl, globalenv()))
  tight <- base
  tight$control <- if (fitter == "lmer") quote(TIGHT_LMM) else if (exact) EXACT_GLMM else quote(TIGHT_GLMM)
  if (exact) {  # glmer.nb's PIRLS may not reach 1e-13: the smallest tolerance that converges is used
    for (tol in c(1e-13, 1e-11, 1e-10, 1e-9, 1e-8)) {
      tight$control$tolPwrss <- tol
      m <- tryCatch(run(tight), error = function(e) NULL)
      if (!is.null(m)) { TOLPWRSS <<- tol; return(m) }
    }
    stop("no tolPwrss converged")
  }
  m0 <- run(base)
  if (fitter == "glmer.nb") return(m0)
  m1 <- run(tight)
  if (-2 * as.numeric(logLik(m1)) < -2 * as.numeric(logLik(m0)) - 1e-9) m1 else m0
}
num <- function(x) { x <- unname(as.numeric(x)); x[!is.finite(x)] <- NA; x }
named_num <- function(x) if (is.null(x)) NULL else as.list(setNames(num(x), names(x)))
record <- function(m) {
  w <- character(0)
  grab <- function(expr) withCallingHandlers(tryCatch(expr, error = function(e) NULL),
    warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") },
    message = function(x) { w <<- c(w, trimws(conditionMessage(x))); invokeRestart("muffleMessage") })
  r2 <- grab(r2_nakagawa(m)); ic <- grab(icc(m)); gv <- grab(insight::get_variance(m))
  fam <- family(m)
  null_int <- NULL
  if (isGLMM(m) && fam$link == "log") null_int <- num(fixef(quiet(insight::null_model(m))))
  list(
    params = list(fixef = named_num(fixef(m)), theta = I(num(getME(m, "theta"))), sigma = num(sigma(m)),
                  nb_theta = if (grepl("Negative Binomial", fam$family)) num(getME(m, "glmer.nb.theta")) else NULL,
                  null_intercept = null_int, deviance = -2 * as.numeric(logLik(m))),
    r2_nakagawa = if (is.null(r2)) NULL else lapply(unclass(r2), num),
    icc = if (is.null(ic) || (length(ic) == 1 && is.na(ic))) NULL else lapply(unclass(ic)[c("ICC_adjusted", "ICC_unadjusted")], num),
    get_variance = if (is.null(gv)) NULL else lapply(gv, function(e) if (length(e) == 1 && is.null(names(e))) num(e) else named_num(e)),
    warnings_r2 = as.list(unique(gsub("\\s+", " ", trimws(w)))))
}
MODELS <- list()
add <- function(name, data_name, formula, fitter = "lmer", family = "gaussian", data = D[[data_name]], subset = NULL,
                weights = NULL, in_course = TRUE, note = NULL) {
  assign(".d", data, envir = globalenv())
  m <- fit_model(fitter, formula, family, weights)
  out <- list(data = data_name, formula = formula, family = family, fitter = fitter, subset = subset,
              weights = weights, in_course = in_course, note = note, default = record(m))
  if (fitter != "lmer") {
    out$tight <- record(fit_model(fitter, formula, family, weights, exact = TRUE))
    out$tight$tolPwrss <- TOLPWRSS
  }
  MODELS[[name]] <<- out
  cat("r2_reference:", name, "\n")
}
# the 19 models of course_reference.json's "performance" block
add("sleep_slope", "sleepstudy", "Reaction ~ Days + (Days | Subject)")
add("sleep_int", "sleepstudy", "Reaction ~ Days + (1 | Subject)")
add("penicillin_crossed", "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)")
add("pastes_nested", "Pastes", "strength ~ 1 + (1 | batch/cask)")
add("orthodont_slope", "Orthodont", "distance ~ age * Sex + (age | Subject)")
add("machines_nested", "Machines", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)")
add("oats_nested", "Oats", "yield ~ nitro + Variety + (1 | Block/Variety)")
add("ergostool", "ergoStool", "effort ~ Type + (1 | Subject)")
add("chick_slope", "ChickWeight", "weight ~ Time * Diet + (Time | Chick)")
add("carrots_crossed", "carrots", "Preference ~ sens1 + sens2 + Homesize + (1 | Consumer) + (1 | Product)")
add("cbpp_binomial_cbind", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "glmer", "binomial")
add("verbagg_agg_binomial_cbind", "VerbAgg_agg", "cbind(yes, no) ~ Anger + Gender + btype + (1 | id)", "glmer", "binomial")
add("verbagg_want_bernoulli", "VerbAgg", "r2 ~ Anger + Gender + btype + (1 | id)", "glmer", "binomial", data = va_want,
    subset = "mode == 'want' (rows kept in original order)")
add("bacteria_bernoulli", "bacteria", "infected ~ trt + week + (1 | ID)", "glmer", "binomial")
add("grouseticks_poisson", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "glmer", "poisson")
add("epil_poisson", "epil", "y ~ trt + lbase + lage + V4 + (1 | subject)", "glmer", "poisson")
add("cbpp_poisson_offset", "cbpp", "incidence ~ period + offset(log(size)) + (1 | herd)", "glmer", "poisson")
add("grouseticks_nb", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", "glmer.nb", "negbinomial")
add("epil_nb", "epil", "y ~ trt + lbase + lage + V4 + (1 | subject)", "glmer.nb", "negbinomial")
# extra structures: insight's rules for several blocks of one factor, terms missing from X, no intercept,
# singular fits, observation-level random effects, prior weights, GLMM random slopes
add("sleep_uncorrelated", "sleepstudy", "Reaction ~ Days + (Days || Subject)", in_course = FALSE,
    note = "insight counts only the first block of a grouping factor in var.random (here the intercept)")
add("sleep_two_blocks", "sleepstudy", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", in_course = FALSE)
add("sleep_slope_not_fixed", "sleepstudy", "Reaction ~ 1 + (Days | Subject)", in_course = FALSE,
    note = "Days is not a column of X: only the intercept enters var.random")
add("sleep_no_intercept", "sleepstudy", "Reaction ~ 0 + Days + (Days | Subject)", in_course = FALSE)
add("machines_factor_slope", "Machines", "score ~ Machine + (Machine | Worker)", in_course = FALSE)
add("machines_factor_slope0", "Machines", "score ~ Machine + (0 + Machine | Worker)", in_course = FALSE,
    note = "MachineA is not a column of X: left out of var.random")
add("dyestuff2_singular", "Dyestuff2", "Yield ~ 1 + (1 | Batch)", in_course = FALSE,
    note = "singular: var.random NULL, conditional R2 NA, ICC NA")
add("grouseticks_olre", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
    "glmer", "poisson", in_course = FALSE, note = "INDEX has one level per observation: var.dispersion")
add("cbpp_binomial_weights", "cbpp", "incidence / size ~ period + (1 | herd)", "glmer", "binomial",
    weights = "size", in_course = FALSE)
add("epil_poisson_slope", "epil", "y ~ trt + lbase + V4 + (V4 | subject)", "glmer", "poisson", in_course = FALSE)
add("bacteria_bernoulli_slope", "bacteria", "infected ~ trt + week + (week | ID)", "glmer", "binomial", in_course = FALSE)

pv <- function(p) as.character(packageVersion(p))
out <- list(`_source` = "make_r2_reference.R",
  versions = list(R = as.character(getRversion()), lme4 = pv("lme4"), performance = pv("performance"),
                  insight = pv("insight"), Matrix = pv("Matrix"), jsonlite = pv("jsonlite")),
  models = MODELS)
write_json(out, "r2_reference.json", digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE)
cat("wrote r2_reference.json\n")
