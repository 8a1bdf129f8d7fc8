# Regenerates breadth_reference.json: reference numbers for hierlm's model breadth
# (non-canonical GLMM links, Gamma / inverse-Gaussian GLMMs, ordinal clmm/clm, spline bases and
# lmer fits with ns()/bs() terms).  R is only used to produce these committed reference numbers;
# it is never a runtime dependency of hierlm.
# Run from this folder:  Rscript make_breadth_reference.R   (about 1-2 minutes on one core)
# Produced with R 4.2, lme4 1.1-31, ordinal 2022.11.16, splines (base R), jsonlite; the exact
# versions are recorded in the JSON under "versions".
#
# Extra datasets written to data/*.csv (then read back with the same loader as the shipped ones, so
# factor levels follow the Python loader: numeric-looking levels numerically, else code-point order):
#   bacteria_breadth.csv (MASS::bacteria, + y01 = (y == "y"), late = (week > 2)),
#   toenail_breadth.csv (HSAUR3::toenail, + y01 = (outcome == "moderate or severe")),
#   fhch2010_lexdec.csv (afex::fhch2010, task == "lexdec" rows only, task column dropped,
#                        logical `correct` stored as integer column `acc`, log_rt (= log(rt)) dropped),
#   wine_breadth.csv (ordinal::wine), soup_breadth.csv (ordinal::soup).
#   (the "_breadth" suffix keeps them apart from other scripts' data/*.csv, e.g. make_course_reference.R
#   writes its own data/bacteria.csv with other columns)
#
# JSON layout (top level):
#   _source, versions, notes: strings / named list
#   datasets: {name: {file, source, nrow, factors: {column: [levels in R's order = Python loader order]}, ordered: [columns],
#                     note}}  -- every dataset used (shipped ones too), with factor level orders.
#   glmer: {model_name: record}  record =
#       data, formula, family, link, nAGQ, control (text),
#       fixef {name: value}, se {name: value} (sqrt diag vcov(m); lme4 default = finite-difference
#       Hessian), se_RX (sqrt diag vcov(m, use.hessian = FALSE) = sigma^2 * RX^-1 RX^-T),
#       vcov (matrix, rows), vcov_names, theta, theta_names,
#       varcorr (rows of as.data.frame(VarCorr(m)): grp, var1, var2, vcov, sdcor),
#       sigma (sigma(m); 1 for binomial), logLik, logLik_df, deviance (= deviance(m), which for a
#       GLMM is the sum of the deviance residuals, NOT -2 logLik), minus2logLik, AIC, BIC, nobs,
#       ngrps, singular, fitted_head (first 10 fitted(m) = mu), ranef_head {group: {levels, values
#       {term: [..]}, condsd {term: [..]}}} (first 10 levels), laplace {aic_term, ussq, ldL2, drsum,
#       wrss, pwrss, sigmaML, identity_check}, max_abs_grad (max |m@optinfo$derivs$gradient|, the unscaled
#       finite-difference gradient; lme4's convergence check scales it), optimizer_messages, fit_warnings,
#       tight: the same record (without "tight") refitted with a tight control (see `control`),
#       converged_objective {control, logLik_at_default_params, logLik_at_tight_params, repeat_check}: both
#       optima evaluated on the fully converged (tight tolPwrss) Laplace objective (devFunOnly), note.
#       The header notes below explain lme4's Gamma / inverse-Gaussian objective and sigma.
#   clmm: {model_name: record}  record =
#       data, formula, link, threshold, nAGQ, alpha {name: value}, beta {name: value},
#       se {name: value} (all parameters; "ST<k>" = k-th random-term parameter, on the scale ST_scale),
#       vcov, vcov_names, re_sd {group: value}, re_var {group: value},
#       ST_par {group: value}, ST_scale ("log SD" or "SD": scale of the ST parameters in se/vcov), control,
#       logLik, AIC, BIC, nobs, ngrps, condHess (max/min |eigenvalue| of the Hessian, as summary()),
#       max_abs_grad, niter, optimizer_message, fit_warnings,
#       ranef_head {group: {levels, mode, condvar}} (first 10 levels; mode = ranef(), on the
#       linear-predictor scale), fitted_head (first 10 fitted(m)),
#       prob_head {rows (1-based), categories, at_re0 [[..]], at_modes [[..]], method},
#       fitted_check_maxdiff, note, default_path (wine_cloglog only, see notes$clmm_cloglog_bug),
#       clm: the fixed-effects-only clm() fit with the same link (alpha, beta, se, vcov, logLik, AIC,
#            condHess, prob_head from predict(clm, newdata, type = "prob")).
#   splines:
#     bases: {name: {source, x_name, x, fun, args, df, degree, intercept, knots, Boundary_knots,
#             colnames, basis (full matrix, rows), newx, predict (predict(basis, newx), rows)}}
#     model_matrix_names: [{data, formula, colnames}]
#     lmer: {model_name: record}  (lmer records: data, formula, REML, fixef, se, vcov, vcov_names,
#             theta, theta_names, varcorr, sigma, logLik, REMLcrit, deviance, AIC, BIC, nobs, ngrps,
#             singular, fitted_head, optimizer_messages, fit_warnings, ranef_head,
#             newdata (list of rows), pred (re.form = NULL, allow.new.levels = TRUE: new levels get 0),
#             pred_fixed (re.form = NA), pred_manual (X_new beta + Z_new b with predict(basis, newx),
#             a check that lme4 reuses the training knots))
# Matrices are stored row-wise (list of rows).  NA -> null.
suppressMessages({library(lme4); library(ordinal); library(splines); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
set.seed(1)

DATA_DIR <- "/work/shared/data"
OUT_DATA <- "data"
dir.create(OUT_DATA, showWarnings = FALSE)
FACTOR_COLS <- list(
  sleepstudy = "Subject", Sitka = "treat", Dyestuff = "Batch", Penicillin = c("plate", "sample"),
  cbpp = c("herd", "period"), grouseticks = c("INDEX", "BROOD", "YEAR", "LOCATION"),
  ChickWeight = c("Chick", "Diet"),
  VerbAgg = c("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2"),
  bacteria_breadth = c("y", "ap", "hilo", "ID", "trt"),
  toenail_breadth = c("patientID", "outcome", "treatment"),
  fhch2010_lexdec = c("id", "stimulus", "density", "frequency", "length", "item"),
  wine_breadth = c("rating", "temp", "contact", "bottle", "judge"),
  soup_breadth = c("RESP", "PROD", "PRODID", "SURENESS", "DAY", "SOUPTYPE", "SOUPFREQ", "COLD", "EASY",
           "GENDER", "AGEGROUP", "LOCATION"))
ORDERED <- list(wine_breadth = "rating", soup_breadth = "SURENESS")
DATA_FILES <- list()
EXTRA <- c("bacteria_breadth", "toenail_breadth", "fhch2010_lexdec", "wine_breadth", "soup_breadth")  # written below to data/<name>.csv
load_data <- function(name) {
  f <- if (name %in% EXTRA) file.path(OUT_DATA, paste0(name, ".csv")) else file.path(DATA_DIR, paste0(name, ".csv"))
  x <- read.csv(f, stringsAsFactors = TRUE)
  for (k in FACTOR_COLS[[name]]) x[[k]] <- factor(as.vector(x[[k]]))
  for (k in ORDERED[[name]]) x[[k]] <- factor(x[[k]], levels = levels(x[[k]]), ordered = TRUE)
  DATA_FILES[[name]] <<- list(
    file = if (startsWith(f, DATA_DIR)) paste0("shipped: hl.load_dataset('", name, "')") else paste0("tests/reference/", f),
    nrow = nrow(x),
    factors = lapply(setNames(FACTOR_COLS[[name]], FACTOR_COLS[[name]]), function(k) I(levels(x[[k]]))),
    ordered = as.list(ORDERED[[name]]))
  x
}
write_data <- function(x, name) write.csv(x, file.path(OUT_DATA, paste0(name, ".csv")), row.names = FALSE)

## ------------------------------------------------------------ extra data sets -> data/*.csv
data(bacteria, package = "MASS")
bac <- data.frame(y = as.character(bacteria$y), ap = as.character(bacteria$ap), hilo = as.character(bacteria$hilo),
                  week = bacteria$week, ID = as.character(bacteria$ID), trt = as.character(bacteria$trt),
                  y01 = as.integer(bacteria$y == "y"), late = as.integer(bacteria$week > 2))
write_data(bac, "bacteria_breadth")
data(toenail, package = "HSAUR3")
toe <- data.frame(patientID = as.character(toenail$patientID), outcome = as.character(toenail$outcome),
                  treatment = as.character(toenail$treatment), time = toenail$time, visit = toenail$visit,
                  y01 = as.integer(toenail$outcome == "moderate or severe"))
write_data(toe, "toenail_breadth")
data(fhch2010, package = "afex")
fh <- droplevels(subset(fhch2010, task == "lexdec"))
fh <- data.frame(id = as.character(fh$id), stimulus = as.character(fh$stimulus), density = as.character(fh$density),
                 frequency = as.character(fh$frequency), length = as.character(fh$length),
                 item = as.character(fh$item), rt = fh$rt, acc = as.integer(fh$correct))
write_data(fh, "fhch2010_lexdec")
data(wine, package = "ordinal")
wi <- data.frame(response = wine$response, rating = as.integer(as.character(wine$rating)),
                 temp = as.character(wine$temp), contact = as.character(wine$contact),
                 bottle = as.integer(as.character(wine$bottle)), judge = as.integer(as.character(wine$judge)))
write_data(wi, "wine_breadth")
data(soup, package = "ordinal")
so <- as.data.frame(lapply(soup, function(v) if (is.factor(v)) as.character(v) else v))
write_data(so, "soup_breadth")

SOURCES <- list(bacteria_breadth = "MASS::bacteria", toenail_breadth = "HSAUR3::toenail",
                fhch2010_lexdec = "afex::fhch2010 (task == 'lexdec')", wine_breadth = "ordinal::wine", soup_breadth = "ordinal::soup")

versions <- list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")),
                 Matrix = as.character(packageVersion("Matrix")), ordinal = as.character(packageVersion("ordinal")),
                 MASS = as.character(packageVersion("MASS")), afex = as.character(packageVersion("afex")),
                 HSAUR3 = as.character(packageVersion("HSAUR3")), jsonlite = as.character(packageVersion("jsonlite")))
out <- list(`_source` = paste("make_breadth_reference.R: R", getRversion(), "lme4", versions$lme4,
                              "ordinal", versions$ordinal), versions = versions)

## ------------------------------------------------------------ helpers
FITW <- character(0)
fitw <- function(expr) {
  FITW <<- character(0)
  withCallingHandlers(expr,
    warning = function(w) { FITW <<- c(FITW, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { FITW <<- c(FITW, trimws(conditionMessage(m))); invokeRestart("muffleMessage") })
}
rows <- function(M) { M <- as.matrix(M); lapply(seq_len(nrow(M)), function(i) I(unname(M[i, ]))) }
vc <- function(m) { x <- as.data.frame(VarCorr(m)); for (k in c("grp", "var1", "var2")) x[[k]] <- as.character(x[[k]]); x }
opt_msgs <- function(m) as.list(as.character(c(m@optinfo$conv$lme4$messages, unlist(m@optinfo$warnings))))
ranef_head <- function(m, n = 10) {
  r <- ranef(m, condVar = TRUE); a <- as.data.frame(r)
  lapply(setNames(names(r), names(r)), function(g) {
    lv <- head(rownames(r[[g]]), n); tms <- colnames(r[[g]])
    list(levels = I(lv),
         values = lapply(setNames(tms, tms), function(tm) I(unname(r[[g]][lv, tm]))),
         condsd = lapply(setNames(tms, tms), function(tm) {
           s <- a[a$grpvar == g & a$term == tm, ]; I(unname(s$condsd[match(lv, as.character(s$grp))])) }))
  })
}

tight_controls <- list(
  'glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))' =
    glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10, maxfun = 1e5)),
  'glmerControl(optimizer = "bobyqa", tolPwrss = 1e-10, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))' =
    glmerControl(optimizer = "bobyqa", tolPwrss = 1e-10, optCtrl = list(rhoend = 1e-10, maxfun = 1e5)))

glmm_record <- function(m, data_name, formula, control_txt) {
  co <- coef(summary(m)); fam <- family(m); v <- as.matrix(vcov(m))
  rsp <- m@resp; cmp <- m@devcomp$cmp
  drsum <- sum(rsp$devResid())
  aic_term <- fam$aic(rsp$y, rsp$n, rsp$mu, rsp$weights, drsum)
  ll <- logLik(m)
  g <- m@optinfo$derivs$gradient
  list(data = data_name, formula = formula, family = fam$family, link = fam$link,
       nAGQ = m@devcomp$dims[["nAGQ"]], control = control_txt,
       fixef = as.list(fixef(m)), se = as.list(co[, "Std. Error"]),
       se_RX = as.list(sqrt(diag(as.matrix(suppressWarnings(vcov(m, use.hessian = FALSE)))))),
       vcov = rows(v), vcov_names = I(colnames(v)),
       theta = I(unname(getME(m, "theta"))), theta_names = I(names(getME(m, "theta"))),
       varcorr = vc(m), sigma = sigma(m), logLik = as.numeric(ll), logLik_df = attr(ll, "df"),
       deviance = deviance(m), minus2logLik = -2 * as.numeric(ll), AIC = AIC(m), BIC = BIC(m),
       nobs = nobs(m), ngrps = as.list(ngrps(m)), singular = isSingular(m),
       fitted_head = unname(head(fitted(m), 10)), ranef_head = ranef_head(m),
       laplace = list(aic_term = aic_term, ussq = unname(cmp[["ussq"]]), ldL2 = unname(cmp[["ldL2"]]),
                      drsum = drsum, wrss = unname(cmp[["wrss"]]), pwrss = unname(cmp[["pwrss"]]),
                      sigmaML = unname(cmp[["sigmaML"]]),
                      identity_check = -2 * as.numeric(ll) - (aic_term + unname(cmp[["ussq"]]) + unname(cmp[["ldL2"]]))),
       max_abs_grad = if (is.null(g)) NA else max(abs(g)),
       optimizer_messages = opt_msgs(m), fit_warnings = as.list(unique(FITW)))
}

GLMER <- list()
fit_glmer <- function(name, formula, data, data_name, family, note = NULL) {
  cat("glmer:", name, "\n")
  f <- as.formula(formula)
  m <- fitw(glmer(f, data = data, family = family))
  rec <- glmm_record(m, data_name, formula, "lme4 defaults")
  tr <- NULL
  for (ct in names(tight_controls)) {
    tr <- tryCatch({
      mt <- fitw(glmer(f, data = data, family = family, control = tight_controls[[ct]]))
      glmm_record(mt, data_name, formula, ct)
    }, error = function(e) { cat("  tight fit failed:", ct, conditionMessage(e), "\n"); NULL })
    if (!is.null(tr)) break
  }
  rec$tight <- tr
  # both optima on the fully converged Laplace objective (devFunOnly with the tight control): shows which
  # optimum is better once PIRLS is converged at every evaluation
  if (!is.null(tr)) rec$converged_objective <- tryCatch({
    dfun <- glmer(f, data = data, family = family, control = tight_controls[[tr$control]], devFunOnly = TRUE)
    pt <- c(tr$theta, unlist(tr$fixef)); pd <- c(rec$theta, unlist(rec$fixef))
    l_t <- -0.5 * dfun(pt); l_d <- -0.5 * dfun(pd); l_t2 <- -0.5 * dfun(pt)
    list(control = tr$control, logLik_at_default_params = l_d, logLik_at_tight_params = l_t,
         repeat_check = l_t2 - l_t)
  }, error = function(e) list(error = conditionMessage(e)))
  if (!is.null(note)) rec$note <- note
  GLMER[[name]] <<- rec
}

## ------------------------------------------------------------ 1. glmer breadth
va <- load_data("VerbAgg"); cb <- load_data("cbpp"); ss <- load_data("sleepstudy")
dy <- load_data("Dyestuff"); pe <- load_data("Penicillin"); ck <- load_data("ChickWeight")
bac <- load_data("bacteria_breadth"); toe <- load_data("toenail_breadth"); fh <- load_data("fhch2010_lexdec")

## binomial, non-canonical links
fit_glmer("verbagg_probit", "r2 ~ Anger + Gender + btype + (1|id)", va, "VerbAgg", binomial(link = "probit"))
fit_glmer("verbagg_cloglog", "r2 ~ Anger + Gender + btype + (1|id)", va, "VerbAgg", binomial(link = "cloglog"))
fit_glmer("cbpp_probit", "cbind(incidence, size - incidence) ~ period + (1|herd)", cb, "cbpp", binomial(link = "probit"))
fit_glmer("cbpp_cloglog", "cbind(incidence, size - incidence) ~ period + (1|herd)", cb, "cbpp", binomial(link = "cloglog"))
fit_glmer("bacteria_probit", "y01 ~ trt + late + (1|ID)", bac, "bacteria_breadth", binomial(link = "probit"))
fit_glmer("bacteria_cloglog", "y01 ~ trt + late + (1|ID)", bac, "bacteria_breadth", binomial(link = "cloglog"))
fit_glmer("toenail_cloglog", "y01 ~ treatment * time + (1|patientID)", toe, "toenail_breadth", binomial(link = "cloglog"),
          note = "large random-intercept SD (~3.3); Laplace is known to be crude here, but it is lme4's Laplace value")
fit_glmer("lexdec_acc_probit", "acc ~ stimulus * frequency + (1|id) + (1|item)", fh, "fhch2010_lexdec",
          binomial(link = "probit"),
          note = "psychology experiment (lexical decision accuracy, 25 subjects x 600 items, crossed); no psychophysics data set is installed")

## Gamma
fit_glmer("sleep_gamma_log", "Reaction ~ Days + (Days|Subject)", ss, "sleepstudy", Gamma(link = "log"))
fit_glmer("sleep_gamma_identity", "Reaction ~ Days + (Days|Subject)", ss, "sleepstudy", Gamma(link = "identity"))
fit_glmer("lexdec_rt_gamma_inverse", "rt ~ stimulus * frequency + (1|id)", fh, "fhch2010_lexdec", Gamma(link = "inverse"))
fit_glmer("lexdec_rt_gamma_log", "rt ~ stimulus * frequency + (1|id) + (1|item)", fh, "fhch2010_lexdec", Gamma(link = "log"))
fit_glmer("lexdec_rt_gamma_identity", "rt ~ stimulus * frequency + (1|id) + (1|item)", fh, "fhch2010_lexdec",
          Gamma(link = "identity"))
fit_glmer("dyestuff_gamma_log", "Yield ~ 1 + (1|Batch)", dy, "Dyestuff", Gamma(link = "log"))
fit_glmer("penicillin_gamma_log", "diameter ~ 1 + (1|plate) + (1|sample)", pe, "Penicillin", Gamma(link = "log"))
fit_glmer("chick_gamma_log", "weight ~ Time + Diet + (Time|Chick)", ck, "ChickWeight", Gamma(link = "log"))

## inverse Gaussian
fit_glmer("lexdec_rt_invgauss", "rt ~ stimulus * frequency + (1|id)", fh, "fhch2010_lexdec",
          inverse.gaussian(link = "1/mu^2"))
fit_glmer("lexdec_rt_invgauss_log", "rt ~ stimulus * frequency + (1|id)", fh, "fhch2010_lexdec",
          inverse.gaussian(link = "log"))
fit_glmer("sleep_invgauss_log", "Reaction ~ Days + (Days|Subject)", ss, "sleepstudy", inverse.gaussian(link = "log"))
out$glmer <- GLMER

## ------------------------------------------------------------ 2. ordinal clmm / clm
cdf <- list(logit = plogis, probit = pnorm, cloglog = function(x) 1 - exp(-exp(x)))
cat_probs <- function(alpha, eta, link) {
  F <- cdf[[link]]; th <- c(-Inf, alpha, Inf)
  t(sapply(eta, function(e) diff(F(th - e))))
}
CLMM <- list()
fit_clmm <- function(name, formula, fixed_formula, data, data_name, link, nAGQ = 1, note = NULL, useMatrix = FALSE) {
  cat("clmm:", name, "\n")
  m <- fitw(clmm(as.formula(formula), data = data, link = link, nAGQ = nAGQ,
                 control = clmm.control(useMatrix = useMatrix)))
  w <- unique(FITW)
  resp <- all.vars(as.formula(formula))[1]
  v <- as.matrix(vcov(m)); ev <- eigen(m$Hessian, only.values = TRUE)$values
  vcl <- VarCorr(m)
  X <- model.matrix(as.formula(fixed_formula), data)[, -1, drop = FALSE]
  X <- X[, names(m$beta), drop = FALSE]
  eta0 <- drop(X %*% m$beta)
  re <- ranef(m); bsum <- rep(0, nrow(data))
  for (g in names(re)) {
    gv <- if (grepl(":", g)) interaction(data[, strsplit(g, ":")[[1]]], sep = ":", drop = TRUE) else data[[g]]
    bsum <- bsum + re[[g]][match(as.character(gv), rownames(re[[g]])), 1]
  }
  idx <- 1:5
  cv <- condVar(m)
  stpar <- setNames(m$optRes$par[-seq_along(m$coefficients)], names(vcl))
  sds <- sapply(vcl, function(s) unname(attr(s, "stddev")))
  st_scale <- if (max(abs(exp(stpar) - sds)) < 1e-10) "log SD" else if (max(abs(stpar - sds)) < 1e-10) "SD" else "unknown"
  rec <- list(data = data_name, formula = formula, link = link, threshold = "flexible", nAGQ = nAGQ,
    control = if (useMatrix) "clmm.control(useMatrix = TRUE)" else "ordinal defaults",
    alpha = as.list(m$alpha), beta = as.list(m$beta), se = as.list(sqrt(diag(v))),
    vcov = rows(v), vcov_names = I(colnames(v)),
    re_sd = lapply(vcl, function(s) unname(attr(s, "stddev"))),
    re_var = lapply(vcl, function(s) unname(s[1, 1])),
    ST_par = as.list(stpar), ST_scale = st_scale,
    logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), nobs = nobs(m),
    ngrps = as.list(sapply(re, nrow)), condHess = abs(max(ev) / min(ev)),
    max_abs_grad = max(abs(m$gradient)), niter = m$Niter, optimizer_message = m$optRes$message,
    fit_warnings = as.list(w),
    ranef_head = lapply(setNames(names(re), names(re)), function(g)
      list(levels = I(head(rownames(re[[g]]), 10)), mode = I(unname(head(re[[g]][, 1], 10))),
           condvar = I(unname(head(cv[[g]][, 1], 10))))),
    fitted_head = unname(head(fitted(m), 10)),
    prob_head = list(rows = idx, categories = levels(data[[resp]]),
      at_re0 = rows(cat_probs(m$alpha, eta0[idx], link)),
      at_modes = rows(cat_probs(m$alpha, eta0[idx] + bsum[idx], link)),
      method = paste("computed: P(Y = j) = F(alpha_j - eta) - F(alpha_{j-1} - eta), F the inverse link,",
                     "eta = x'beta (at_re0) or x'beta + sum of ranef modes of the row (at_modes);",
                     "fitted(clmm) is at_modes at the observed category (checked: fitted_check_maxdiff)")))
  yobs <- as.integer(data[[resp]])
  pm <- cat_probs(m$alpha, eta0 + bsum, link)
  rec$fitted_check_maxdiff <- max(abs(pm[cbind(seq_along(yobs), yobs)] - fitted(m)))
  # clm sanity fit
  f0 <- fitw(clm(as.formula(fixed_formula_resp(resp, fixed_formula)), data = data, link = link))
  w0 <- unique(FITW)
  v0 <- as.matrix(vcov(f0))
  nd <- data[idx, all.vars(as.formula(fixed_formula)), drop = FALSE]
  p0 <- predict(f0, newdata = nd, type = "prob")$fit
  X0 <- X[idx, , drop = FALSE]
  rec$clm <- list(formula = fixed_formula_resp(resp, fixed_formula), link = link,
    alpha = as.list(f0$alpha), beta = as.list(f0$beta), se = as.list(sqrt(diag(v0))),
    vcov = rows(v0), vcov_names = I(colnames(v0)), logLik = as.numeric(logLik(f0)), AIC = AIC(f0),
    nobs = nobs(f0), condHess = f0$cond.H, max_abs_grad = max(abs(f0$gradient)),
    convergence = as.list(f0$convergence$messages), fit_warnings = as.list(w0),
    prob_head = list(rows = idx, categories = levels(data[[resp]]), prob = rows(p0),
      method = "predict(clm, newdata = data[rows, covariates], type = 'prob')$fit",
      check_maxdiff = max(abs(p0 - cat_probs(f0$alpha, drop(X0[, names(f0$beta), drop = FALSE] %*% f0$beta), link)))))
  if (!is.null(note)) rec$note <- note
  CLMM[[name]] <<- rec
}
fixed_formula_resp <- function(resp, ff) paste(resp, ff)

