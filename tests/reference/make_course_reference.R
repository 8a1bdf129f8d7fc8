# Regenerates course_reference.json: reference numbers for the "course workflow" features of hierlm
#   (lmerTest df / p-values / anova / contest / ranova, pbkrtest KR covariance, lm / glm summaries and
#   diagnostics, anova(lmer, lm), hat values and Cook's distances of mixed models, Nakagawa R2 / ICC).
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Run from this folder:  Rscript make_course_reference.R   (takes a few minutes)
# Produced with R 4.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, performance 0.10.2, insight 0.19.0,
# MASS 7.3-58.2, nlme 3.1-162, Matrix 1.5-3, jsonlite 1.8.4 (exact versions are stored in "versions").
#
# Data: the hierlm datasets are read from /work/shared/data/<name>.csv exactly like make_lme4_extra.R
# (LC_COLLATE=C, read.csv(stringsAsFactors=TRUE), factor(as.vector(x)) on the listed factor columns, so
# numeric-looking levels are ordered numerically, others in code-point order).  Other real datasets
# (lmerTest, lme4, nlme, MASS, datasets) are written to data/<name>.csv, read back from that CSV and given the
# same factor treatment; "datasets" in the JSON lists, for every dataset used, the file, factor columns with
# their level order, renamed columns and derived columns.  Row subsets: "drop_every_7th" means the CSV
# rows 7, 14, 21, ... (1-based) were removed (0-based index i dropped when (i + 1) %% 7 == 0).
#
# JSON layout (tables are objects keyed by R's row name, each row an object keyed by R's column name,
# in R's row order; NA / NaN -> null; a failed computation is {"error": message}):
#   _source, versions, conventions, datasets{name: {file, factors{col: [levels]}, renamed, derived, note}}
#   lmer_tests{name: {data, formula, REML, weights, subset, derived, nobs, fixef_names, singular,
#       coef_satterthwaite{term: {Estimate, Std. Error, df, t value, Pr(>|t|)}},
#       coef_kenward_roger{...same, Std. Error = KR-adjusted SE...},
#       anova{Satterthwaite|Kenward-Roger: {type1|type2|type3: {term: {Sum Sq, Mean Sq, NumDF, DenDF,
#             F value, Pr(>F)}}}},
#       ranova{rowname: {npar, logLik, AIC, LRT, Df, Pr(>Chisq)}}, ranova_rownames[],
#       vcov_kr{names[], matrix[[row]]} (pbkrtest::vcovAdj; only REML fits with <= 12 fixed effects),
#       contest[ {label, L[[row]], joint, Satterthwaite: table, Kenward-Roger: table} ]
#         (joint = FALSE: one row per L row with Estimate, Std. Error, df, t value, lower, upper, Pr(>|t|);
#          joint = TRUE: one row with Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F)),
#       warnings[] (lmer fit), warnings_tests[] (everything else), note}}
#   lm{name: {data, formula, weights, nobs, coefficients{term: {Estimate, Std. Error, t value, Pr(>|t|)}},
#       sigma, r_squared, adj_r_squared, fstatistic{value, numdf, dendf}, f_pvalue, df_residual, rank,
#       logLik, logLik_df, AIC, BIC, deviance (RSS), cooks_distance[], hatvalues[], rstandard[], rstudent[],
#       residuals_head[], newdata[ {col: value} ], predict{confidence_0.95|confidence_0.9|prediction_0.95|
#       prediction_0.9: {fit[], lwr[], upr[]}}, se_fit[], residual_scale, warnings[]}}
#   lm_anova_nested{name: {data, formulas[2], models[2], table{"1"|"2": {Res.Df, RSS, Df, Sum of Sq, F, Pr(>F)}}}}
#   glm{name: {data, formula, family, link, weights, nobs, coefficients{term: {Estimate, Std. Error,
#       z value|t value, Pr(>|z|)|Pr(>|t|)}}, dispersion, deviance, null_deviance, df_residual, df_null,
#       logLik, logLik_df, AIC, BIC, iter, converged, cooks_distance[], hatvalues[], rstandard[] (deviance),
#       rstandard_pearson[], residuals{response|pearson|deviance|working: first 10}, newdata[...],
#       predict{link{fit[], se_fit[]}, response{fit[], se_fit[]}}, anova_chisq (2 models){rowname:
#       {Df, Deviance, Resid. Df, Resid. Dev, Pr(>Chi)}}, warnings[]}}
#   anova_lmer_lm{name: {data, lmer_formula, lmer_REML, lm_formula, call, rownames[], table{rowname: {npar,
#       AIC, BIC, logLik, deviance, Chisq, Df, Pr(>Chisq)}}, messages[]}}
#   mixed_influence{name: {data, formula, family, REML, hatvalues[], cooks_distance[], warnings[], note}}
#       (lme4's cooks.distance.merMod = (r_pearson / (1 - h))^2 * h / (sigma(m)^2 * rank(X)))
#   performance{name: {data, formula, family, link, fitter, subset, r2_nakagawa{R2_conditional, R2_marginal},
#       icc{ICC_adjusted, ICC_conditional, ICC_unadjusted}, get_variance{var.fixed, var.random, var.residual,
#       var.distribution, var.dispersion, var.intercept{}, var.slope{}, cor.slope_intercept{}},
#       warnings_fit[], warnings_r2[], warnings_icc[], warnings_variance[]}}
suppressMessages({library(lmerTest); library(pbkrtest); library(performance); library(MASS); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))  # alphabetical levels in code-point order (as Python's sorted())

DATA_DIR <- "/work/shared/data"
OUT_DATA <- "data"
dir.create(OUT_DATA, showWarnings = FALSE)
FACTOR_COLS <- list(
  sleepstudy = "Subject", Sitka = "treat", Dyestuff = "Batch", Penicillin = c("plate", "sample"),
  Pastes = c("batch", "cask", "sample"), cbpp = c("herd", "period"),
  grouseticks = c("INDEX", "BROOD", "YEAR", "LOCATION"),
  Orthodont = c("Subject", "Sex"), Oats = c("Block", "Variety"), Machines = c("Worker", "Machine"),
  ChickWeight = c("Chick", "Diet"),
  VerbAgg = c("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2"),
  ergoStool = c("Type", "Subject"), mtcars = character(0))