wi <- load_data("wine_breadth"); so <- load_data("soup_breadth")
fit_clmm("wine_logit", "rating ~ temp + contact + (1|judge)", "~ temp + contact", wi, "wine_breadth", "logit")
fit_clmm("wine_probit", "rating ~ temp + contact + (1|judge)", "~ temp + contact", wi, "wine_breadth", "probit")
fit_clmm("wine_cloglog", "rating ~ temp + contact + (1|judge)", "~ temp + contact", wi, "wine_breadth", "cloglog",
         useMatrix = TRUE, note = paste(
           "fitted with clmm.control(useMatrix = TRUE): in ordinal 2022.11.16 the default fitting path for a single",
           "scalar random-effects term (C code) swaps the cloglog and loglog links -- clmm(link = 'cloglog') with defaults",
           "returns the loglog model (its fitted() values follow F(x) = exp(-exp(-x))); see default_path"))
m_bug <- suppressWarnings(clmm(rating ~ temp + contact + (1|judge), data = wi, link = "cloglog"))
m_ll <- suppressWarnings(clmm(rating ~ temp + contact + (1|judge), data = wi, link = "loglog", control = clmm.control(useMatrix = TRUE)))
CLMM$wine_cloglog$default_path <- list(
  call = "clmm(rating ~ temp + contact + (1|judge), wine, link = 'cloglog') with default control (wrong: loglog model)",
  logLik = as.numeric(logLik(m_bug)), alpha = as.list(m_bug$alpha), beta = as.list(m_bug$beta),
  re_sd = unname(attr(VarCorr(m_bug)$judge, "stddev")),
  loglog_useMatrix_logLik = as.numeric(logLik(m_ll)))