DATASETS <- list()
load_data <- function(name) {
  x <- read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in FACTOR_COLS[[name]]) x[[k]] <- factor(as.vector(x[[k]]))
  DATASETS[[name]] <<- list(file = paste0("/work/shared/data/", name, ".csv"), loader = "hl.load_dataset",
    factors = lapply(setNames(FACTOR_COLS[[name]], FACTOR_COLS[[name]]), function(k) levels(x[[k]])))
  x
}
# write an extra dataset to data/<name>.csv, read it back and apply the same factor rule
ext_data <- function(name, df, factors, source, renamed = NULL, derived = NULL, note = NULL) {
  path <- file.path(OUT_DATA, paste0(name, ".csv"))
  for (k in names(df)) if (is.factor(df[[k]])) df[[k]] <- as.vector(df[[k]])
  write.csv(df, path, row.names = FALSE)
  x <- read.csv(path, stringsAsFactors = TRUE)
  for (k in factors) x[[k]] <- factor(as.vector(x[[k]]))
  for (k in setdiff(names(x), factors)) if (is.factor(x[[k]])) stop("unlisted factor column ", k)
  DATASETS[[name]] <<- list(file = paste0("tests/reference/data/", name, ".csv"), source = source,
    factors = lapply(setNames(factors, factors), function(k) levels(x[[k]])),
    renamed = renamed, derived = derived, note = note)
  x
}
drop_every_7th <- function(d) { d <- d[-seq(7, nrow(d), by = 7), , drop = FALSE]; rownames(d) <- NULL; d }

pv <- function(p) as.character(packageVersion(p))
versions <- list(R = as.character(getRversion()), lme4 = pv("lme4"), lmerTest = pv("lmerTest"),
  pbkrtest = pv("pbkrtest"), performance = pv("performance"), insight = pv("insight"), MASS = pv("MASS"),
  nlme = pv("nlme"), Matrix = pv("Matrix"), jsonlite = pv("jsonlite"), stats = pv("stats"))
out <- list(`_source` = paste("make_course_reference.R:", paste(names(versions), unlist(versions), collapse = ", ")),
  versions = versions,
  conventions = list(
    tables = "objects keyed by R row name (in R order), rows keyed by R column name; NA/NaN -> null",
    drop_every_7th = "CSV rows 7, 14, 21, ... (1-based) removed, i.e. 0-based index i dropped when (i+1) %% 7 == 0",
    lmer_fit = "lmerTest::lmer with default lmerControl (nloptwrap/bobyqa); KR via pbkrtest::vcovAdj / get_Lb_ddf",
    contest_L = "L rows are over fixef_names in that order"))

## ------------------------------------------------------------------ helpers
WARN <- character(0)
catchw <- function(expr) {
  WARN <<- character(0)
  withCallingHandlers(expr,
    warning = function(w) { WARN <<- c(WARN, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { WARN <<- c(WARN, trimws(conditionMessage(m))); invokeRestart("muffleMessage") })
}
# evaluate, returning list(value, warnings) or list(error) -- warnings are collected, not fatal
safe <- function(expr) {
  w <- character(0)
  v <- tryCatch(withCallingHandlers(expr,
      warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") },
      message = function(x) { w <<- c(w, trimws(conditionMessage(x))); invokeRestart("muffleMessage") }),
    error = function(e) structure(list(error = conditionMessage(e)), class = "err"))
  list(value = v, warnings = unique(w))
}
is_err <- function(v) inherits(v, "err")
unerr <- function(v) if (is_err(v)) unclass(v) else v
num <- function(x) { x <- unname(as.numeric(x)); x[!is.finite(x)] <- NA; x }
tab_rows <- function(tab) {
  tab <- as.data.frame(tab, check.names = FALSE)
  if (nrow(tab) == 0) return(structure(list(), names = character(0)))
  rn <- rownames(tab)
  setNames(lapply(seq_len(nrow(tab)), function(i)
    setNames(lapply(names(tab), function(k) { v <- tab[[k]][i]; if (is.numeric(v)) num(v) else as.character(v) }),
             names(tab))), rn)
}
mat_rows <- function(M) lapply(seq_len(nrow(M)), function(i) I(num(M[i, ])))
arr <- function(x) I(x)  # keep length-1 vectors as JSON arrays despite auto_unbox
clean <- function(x) as.list(unique(gsub("\\s+", " ", trimws(x))))
named_num <- function(x) if (is.null(x)) NULL else as.list(setNames(num(x), names(x)))

## ------------------------------------------------------------------ fitting mixed models
# Every lmer/glmer fit is done twice: with the default control and with bobyqa at rhoend = 1e-12; the fit
# with the smaller -2 logLik (REML criterion for REML fits) is kept (default on ties within 1e-9), so the
# reference values are at the optimum even where the default optimizer stops early.  fit_info records which
# fit was kept and by how much it improved on the default.  Later refits (ranova, KR, anova refit, the
# performance null model) go through update() and so reuse the kept fit's control.
FITINFO <- NULL
TIGHT_LMM <- quote(lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))
TIGHT_GLMM <- quote(glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))
fit_best <- function(cl) {
  if (is.character(cl)) cl <- parse(text = cl)[[1]]
  fn <- deparse(cl[[1]])
  m0 <- catchw(eval(cl, globalenv())); w0 <- WARN
  if (grepl("glmer.nb", fn, fixed = TRUE)) {
    FITINFO <<- list(kept = "default", note = "glmer.nb default fit (no tight refit)", crit_default = -2 * as.numeric(logLik(m0)))
    return(m0)
  }
  cl1 <- cl; cl1$control <- if (grepl("glmer", fn, fixed = TRUE)) TIGHT_GLMM else TIGHT_LMM
  m1 <- tryCatch(catchw(eval(cl1, globalenv())), error = function(e) NULL); w1 <- WARN
  c0 <- -2 * as.numeric(logLik(m0)); c1 <- if (is.null(m1)) Inf else -2 * as.numeric(logLik(m1))
  keep1 <- c1 < c0 - 1e-9
  FITINFO <<- list(kept = if (keep1) "bobyqa_rhoend_1e-12" else "default", crit_default = c0, crit_tight = num(c1),
                   improvement = if (keep1) c0 - c1 else 0, warnings_default = clean(w0))
  WARN <<- if (keep1) w1 else w0
  if (keep1) m1 else m0
}