fit_clmm("wine_logit_agq10", "rating ~ temp + contact + (1|judge)", "~ temp + contact", wi, "wine_breadth", "logit",
         nAGQ = 10, note = "adaptive Gauss-Hermite quadrature with 10 nodes (nAGQ = 10) instead of Laplace")
fit_clmm("wine_judge_bottle", "rating ~ temp + contact + (1|judge) + (1|bottle)", "~ temp + contact", wi, "wine_breadth",
         "logit", note = "two crossed random intercepts; the bottle SD goes to the boundary (~4e-6): boundary fit")
fit_clmm("soup_logit", "SURENESS ~ PROD + (1|RESP)", "~ PROD", so, "soup_breadth", "logit")
fit_clmm("soup_probit_covariates", "SURENESS ~ PROD + DAY + GENDER + (1|RESP)", "~ PROD + DAY + GENDER", so, "soup_breadth",
         "probit")
fit_clmm("soup_two_re", "SURENESS ~ PROD + (1|RESP) + (1|RESP:PROD)", "~ PROD", so, "soup_breadth", "logit",
         note = "two random intercepts: respondent and respondent-by-product (as in the ordinal clmm vignette)")
out$clmm <- CLMM

## ------------------------------------------------------------ 3. splines
sk <- load_data("Sitka"); gt <- load_data("grouseticks")
xsrc <- list(
  sleep_Days = list(source = "sleepstudy$Days", x = ss$Days, newx = c(-2, -0.5, 0, 0.25, 3.3, 4.5, 9, 10, 15)),
  Sitka_Time = list(source = "Sitka$Time", x = sk$Time, newx = c(100, 152, 160.5, 200, 231, 258, 270, 320)),
  Chick_Time = list(source = "ChickWeight$Time", x = ck$Time, newx = c(-3, 0, 1, 7.5, 12, 20, 21, 25, 30)),
  grouse_HEIGHT = list(source = "grouseticks$HEIGHT", x = gt$HEIGHT, newx = c(350, 403, 450.5, 500, 533, 540, 600)))
specs <- list(
  ns_df3 = list(fun = "ns", args = list(df = 3)),
  ns_df5 = list(fun = "ns", args = list(df = 5)),
  ns_df4_intercept = list(fun = "ns", args = list(df = 4, intercept = TRUE)),
  bs_df4_deg3 = list(fun = "bs", args = list(df = 4, degree = 3)),
  bs_df5_deg2 = list(fun = "bs", args = list(df = 5, degree = 2)),
  bs_df3_deg3 = list(fun = "bs", args = list(df = 3, degree = 3)),
  bs_df3_deg1 = list(fun = "bs", args = list(df = 3, degree = 1)),
  bs_df6_deg3_intercept = list(fun = "bs", args = list(df = 6, degree = 3, intercept = TRUE)))
BASES <- list()
for (xn in names(xsrc)) for (sn in names(specs)) {
  s <- specs[[sn]]; x <- xsrc[[xn]]$x
  B <- do.call(s$fun, c(list(x), s$args))
  P <- suppressWarnings(predict(B, xsrc[[xn]]$newx))
  BASES[[paste(xn, sn, sep = "__")]] <- list(source = xsrc[[xn]]$source, x_name = xn, fun = s$fun, args = s$args,
    df = ncol(B), degree = if (s$fun == "bs") attr(B, "degree") else 3L, intercept = attr(B, "intercept"),
    knots = I(unname(as.numeric(attr(B, "knots")))), Boundary_knots = I(unname(attr(B, "Boundary.knots"))),
    colnames = I(colnames(B)), x = x, basis = rows(unclass(B)), newx = xsrc[[xn]]$newx, predict = rows(unclass(P)))
}
# explicit knots
B <- ns(ss$Days, knots = c(2, 5.5), Boundary.knots = c(0, 10))
BASES[["sleep_Days__ns_knots_2_5.5_boundary_0_10"]] <- list(source = "sleepstudy$Days", x_name = "sleep_Days", fun = "ns",
  args = list(knots = c(2, 5.5), Boundary.knots = c(0, 10)), df = ncol(B), degree = 3L, intercept = attr(B, "intercept"),
  knots = I(unname(as.numeric(attr(B, "knots")))), Boundary_knots = I(unname(attr(B, "Boundary.knots"))),
  colnames = I(colnames(B)), x = ss$Days, basis = rows(unclass(B)), newx = xsrc$sleep_Days$newx,
  predict = rows(unclass(predict(B, xsrc$sleep_Days$newx))))