## ------------------------------------------------------------------ 1. lmerTest
LMER <- list()
fit_lmer <- function(formula, data_var, REML = TRUE, weights = NULL) {
  cl <- if (is.null(weights)) bquote(lmer(.(as.formula(formula)), data = .(as.name(data_var)), REML = .(REML)))
        else bquote(lmer(.(as.formula(formula)), data = .(as.name(data_var)), REML = .(REML), weights = .(as.name(weights))))
  fit_best(cl)
}
ddfs <- c("Satterthwaite", "Kenward-Roger")
lmer_tests <- function(name, m, data_name, formula, weights = NULL, subset = NULL, derived = NULL,
                       contests = NULL, note = NULL) {
  force(m)
  fitwarn <- unique(WARN)
  tw <- character(0)
  S <- function(expr) { r <- safe(expr); tw <<- c(tw, r$warnings); r$value }
  fx <- names(fixef(m))
  res <- list(data = data_name, formula = formula, REML = isREML(m), weights = weights, subset = subset,
              derived = derived, nobs = nobs(m), fixef_names = arr(fx), singular = isSingular(m))
  for (dd in ddfs) {
    v <- S(summary(m, ddf = dd)$coefficients)
    res[[if (dd == "Satterthwaite") "coef_satterthwaite" else "coef_kenward_roger"]] <- if (is_err(v)) unerr(v) else tab_rows(v)
  }
  res$anova <- list()
  for (dd in ddfs) {
    res$anova[[dd]] <- list()
    for (ty in 1:3) {
      v <- S(anova(m, type = ty, ddf = dd))
      res$anova[[dd]][[paste0("type", ty)]] <- if (is_err(v)) unerr(v) else tab_rows(v)
    }
  }
  v <- S(ranova(m))
  res$ranova <- if (is_err(v)) unerr(v) else tab_rows(v)
  if (!is_err(v)) res$ranova_rownames <- arr(rownames(v))
  if (isREML(m) && length(fx) <= 12) {
    v <- S(as.matrix(vcovAdj(m)))
    res$vcov_kr <- if (is_err(v)) unerr(v) else list(names = arr(fx), matrix = mat_rows(v))
  }
  if (!is.null(contests)) {
    res$contest <- lapply(contests, function(cc) {
      L <- cc$L; if (!is.matrix(L)) L <- matrix(L, nrow = 1)
      joint <- nrow(L) > 1
      r <- list(label = cc$label, L = mat_rows(L), joint = joint)
      for (dd in ddfs) {
        v <- S(contest(m, L, joint = joint, ddf = dd))
        r[[dd]] <- if (is_err(v)) unerr(v) else tab_rows(v)
      }
      r
    })
  }
  res$warnings <- clean(fitwarn)
  res$warnings_tests <- clean(tw)
  res$fit_info <- FITINFO
  res$note <- note
  LMER[[name]] <<- res
  cat("lmer_tests:", name, "\n")
  invisible(m)
}

ss <- load_data("sleepstudy")
ss_u <- drop_every_7th(ss)
pe <- load_data("Penicillin")
pa <- load_data("Pastes")
od <- load_data("Orthodont")
oa <- load_data("Oats")
oa_u <- drop_every_7th(oa)
es <- load_data("ergoStool")
es_u <- drop_every_7th(es)
ma <- load_data("Machines")
ma_u <- drop_every_7th(ma)
sk <- load_data("Sitka"); sk$tt <- (sk$Time - 200) / 100
cw <- load_data("ChickWeight")
cb <- load_data("cbpp")
dy <- load_data("Dyestuff")

hm <- lmerTest::ham; names(hm)[names(hm) == "Informed.liking"] <- "Informed_liking"
hm <- ext_data("ham", hm, c("Consumer", "Product", "Information", "Gender"), "lmerTest::ham",
               renamed = list(Informed.liking = "Informed_liking"))
ca <- ext_data("carrots", lmerTest::carrots, c("Consumer", "Frequency", "Gender", "Age", "Homesize", "Work", "Income", "Product"),
               "lmerTest::carrots",
               note = "contains missing values (NA in the CSV, in Preference and Income); lme4 drops rows with NA in the model variables (na.omit), so the carrots models use 1233 of 1236 rows")
ck <- lme4::cake
ck <- ext_data("cake", ck, c("replicate", "recipe", "temperature"), "lme4::cake",
               note = "temperature is an (unordered) factor here, so treatment contrasts; temp is the numeric version")
bw <- as.data.frame(nlme::BodyWeight); bw <- data.frame(weight = bw$weight, Time = bw$Time, Rat = as.vector(bw$Rat), Diet = as.vector(bw$Diet))
bw <- ext_data("BodyWeight", bw, c("Rat", "Diet"), "nlme::BodyWeight (groupedData -> plain data.frame, Rat unordered)")

S_FORM <- "Reaction ~ Days + (Days | Subject)"
m <- fit_lmer(S_FORM, "ss")
lmer_tests("sleep", m, "sleepstudy", S_FORM, contests = list(
  list(label = "Days slope", L = c(0, 1)),
  list(label = "mean at Days = 5", L = c(1, 5)),
  list(label = "joint intercept and slope", L = rbind(c(1, 0), c(0, 1)))))
f <- "Reaction ~ Days + (Days || Subject)"
lmer_tests("sleep_dblbar", fit_lmer(f, "ss"), "sleepstudy", f,
           note = "lme4 expands (Days || Subject) to (1 | Subject) + (0 + Days | Subject); ranova row names use the expanded form")