B <- bs(ck$Time, knots = c(5, 10, 15), degree = 2)
BASES[["Chick_Time__bs_knots_5_10_15_deg2"]] <- list(source = "ChickWeight$Time", x_name = "Chick_Time", fun = "bs",
  args = list(knots = c(5, 10, 15), degree = 2), df = ncol(B), degree = attr(B, "degree"), intercept = attr(B, "intercept"),
  knots = I(unname(as.numeric(attr(B, "knots")))), Boundary_knots = I(unname(attr(B, "Boundary.knots"))),
  colnames = I(colnames(B)), x = ck$Time, basis = rows(unclass(B)), newx = xsrc$Chick_Time$newx,
  predict = rows(unclass(suppressWarnings(predict(B, xsrc$Chick_Time$newx)))))

mm_cases <- list(
  list("ChickWeight", "weight ~ ns(Time, 3) * Diet"),
  list("ChickWeight", "weight ~ ns(Time, df = 3) + bs(Time, knots = c(5, 10))"),
  list("ChickWeight", "weight ~ bs(Time, df = 4, degree = 2) + Diet"),
  list("Sitka", "size ~ treat * ns(Time, 3)"),
  list("Sitka", "size ~ ns(Time,3)"),
  list("Sitka", "size ~ 0 + ns(Time, 4, intercept = TRUE)"),
  list("sleepstudy", "Reaction ~ bs(Days, df = 4)"),
  list("sleepstudy", "Reaction ~ bs(Days, 5, 2)"),
  list("sleepstudy", "Reaction ~ ns(Days, knots = c(2, 5.5), Boundary.knots = c(0, 10))"))
dl <- list(ChickWeight = ck, Sitka = sk, sleepstudy = ss)
mm_names <- lapply(mm_cases, function(cs) {
  mm <- model.matrix(as.formula(cs[[2]]), dl[[cs[[1]]]])
  list(data = cs[[1]], formula = cs[[2]], colnames = I(colnames(mm)))
})

## lmer fits with spline terms
LMER <- list()
lmer_record <- function(name, formula, data, data_name, newdata, REML = TRUE) {
  cat("lmer:", name, "\n")
  m <- fitw(lmer(as.formula(formula), data = data, REML = REML))
  co <- coef(summary(m)); v <- as.matrix(vcov(m))
  pw <- character(0)
  pwh <- function(w) { pw <<- c(pw, conditionMessage(w)); invokeRestart("muffleWarning") }
  pr <- withCallingHandlers(predict(m, newdata = newdata, allow.new.levels = TRUE), warning = pwh)
  pf <- withCallingHandlers(predict(m, newdata = newdata, re.form = NA), warning = pwh)
  # manual: fixed part with the training-data basis (predvars), random part from ranef()
  tt <- delete.response(terms(m)); Xn <- model.matrix(tt, model.frame(tt, newdata), contrasts.arg = attr(getME(m, "X"), "contrasts"))
  man <- drop(Xn[, names(fixef(m)), drop = FALSE] %*% fixef(m))
  rt <- findbars(as.formula(formula)); re <- ranef(m)
  for (b in rt) {
    g <- deparse(b[[3]]); lhs <- b[[2]]
    fr <- as.formula(paste("~", deparse(lhs)))
    # the random-effects basis must use the training knots: rebuild it from the training model frame
    Ztr <- model.matrix(fr, data)
    Zn <- if (grepl("ns\\(|bs\\(", deparse(lhs))) {
      tr <- terms(model.frame(fr, data)); model.matrix(delete.response(tr), model.frame(tr, newdata))
    } else model.matrix(fr, newdata)
    lv <- as.character(newdata[[g]])
    R <- as.matrix(re[[g]])[match(lv, rownames(re[[g]])), colnames(Ztr), drop = FALSE]
    R[is.na(R)] <- 0
    man <- man + rowSums(Zn * R)
  }
  LMER[[name]] <<- list(data = data_name, formula = formula, REML = isREML(m),
    fixef = as.list(fixef(m)), se = as.list(co[, "Std. Error"]), vcov = rows(v), vcov_names = I(colnames(v)),
    theta = I(unname(getME(m, "theta"))), theta_names = I(names(getME(m, "theta"))), varcorr = vc(m),
    sigma = sigma(m), logLik = as.numeric(logLik(m)), REMLcrit = if (isREML(m)) as.numeric(REMLcrit(m)) else NA,
    deviance = if (isREML(m)) NA else deviance(m), AIC = AIC(m), BIC = BIC(m), nobs = nobs(m),
    ngrps = as.list(ngrps(m)), singular = isSingular(m), fitted_head = unname(head(fitted(m), 10)),
    optimizer_messages = opt_msgs(m), fit_warnings = as.list(unique(FITW)), ranef_head = ranef_head(m),
    newdata = newdata, pred = unname(pr), pred_warnings = as.list(unique(pw)), pred_fixed = unname(pf), pred_manual = unname(man),
    pred_note = "pred: predict(m, newdata, allow.new.levels = TRUE) (a new level gets random effect 0); pred_fixed: re.form = NA; pred_manual: X_new beta + Z_new b built with predict(basis, newx) from the training basis")
}
nd_ck <- data.frame(Time = c(-2, 0, 7, 10.5, 21, 24), Chick = c("1", "1", "15", "30", "45", "999"),
                    Diet = c("1", "1", "1", "2", "4", "3"))