lmer_tests("sleep_unbalanced", fit_lmer(S_FORM, "ss_u"), "sleepstudy", S_FORM, subset = "drop_every_7th")
lmer_tests("sleep_ML", fit_lmer(S_FORM, "ss", REML = FALSE), "sleepstudy", S_FORM,
           contests = list(list(label = "Days slope", L = c(0, 1))),
           note = "ML fit: lmerTest refuses Kenward-Roger for ML fits (errors recorded)")

f <- "diameter ~ 1 + (1 | plate) + (1 | sample)"
lmer_tests("penicillin", fit_lmer(f, "pe"), "Penicillin", f, note = "intercept-only: anova tables are empty")
f <- "diameter ~ sample + (1 | plate)"
lmer_tests("penicillin_sample_fixed", fit_lmer(f, "pe"), "Penicillin", f)
f <- "strength ~ 1 + (1 | batch/cask)"
lmer_tests("pastes_nested", fit_lmer(f, "pa"), "Pastes", f, note = "intercept-only: anova tables are empty")
f <- "Yield ~ 1 + (1 | Batch)"
lmer_tests("dyestuff", fit_lmer(f, "dy"), "Dyestuff", f)

f <- "distance ~ age * Sex + (age | Subject)"
m <- fit_lmer(f, "od")
Lsex <- function(m, at) { x <- setNames(numeric(length(fixef(m))), names(fixef(m))); x["SexMale"] <- 1; x["age:SexMale"] <- at; unname(x) }
lmer_tests("orthodont", m, "Orthodont", f, contests = list(
  list(label = "Male - Female at age 12", L = Lsex(m, 12)),
  list(label = "joint Sex effect (SexMale, age:SexMale)", L = rbind(Lsex(m, 0), c(0, 0, 0, 1)))))
lmer_tests("orthodont_ML", fit_lmer(f, "od", REML = FALSE), "Orthodont", f, note = "ML fit")
f <- "distance ~ age * Sex + (age || Subject)"
lmer_tests("orthodont_dblbar", fit_lmer(f, "od"), "Orthodont", f)

f <- "yield ~ nitro * Variety + (1 | Block/Variety)"
lmer_tests("oats", fit_lmer(f, "oa"), "Oats", f)
lmer_tests("oats_unbalanced", fit_lmer(f, "oa_u"), "Oats", f, subset = "drop_every_7th")

f <- "effort ~ Type + (1 | Subject)"
lmer_tests("ergostool", fit_lmer(f, "es"), "ergoStool", f)
lmer_tests("ergostool_unbalanced", fit_lmer(f, "es_u"), "ergoStool", f, subset = "drop_every_7th")

f <- "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)"
lmer_tests("machines", fit_lmer(f, "ma"), "Machines", f)
lmer_tests("machines_unbalanced", fit_lmer(f, "ma_u"), "Machines", f, subset = "drop_every_7th")

f <- "size ~ treat * (tt + I(tt^2)) + (tt | tree)"
lmer_tests("sitka_scaled_slope", fit_lmer(f, "sk"), "Sitka", f, derived = "tt = (Time - 200) / 100")
f <- "size ~ treat * (Time + I(Time^2)) + (1 | tree)"
lmer_tests("sitka_raw_int", fit_lmer(f, "sk"), "Sitka", f,
           note = "raw Time, random intercept only (well conditioned); fixed effects on very different scales")

f <- "weight ~ Time * Diet + (Time | Chick)"
lmer_tests("chick", fit_lmer(f, "cw"), "ChickWeight", f)

f <- "incidence/size ~ period + (1 | herd)"
lmer_tests("cbpp_weighted", fit_lmer(f, "cb", weights = "size"), "cbpp", f, weights = "size",
           note = paste("LMM with prior weights = size. pbkrtest 0.5.2 builds the KR Sigma from Z, theta and sigma^2 * I,",
                        "ignoring the weights (Phi = vcov(m) does use them), so the KR numbers are pbkrtest's, not a",
                        "consistent weighted KR; Satterthwaite uses the weighted deviance."))

f <- "Informed_liking ~ Product * Information + (1 | Consumer) + (1 | Consumer:Product)"
m <- fit_lmer(f, "hm")
Lprod <- function(m) { fx <- names(fixef(m)); t(sapply(c("Product2", "Product3", "Product4"), function(k) as.numeric(fx == k))) }
lmer_tests("ham", m, "ham", f, contests = list(
  list(label = "Product main-effect coefficients (Product2, Product3, Product4) jointly", L = unname(Lprod(m)))))
f <- "Preference ~ sens1 + sens2 + Homesize + (1 | Consumer) + (1 | Product)"
lmer_tests("carrots", fit_lmer(f, "ca"), "carrots", f)
f <- "Preference ~ sens2 + Homesize + (1 + sens2 | Consumer)"
lmer_tests("carrots_slope", fit_lmer(f, "ca"), "carrots", f)
f <- "angle ~ recipe * temperature + (1 | recipe:replicate)"
lmer_tests("cake", fit_lmer(f, "ck"), "cake", f, note = "split plot; 18 fixed effects so no vcov_kr")
f <- "weight ~ Time * Diet + (Time | Rat)"
lmer_tests("bodyweight", fit_lmer(f, "bw"), "BodyWeight", f)
out$lmer_tests <- LMER

## ------------------------------------------------------------------ 2. lm and glm
mt <- load_data("mtcars")
tg <- ext_data("ToothGrowth", datasets::ToothGrowth, "supp", "datasets::ToothGrowth")
wb <- ext_data("warpbreaks", datasets::warpbreaks, c("wool", "tension"), "datasets::warpbreaks",
               note = "tension levels are code-point ordered (H, L, M), not R's L, M, H")
isp <- ext_data("InsectSprays", datasets::InsectSprays, "spray", "datasets::InsectSprays")
cats <- ext_data("cats", MASS::cats, "Sex", "MASS::cats")
bwt <- MASS::birthwt[, c("low", "age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv", "bwt")]
bwt <- ext_data("birthwt", bwt, "race", "MASS::birthwt (race as factor 1/2/3 = white/black/other)")
men <- ext_data("menarche", MASS::menarche, character(0), "MASS::menarche")
ins <- MASS::Insurance
ins$Group <- c("<1l" = "G1", "1-1.5l" = "G2", "1.5-2l" = "G3", ">2l" = "G4")[as.character(ins$Group)]
ins$Age <- c("<25" = "A1", "25-29" = "A2", "30-35" = "A3", ">35" = "A4")[as.character(ins$Age)]
ins <- ext_data("Insurance", ins, c("District", "Group", "Age"), "MASS::Insurance",
  note = "ordered factors made unordered and recoded: Group <1l,1-1.5l,1.5-2l,>2l -> G1..G4; Age <25,25-29,30-35,>35 -> A1..A4")
clot <- ext_data("clotting", data.frame(u = c(5, 10, 15, 20, 30, 40, 60, 80, 100),
  lot1 = c(118, 58, 42, 35, 27, 25, 21, 19, 18), lot2 = c(69, 35, 26, 21, 18, 16, 13, 12, 12)), character(0),
  "McCullagh & Nelder (1989) blood clotting times, as in R's ?glm example")