nd_ck$Diet <- factor(nd_ck$Diet, levels = levels(ck$Diet))
nd_sk <- data.frame(Time = c(140, 152, 190.5, 231, 258, 270), tree = c(1L, 1L, 2L, 40L, 79L, 999L),
                    treat = factor(c("control", "control", "ozone", "ozone", "control", "ozone"), levels = levels(sk$treat)))
nd_ss <- data.frame(Days = c(-1, 0, 2.5, 4.5, 9, 11), Subject = c("308", "308", "309", "330", "372", "999"))
lmer_record("chick_ns_diet", "weight ~ ns(Time, 3) * Diet + (1|Chick)", ck, "ChickWeight", nd_ck)
lmer_record("chick_bs_slope_ML", "weight ~ bs(Time, df = 4, degree = 2) + Diet + (Time|Chick)", ck, "ChickWeight", nd_ck,
            REML = FALSE)
lmer_record("sitka_treat_ns", "size ~ treat * ns(Time, 3) + (1|tree)", sk, "Sitka", nd_sk)
lmer_record("sitka_bs_deg2_ML", "size ~ treat + bs(Time, df = 4, degree = 2) + (1|tree)", sk, "Sitka", nd_sk, REML = FALSE)
lmer_record("sleep_bs", "Reaction ~ bs(Days, df = 4) + (1|Subject)", ss, "sleepstudy", nd_ss)
lmer_record("sleep_ns_in_bar", "Reaction ~ ns(Days, 2) + (ns(Days, 2)|Subject)", ss, "sleepstudy", nd_ss)
out$splines <- list(bases = BASES, model_matrix_names = mm_names, lmer = LMER)