LM <- list()
lm_rec <- function(name, formula, data_var, data_name, newdata, weights = NULL) {
  cl <- if (is.null(weights)) bquote(lm(.(as.formula(formula)), data = .(as.name(data_var))))
        else bquote(lm(.(as.formula(formula)), data = .(as.name(data_var)), weights = .(as.name(weights))))
  w <- character(0)
  W <- function(expr) withCallingHandlers(expr, warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") })
  m <- W(eval(cl, globalenv()))
  s <- summary(m)
  fs <- s$fstatistic
  ll <- logLik(m)
  r <- list(data = data_name, formula = formula, weights = weights, nobs = nobs(m),
    coefficients = tab_rows(coef(s)), sigma = s$sigma, r_squared = s$r.squared, adj_r_squared = s$adj.r.squared,
    fstatistic = if (is.null(fs)) NULL else list(value = num(fs[["value"]]), numdf = num(fs[["numdf"]]), dendf = num(fs[["dendf"]])),
    f_pvalue = if (is.null(fs)) NULL else num(pf(fs[["value"]], fs[["numdf"]], fs[["dendf"]], lower.tail = FALSE)),
    df_residual = df.residual(m), rank = m$rank, logLik = as.numeric(ll), logLik_df = attr(ll, "df"),
    AIC = AIC(m), BIC = BIC(m), deviance = deviance(m),
    cooks_distance = num(cooks.distance(m)), hatvalues = num(hatvalues(m)), rstandard = num(rstandard(m)),
    rstudent = num(rstudent(m)), residuals_head = num(head(residuals(m), 10)), newdata = newdata)
  pr <- list()
  for (iv in c("confidence", "prediction")) for (lv in c(0.95, 0.9)) {
    p <- W(predict(m, newdata, interval = iv, level = lv))
    pr[[paste0(iv, "_", lv)]] <- list(fit = num(p[, "fit"]), lwr = num(p[, "lwr"]), upr = num(p[, "upr"]))
  }
  r$predict <- pr
  p <- predict(m, newdata, se.fit = TRUE)
  r$se_fit <- num(p$se.fit); r$residual_scale <- num(p$residual.scale)
  r$warnings <- clean(w)
  if (!is.null(weights)) r$note <- "prediction intervals of a weighted lm: predict.lm assumes weight 1 for the new observations (see warnings)"
  LM[[name]] <<- r
  cat("lm:", name, "\n")
  invisible(m)
}
nd_mt <- data.frame(wt = c(2.5, 3.2, 4.0, 5.5), hp = c(100, 150, 200, 300))
lm_rec("mtcars_wt", "mpg ~ wt", "mt", "mtcars", nd_mt)
m_mt1 <- lm_rec("mtcars_wt_hp", "mpg ~ wt + hp", "mt", "mtcars", nd_mt)
m_mt2 <- lm_rec("mtcars_wt_x_hp", "mpg ~ wt * hp", "mt", "mtcars", nd_mt)
nd_tg <- data.frame(supp = factor(c("OJ", "VC", "OJ", "VC"), levels = levels(tg$supp)), dose = c(0.5, 1, 1.5, 2))
m_tg1 <- lm_rec("toothgrowth_add", "len ~ supp + dose", "tg", "ToothGrowth", nd_tg)
m_tg2 <- lm_rec("toothgrowth_int", "len ~ supp * dose", "tg", "ToothGrowth", nd_tg)
nd_wb <- data.frame(wool = factor(c("A", "B", "A", "B"), levels = levels(wb$wool)),
                    tension = factor(c("L", "M", "H", "H"), levels = levels(wb$tension)))
m_wb1 <- lm_rec("warpbreaks_add", "breaks ~ wool + tension", "wb", "warpbreaks", nd_wb)
m_wb2 <- lm_rec("warpbreaks_int", "breaks ~ wool * tension", "wb", "warpbreaks", nd_wb)
lm_rec("insectsprays", "count ~ spray", "isp", "InsectSprays",
       data.frame(spray = factor(c("A", "C", "F"), levels = levels(isp$spray))))
lm_rec("cats", "Hwt ~ Bwt * Sex", "cats", "cats",
       data.frame(Bwt = c(2.2, 3.0, 3.5), Sex = factor(c("F", "M", "M"), levels = levels(cats$Sex))))
lm_rec("sleep_lm", "Reaction ~ Days", "ss", "sleepstudy", data.frame(Days = c(0, 4.5, 9, 12)))
lm_rec("orthodont_lm", "distance ~ age * Sex", "od", "Orthodont",
       data.frame(age = c(8, 11, 14), Sex = factor(c("Female", "Male", "Male"), levels = levels(od$Sex))))
lm_rec("cbpp_weighted_lm", "incidence/size ~ period", "cb", "cbpp",
       data.frame(period = factor(c("1", "2", "4"), levels = levels(cb$period))), weights = "size")
lm_rec("chick_lm_poly", "weight ~ Time + I(Time^2) + Diet", "cw", "ChickWeight",
       data.frame(Time = c(0, 10, 21), Diet = factor(c("1", "3", "4"), levels = levels(cw$Diet))))
out$lm <- LM

an_lm <- function(a, b, fa, fb, data_name) {
  t <- anova(a, b)
  list(data = data_name, formulas = c(fa, fb), models = c("smaller", "larger"), table = tab_rows(t))
}
out$lm_anova_nested <- list(
  mtcars = an_lm(m_mt1, m_mt2, "mpg ~ wt + hp", "mpg ~ wt * hp", "mtcars"),
  toothgrowth = an_lm(m_tg1, m_tg2, "len ~ supp + dose", "len ~ supp * dose", "ToothGrowth"),
  warpbreaks = an_lm(m_wb1, m_wb2, "breaks ~ wool + tension", "breaks ~ wool * tension", "warpbreaks"))

GLM <- list()
glm_rec <- function(name, formula, family, data_var, data_name, newdata, anova_chisq = FALSE, weights = NULL) {
  cl <- if (is.null(weights)) bquote(glm(.(as.formula(formula)), family = .(family), data = .(as.name(data_var))))
        else bquote(glm(.(as.formula(formula)), family = .(family), data = .(as.name(data_var)), weights = .(as.name(weights))))
  w <- character(0)
  W <- function(expr) withCallingHandlers(expr, warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") })
  m <- W(eval(cl, globalenv()))
  s <- summary(m)
  ll <- logLik(m)
  r <- list(data = data_name, formula = formula, family = family(m)$family, link = family(m)$link, weights = weights,
    nobs = nobs(m), coefficients = tab_rows(coef(s)), dispersion = s$dispersion, deviance = deviance(m),
    null_deviance = m$null.deviance, df_residual = df.residual(m), df_null = m$df.null,
    logLik = as.numeric(ll), logLik_df = attr(ll, "df"), AIC = AIC(m), BIC = BIC(m), iter = m$iter, converged = m$converged,
    cooks_distance = num(cooks.distance(m)), hatvalues = num(hatvalues(m)), rstandard = num(rstandard(m)),
    rstandard_pearson = num(rstandard(m, type = "pearson")),
    residuals = lapply(c(response = "response", pearson = "pearson", deviance = "deviance", working = "working"),
                       function(ty) num(head(residuals(m, type = ty), 10))),
    newdata = newdata)
  pl <- predict(m, newdata, type = "link", se.fit = TRUE)
  prr <- predict(m, newdata, type = "response", se.fit = TRUE)
  r$predict <- list(link = list(fit = num(pl$fit), se_fit = num(pl$se.fit)),
                    response = list(fit = num(prr$fit), se_fit = num(prr$se.fit)))
  if (anova_chisq) r$anova_chisq <- tab_rows(W(anova(m, test = "Chisq")))
  r$warnings <- clean(w)
  GLM[[name]] <<- r
  cat("glm:", name, "\n")
  invisible(m)
}
glm_rec("cbpp_binomial_cbind", "cbind(incidence, size - incidence) ~ period", quote(binomial), "cb", "cbpp",
        data.frame(period = factor(c("1", "3", "4"), levels = levels(cb$period))), anova_chisq = TRUE)
glm_rec("menarche_binomial_cbind", "cbind(Menarche, Total - Menarche) ~ Age", quote(binomial), "men", "menarche",
        data.frame(Age = c(11, 13, 15)))
glm_rec("birthwt_bernoulli", "low ~ age + lwt + race + smoke + ptl + ht + ui", quote(binomial), "bwt", "birthwt",
        data.frame(age = c(20, 30), lwt = c(120, 160), race = factor(c("1", "3"), levels = levels(bwt$race)),
                   smoke = c(1, 0), ptl = c(0, 1), ht = c(0, 0), ui = c(1, 0)), anova_chisq = TRUE)
glm_rec("mtcars_bernoulli", "am ~ wt + hp", quote(binomial), "mt", "mtcars", data.frame(wt = c(2.5, 3.2), hp = c(110, 180)))
glm_rec("insurance_poisson_offset", "Claims ~ District + Group + Age + offset(log(Holders))", quote(poisson), "ins", "Insurance",
        data.frame(District = factor(c("1", "4"), levels = levels(ins$District)), Group = factor(c("G2", "G4"), levels = levels(ins$Group)),
                   Age = factor(c("A1", "A3"), levels = levels(ins$Age)), Holders = c(100, 1000)))
glm_rec("cbpp_poisson_offset", "incidence ~ period + offset(log(size))", quote(poisson), "cb", "cbpp",
        data.frame(period = factor(c("1", "2"), levels = levels(cb$period)), size = c(10, 20)))
glm_rec("warpbreaks_poisson", "breaks ~ wool * tension", quote(poisson), "wb", "warpbreaks", nd_wb, anova_chisq = TRUE)
glm_rec("insectsprays_poisson", "count ~ spray", quote(poisson), "isp", "InsectSprays",
        data.frame(spray = factor(c("A", "C"), levels = levels(isp$spray))))
glm_rec("clotting_gamma", "lot1 ~ log(u)", quote(Gamma), "clot", "clotting", data.frame(u = c(12, 50)))
glm_rec("clotting_gamma_log", "lot2 ~ log(u)", quote(Gamma(link = "log")), "clot", "clotting", data.frame(u = c(12, 50)))
out$glm <- GLM

## ------------------------------------------------------------------ 3. anova(lmer, lm)
AL <- list()
al_rec <- function(name, a, mer_formula, lm_formula, data_name, call) {
  force(a)
  msgs <- character(0)
  t <- withCallingHandlers(eval(parse(text = call), globalenv()),
    message = function(x) { msgs <<- c(msgs, trimws(conditionMessage(x))); invokeRestart("muffleMessage") },
    warning = function(x) { msgs <<- c(msgs, conditionMessage(x)); invokeRestart("muffleWarning") })
  mm <- get(strsplit(sub("^anova\\(", "", call), ",")[[1]][1], globalenv())
  AL[[name]] <<- list(data = data_name, lmer_formula = mer_formula, lmer_REML = isREML(mm), lm_formula = lm_formula,
    call = call, fit_info = FITINFO, rownames = arr(rownames(t)), table = tab_rows(t), messages = clean(msgs))
}
lmer_sleep <- fit_best("lme4::lmer(Reaction ~ Days + (Days | Subject), ss)")
lm_sleep <- lm(Reaction ~ Days, ss)
al_rec("sleep", lmer_sleep, "Reaction ~ Days + (Days | Subject)", "Reaction ~ Days", "sleepstudy", "anova(lmer_sleep, lm_sleep)")
lmer_orth <- fit_best("lme4::lmer(distance ~ age * Sex + (1 | Subject), od)")
lm_orth <- lm(distance ~ age * Sex, od)
al_rec("orthodont", lmer_orth, "distance ~ age * Sex + (1 | Subject)", "distance ~ age * Sex", "Orthodont", "anova(lmer_orth, lm_orth)")
lmer_ergo <- fit_best("lme4::lmer(effort ~ Type + (1 | Subject), es)")
lm_ergo <- lm(effort ~ Type, es)
al_rec("ergostool", lmer_ergo, "effort ~ Type + (1 | Subject)", "effort ~ Type", "ergoStool", "anova(lmer_ergo, lm_ergo)")
lmer_mach_ml <- fit_best("lme4::lmer(score ~ Machine + (1 | Worker) + (1 | Worker:Machine), ma, REML = FALSE)")
lm_mach <- lm(score ~ Machine, ma)
al_rec("machines_ML", lmer_mach_ml, "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "score ~ Machine", "Machines",
       "anova(lmer_mach_ml, lm_mach)")
out$anova_lmer_lm <- AL

## ------------------------------------------------------------------ 4. influence for mixed models
INF <- list()
inf_rec <- function(name, m, data_name, formula, note = NULL) {
  force(m)
  r1 <- safe(hatvalues(m)); r2 <- safe(cooks.distance(m))
  fam <- family(m)
  INF[[name]] <<- list(data = data_name, formula = formula, family = fam$family, link = fam$link,
    REML = if (isGLMM(m)) NULL else isREML(m), nobs = nobs(m),
    hatvalues = if (is_err(r1$value)) unerr(r1$value) else num(r1$value),
    cooks_distance = if (is_err(r2$value)) unerr(r2$value) else num(r2$value),
    warnings = clean(c(r1$warnings, r2$warnings)), fit_info = FITINFO,
    note = note)
  cat("influence:", name, "\n")
}
inf_rec("sleep", fit_best("lme4::lmer(Reaction ~ Days + (Days | Subject), ss)"), "sleepstudy", "Reaction ~ Days + (Days | Subject)")
inf_rec("orthodont", fit_best("lme4::lmer(distance ~ age * Sex + (age | Subject), od)"), "Orthodont", "distance ~ age * Sex + (age | Subject)")
inf_rec("machines", fit_best("lme4::lmer(score ~ Machine + (1 | Worker) + (1 | Worker:Machine), ma)"), "Machines",
        "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)")
inf_rec("penicillin_ML", fit_best("lme4::lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pe, REML = FALSE)"), "Penicillin",
        "diameter ~ 1 + (1 | plate) + (1 | sample)")
inf_rec("cbpp_weighted_lmm", fit_best("lme4::lmer(incidence/size ~ period + (1 | herd), cb, weights = size)"), "cbpp",
        "incidence/size ~ period + (1 | herd)", note = "prior weights = size")
inf_rec("cbpp_glmer", fit_best("lme4::glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial)"), "cbpp",
        "cbind(incidence, size - incidence) ~ period + (1 | herd)", note = "binomial GLMM, nAGQ = 1; prior weights = size")
gt <- load_data("grouseticks")
inf_rec("grouseticks_glmer", fit_best("lme4::glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), gt, family = poisson)"),
        "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", note = "poisson GLMM, nAGQ = 1")
out$mixed_influence <- INF

## ------------------------------------------------------------------ 5. Nakagawa R2 and ICC (performance)
PERF <- list()
fit_g <- function(expr_text) fit_best(expr_text)
perf_rec <- function(name, m, data_name, formula, fitter, subset = NULL, note = NULL) {
  force(m)
  fw <- unique(WARN)
  r2 <- safe(r2_nakagawa(m)); ic <- safe(icc(m)); gv <- safe(insight::get_variance(m))
  fam <- family(m)
  v <- function(x, f) if (is_err(x)) unerr(x) else f(x)
  PERF[[name]] <<- list(data = data_name, formula = formula, family = fam$family, link = fam$link, fitter = fitter,
    subset = subset, REML = if (isGLMM(m)) NULL else isREML(m),
    nb_theta = if (fitter == "glmer.nb") getME(m, "glmer.nb.theta") else NULL,
    r2_nakagawa = v(r2$value, function(x) if (is.null(x)) NULL else lapply(unclass(x), num)),
    icc = v(ic$value, function(x) if (is.null(x) || (length(x) == 1 && is.na(x))) NULL else lapply(unclass(x)[c("ICC_adjusted", "ICC_conditional", "ICC_unadjusted")], num)),
    get_variance = v(gv$value, function(x) lapply(x, function(e) if (length(e) == 1 && is.null(names(e))) num(e) else named_num(e))),
    warnings_fit = clean(fw), warnings_r2 = clean(r2$warnings), warnings_icc = clean(ic$warnings),
    warnings_variance = clean(gv$warnings), fit_info = FITINFO, note = note)
  cat("performance:", name, "\n")
}
# LMMs (REML, lme4::lmer)
perf_rec("sleep_slope", fit_g("lme4::lmer(Reaction ~ Days + (Days | Subject), ss)"), "sleepstudy", "Reaction ~ Days + (Days | Subject)", "lmer")
perf_rec("sleep_int", fit_g("lme4::lmer(Reaction ~ Days + (1 | Subject), ss)"), "sleepstudy", "Reaction ~ Days + (1 | Subject)", "lmer")
perf_rec("penicillin_crossed", fit_g("lme4::lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pe)"), "Penicillin",
         "diameter ~ 1 + (1 | plate) + (1 | sample)", "lmer")
perf_rec("pastes_nested", fit_g("lme4::lmer(strength ~ 1 + (1 | batch/cask), pa)"), "Pastes", "strength ~ 1 + (1 | batch/cask)", "lmer")
perf_rec("orthodont_slope", fit_g("lme4::lmer(distance ~ age * Sex + (age | Subject), od)"), "Orthodont",
         "distance ~ age * Sex + (age | Subject)", "lmer")
perf_rec("machines_nested", fit_g("lme4::lmer(score ~ Machine + (1 | Worker) + (1 | Worker:Machine), ma)"), "Machines",
         "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", "lmer")
perf_rec("oats_nested", fit_g("lme4::lmer(yield ~ nitro + Variety + (1 | Block/Variety), oa)"), "Oats",
         "yield ~ nitro + Variety + (1 | Block/Variety)", "lmer")
perf_rec("ergostool", fit_g("lme4::lmer(effort ~ Type + (1 | Subject), es)"), "ergoStool", "effort ~ Type + (1 | Subject)", "lmer")
perf_rec("chick_slope", fit_g("lme4::lmer(weight ~ Time * Diet + (Time | Chick), cw)"), "ChickWeight",
         "weight ~ Time * Diet + (Time | Chick)", "lmer")
perf_rec("carrots_crossed", fit_g("lme4::lmer(Preference ~ sens1 + sens2 + Homesize + (1 | Consumer) + (1 | Product), ca)"), "carrots",
         "Preference ~ sens1 + sens2 + Homesize + (1 | Consumer) + (1 | Product)", "lmer")

# binomial with cbind response
va <- load_data("VerbAgg")
va_want <- va[va$mode == "want", ]; rownames(va_want) <- NULL
va_agg <- aggregate(cbind(yes = as.integer(r2 == "Y"), no = as.integer(r2 == "N")) ~ id + Anger + Gender + btype, data = va, FUN = sum)
va_agg <- va_agg[order(as.integer(as.character(va_agg$id)), va_agg$btype), ]
va_agg <- ext_data("VerbAgg_agg", data.frame(id = as.vector(va_agg$id), Anger = va_agg$Anger, Gender = as.vector(va_agg$Gender),
                   btype = as.vector(va_agg$btype), yes = va_agg$yes, no = va_agg$no), c("id", "Gender", "btype"),
                   "VerbAgg (hierlm shared data) aggregated: yes / no = number of r2 == 'Y' / 'N' per id x btype (8 items each)",
                   note = "aggregate(cbind(yes = r2 == 'Y', no = r2 == 'N') ~ id + Anger + Gender + btype, VerbAgg, sum), sorted by id then btype")
perf_rec("cbpp_binomial_cbind", fit_g("lme4::glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial)"),
         "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "glmer")
perf_rec("verbagg_agg_binomial_cbind", fit_g("lme4::glmer(cbind(yes, no) ~ Anger + Gender + btype + (1 | id), va_agg, family = binomial)"),
         "VerbAgg_agg", "cbind(yes, no) ~ Anger + Gender + btype + (1 | id)", "glmer")
# Bernoulli
bac <- MASS::bacteria
bac <- ext_data("bacteria", data.frame(infected = as.integer(bac$y == "y"), ap = as.vector(bac$ap), hilo = as.vector(bac$hilo),
                  week = bac$week, ID = as.vector(bac$ID), trt = as.vector(bac$trt)), c("ap", "hilo", "ID", "trt"), "MASS::bacteria",
                renamed = list(y = "infected (1 if y == 'y' else 0)"),
                note = "trt levels are code-point ordered (drug, drug+, placebo), not R's placebo, drug, drug+")
perf_rec("verbagg_want_bernoulli", fit_g("lme4::glmer(r2 ~ Anger + Gender + btype + (1 | id), va_want, family = binomial)"),
         "VerbAgg", "r2 ~ Anger + Gender + btype + (1 | id)", "glmer", subset = "mode == 'want' (rows kept in original order)")
perf_rec("bacteria_bernoulli", fit_g("lme4::glmer(infected ~ trt + week + (1 | ID), bac, family = binomial)"),
         "bacteria", "infected ~ trt + week + (1 | ID)", "glmer")
# Poisson
ep <- MASS::epil
ep <- ext_data("epil", ep[, c("y", "trt", "base", "age", "V4", "subject", "period", "lbase", "lage")], c("trt", "subject"), "MASS::epil")
perf_rec("grouseticks_poisson", fit_g("lme4::glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), gt, family = poisson)"),
         "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "glmer")
perf_rec("epil_poisson", fit_g("lme4::glmer(y ~ trt + lbase + lage + V4 + (1 | subject), ep, family = poisson)"),
         "epil", "y ~ trt + lbase + lage + V4 + (1 | subject)", "glmer")
perf_rec("cbpp_poisson_offset", fit_g("lme4::glmer(incidence ~ period + offset(log(size)) + (1 | herd), cb, family = poisson)"),
         "cbpp", "incidence ~ period + offset(log(size)) + (1 | herd)", "glmer")
# negative binomial
perf_rec("grouseticks_nb", fit_g("lme4::glmer.nb(TICKS ~ YEAR + cHEIGHT + (1 | LOCATION), gt)"),
         "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", "glmer.nb")
perf_rec("epil_nb", fit_g("lme4::glmer.nb(y ~ trt + lbase + lage + V4 + (1 | subject), ep)"),
         "epil", "y ~ trt + lbase + lage + V4 + (1 | subject)", "glmer.nb")
out$performance <- PERF

out$datasets <- DATASETS
write_json(out, "course_reference.json", digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE)
cat("wrote course_reference.json\n")