## ------------------------------------------------------------ datasets and notes
out$datasets <- lapply(DATA_FILES, function(d) d)
for (n in names(SOURCES)) out$datasets[[n]]$source <- SOURCES[[n]]
out$datasets$Sitka$note <- "tree is an integer column (not in the factor list); lme4 turns it into a grouping factor"
out$datasets$fhch2010_lexdec$note <- "acc = as.integer(correct); task and log_rt (= log(rt)) dropped; levels re-sorted alphabetically (afex orders stimulus word < nonword, frequency low < high, density low < high)"
out$datasets$bacteria_breadth$note <- "y01 = as.integer(y == 'y'); late = as.integer(week > 2); trt levels sorted alphabetically (drug, drug+, placebo), so placebo is not the reference"
out$datasets$toenail_breadth$note <- "y01 = as.integer(outcome == 'moderate or severe')"
out$datasets$wine_breadth$note <- "rating is an ordered response with levels 1 < 2 < 3 < 4 < 5"
out$datasets$soup_breadth$note <- "SURENESS is an ordered response with levels 1 < ... < 6"

out$notes <- list(
  glmer_objective = paste(
    "For every glmer record -2*logLik = laplace$aic_term + laplace$ussq + laplace$ldL2 (identity_check ~ 0), where",
    "aic_term = family(m)$aic(y, n, mu, weights, dev = drsum) evaluated at the conditional modes, drsum = sum of the",
    "unit deviances (dispersion 1).  For Gamma and inverse.gaussian R's aic() uses the dispersion drsum / sum(weights)",
    "and adds +2, and the conditional modes/L come from PIRLS with dispersion fixed at 1 (penalty ||u||^2 not scaled by",
    "the dispersion).  sigma(m) = sqrt(pwrss / n) with pwrss = (sum of squared Pearson residuals) + ||u||^2",
    "(= laplace$sigmaML); VarCorr() multiplies the relative factor by sigma(m), so for Gamma / inverse.gaussian",
    "varcorr sdcor = theta * sigma while the random effects enter eta with SD theta.  logLik_df counts sigma for",
    "Gamma / inverse.gaussian."),
  glmer_se = paste("se = lme4's default (finite-difference Hessian of the Laplace deviance wrt (theta, beta), beta block",
    "of 2 * H^-1, not multiplied by sigma^2); se_RX = sigma^2 (RX'RX)^-1 (use.hessian = FALSE)."),
  glmer_tight = paste("tight = refit with glmerControl(optimizer = 'bobyqa', tolPwrss = 1e-12, rhoend = 1e-10) (1e-10",
    "fallback), so PIRLS is fully converged at every evaluation; with the default tolPwrss = 1e-7 lme4's Laplace",
    "deviance is slightly different, so default and tight optima can differ in the 4th-6th digit (logLik can even",
    "be lower in the tight fit)."),
  glmer_not_included = paste("Gamma(inverse) and inverse.gaussian(1/mu^2) on sleepstudy Reaction (ms) are not included:",
    "the first stops with max|grad| ~ 0.06 and 'very large eigenvalue' (1/mu ~ 0.004, badly scaled), the second",
    "fails with 'PIRLS loop resulted in NaN value'; the same links are fitted on fhch2010 rt (seconds) instead."),
  clmm = paste("ordinal's model: F^-1(P(Y <= j)) = alpha_j - x'beta - b (F = link CDF; the ranef modes b enter with a",
    "minus sign). se/vcov include 'ST<k>', the k-th random-effect parameter on the scale given by ST_scale: 'log SD'",
    "for a single scalar random term fitted by the default (C code) path, 'SD' for several terms or useMatrix = TRUE",
    "(the optimisation parameter of that path). condHess as summary.clmm: abs(max/min eigenvalue) of m$Hessian",
    "on that parameterisation. Laplace unless nAGQ says otherwise."),
  clmm_cloglog_bug = paste("ordinal 2022.11.16: clmm() with a single scalar random term and default control swaps the",
    "cloglog and loglog links (the fitted() values follow the other CDF; useMatrix = TRUE fits are correct);",
    "wine_cloglog is therefore fitted with useMatrix = TRUE and default_path records the wrong default-path fit."),
  splines = paste("basis rows follow the data rows; predict() outside the boundary knots is linear for ns and",
    "polynomial (a warning) for bs. lme4's predict() with newdata reuses the training knots (predvars) also",
    "for a basis inside a random-effects bar; pred_manual confirms it."))

write_json(out, "breadth_reference.json", digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE)
cat("wrote breadth_reference.json\n")
