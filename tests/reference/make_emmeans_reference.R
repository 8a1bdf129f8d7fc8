# Regenerates emmeans_reference.json: reference numbers from emmeans for hierlm's hl.emmeans,
# hl.contrast and hl.emtrends (estimated marginal means, contrasts, trends, reference grids).
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Needs R (written with R 4.2.2) with emmeans 1.8.4-1, lme4 1.1-31, pbkrtest 0.5.2 (Kenward-Roger),
# lmerTest 3.1-3 (Satterthwaite), splines, jsonlite 1.8.4.
# Run from this folder:  Rscript make_emmeans_reference.R   (also writes data/{ham,cake,CO2,pigs,
# warpbreaks,ToothGrowth}.csv, the extra datasets used, which it then reads back and fits on).
#
# JSON layout (top level):
#   _source, versions {R, emmeans, lme4, pbkrtest, lmerTest, Matrix, jsonlite}, notes [..],
#   datasets {name: {file, source, nrow, factors {col: [levels in order]}, renamed {new: old},
#             level_order_note}},  (shipped ones: /work/shared/data, i.e. hl.load_dataset(name))
#   models {name: {
#       data, formula, fitter ("lmer"|"glmer"|"lm"), family, link, REML (null for glmer/lm),
#       derived {col: {expr, levels}} (columns computed before fitting), predvars (terms' predvars:
#       poly coefs / ns knots), fixef {name: value}, vcov (matrix, rows = fixef order), vcov_names,
#       vcov_kr (pbkrtest::vcovAdj, the covariance emmeans uses for KR; lmer only), sigma,
#       fit_warnings, theta (lmer/glmer), nobs, seconds (R time for this model),
#       ref_grid {levels {var: values}, rows {col: [..]}, linfct, linfct_colnames, messages,
#                 annotations, df_method},       # summary(ref_grid(m)) with emmeans' defaults
#       requests [ {id, kind, call, r_code, rows, estimate_column, ci_columns, test_column,
#                   adjust_applied, messages, annotations, asymptotic, linfct?, delta_var?} ] } }
#   request.kind: "ref_grid" | "emmeans" | "contrast" | "emtrends" | "emtrends_contrast"
#   request.call: {fn: "ref_grid"|"emmeans"|"emtrends", specs (string; "~ a | b" is a formula),
#                  by, at {var: [values]}, type, lmer.df, weights, cov.reduce, var, delta.var,
#                  regrid (true => regrid() applied to the emmeans object before summary/contrast),
#                  contrast: null | {method, adjust, ref, by_null, weights {label: [w..]} (custom),
#                  type}}
#   request.rows: as.data.frame(summary(obj)) column-wise {column: [values]} at full precision;
#     factor columns as strings. emmeans/emtrends/ref_grid use summary()'s default (CIs, no tests);
#     contrasts use summary(obj, infer = c(TRUE, TRUE)) (estimate, SE, df, CI, t/z ratio, p.value),
#     so contrast CIs carry the same multiplicity adjustment as the p values.
#   Column names are exactly emmeans' (emmean / prob / rate / response / <var>.trend / estimate /
#     odds.ratio / ratio; lower.CL, upper.CL or asymp.LCL, asymp.UCL when df = Inf; t.ratio or
#     z.ratio; "null" for ratios on the response scale). estimate_column / ci_columns /
#     test_column name them per request.
#   df = Inf (GLMMs, lmer.df = "asymptotic") is written as null (jsonlite turns Inf into null);
#     such requests have asymptotic = true. No other df is ever missing.
#   messages: what emmeans signalled with message()/warning() while building and summarising (e.g.
#     "NOTE: Results may be misleading due to involvement in interactions", "Note: adjust = "tukey"
#     was changed to "sidak" ..."); annotations: attr(summary, "mesg"), the footer lines print()
#     shows ("Degrees-of-freedom method: kenward-roger", "P value adjustment: tukey method for
#     comparing a family of 4 estimates", ...); adjust_applied: attr(summary, "adjust").
suppressMessages({library(lme4); library(emmeans); library(jsonlite); library(splines)})
invisible(Sys.setlocale("LC_COLLATE", "C"))  # alphabetical levels in code-point order (as Python's sorted())
emm_options(lmer.df = "kenward-roger", pbkrtest.limit = 3000, lmerTest.limit = 3000)

DATA_DIR <- "/work/shared/data"
if (!dir.exists(DATA_DIR)) DATA_DIR <- file.path("..", "..", "hierlm", "data")
# Same helper as make_lme4_extra.R: the columns the Python loader makes categorical.
FACTOR_COLS <- list(
  sleepstudy = "Subject", Sitka = "treat", Dyestuff = "Batch", Penicillin = c("plate", "sample"),
  Pastes = c("batch", "cask", "sample"), cbpp = c("herd", "period"),
  grouseticks = c("INDEX", "BROOD", "YEAR", "LOCATION"),
  InstEval = c("s", "d", "studage", "lectage", "service", "dept"),
  Orthodont = c("Subject", "Sex"), Oats = c("Block", "Variety"), Machines = c("Worker", "Machine"),
  ChickWeight = c("Chick", "Diet"),
  VerbAgg = c("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2"),
  ergoStool = c("Type", "Subject"), mtcars = character(0))
load_data <- function(name) {
  x <- read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in FACTOR_COLS[[name]]) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
DATASETS <- list()
note_shipped <- function(name, x) {
  fc <- FACTOR_COLS[[name]]
  DATASETS[[name]] <<- list(file = paste0("/work/shared/data/", name, ".csv"), source = "hierlm shipped (hl.load_dataset)",
    nrow = nrow(x), factors = setNames(lapply(fc, function(k) I(levels(x[[k]]))), fc))
}

## ------------------------------------------------------------ extra datasets -> data/*.csv
dir.create("data", showWarnings = FALSE)
# Levels: numeric-looking levels in numeric order, else code-point alphabetical (what the Python
# loader does), EXCEPT where `keep` gives R's own order (warpbreaks tension L < M < H).
write_extra <- function(name, x, factors, source, renamed = NULL, keep = list()) {
  path <- file.path("data", paste0(name, ".csv"))
  write.csv(x, path, row.names = FALSE)
  y <- read.csv(path, stringsAsFactors = TRUE)
  for (k in factors) y[[k]] <- if (!is.null(keep[[k]])) factor(as.vector(y[[k]]), levels = keep[[k]]) else factor(as.vector(y[[k]]))
  DATASETS[[name]] <<- list(file = paste0("tests/reference/", path), source = source, nrow = nrow(y),
    factors = setNames(lapply(factors, function(k) I(levels(y[[k]]))), factors),
    renamed = renamed, level_order_note = if (length(keep)) paste("levels of", paste(names(keep), collapse = ", "),
      "kept in R's order, NOT alphabetical: rebuild them from `factors`") else NULL)
  y
}
ham0 <- lmerTest::ham
names(ham0)[names(ham0) == "Informed.liking"] <- "Informed_liking"
ham <- write_extra("ham", ham0, c("Consumer", "Product", "Information", "Gender"), "lmerTest::ham",
                   renamed = list(Informed_liking = "Informed.liking"))
cake0 <- lme4::cake; cake0$temperature <- as.numeric(as.character(cake0$temperature))
cake <- write_extra("cake", cake0, c("replicate", "recipe", "temperature"), "lme4::cake (temperature: ordered factor in R, written as its numbers and made a plain factor 175 < ... < 225)")
co20 <- as.data.frame(datasets::CO2); co20$Plant <- as.character(co20$Plant)
co2 <- write_extra("CO2", co20[, c("Plant", "Type", "Treatment", "conc", "uptake")], c("Plant", "Type", "Treatment"),
                   "datasets::CO2 (Plant: ordered factor in R, made a plain alphabetical factor)")
pigs <- write_extra("pigs", emmeans::pigs, c("source"), "emmeans::pigs")
wb <- write_extra("warpbreaks", datasets::warpbreaks, c("wool", "tension"), "datasets::warpbreaks",
                  keep = list(tension = c("L", "M", "H")))
tg <- write_extra("ToothGrowth", datasets::ToothGrowth, c("supp"), "datasets::ToothGrowth")

## ------------------------------------------------------------ capture helpers
MSGS <- character(0)
capt <- function(expr) withCallingHandlers(expr,
  message = function(m) { MSGS <<- c(MSGS, trimws(conditionMessage(m))); invokeRestart("muffleMessage") },
  warning = function(w) { MSGS <<- c(MSGS, paste("Warning:", trimws(conditionMessage(w)))); invokeRestart("muffleWarning") })
cols <- function(s) {
  d <- as.data.frame(s)
  lapply(d, function(col) I(if (is.factor(col) || is.character(col)) as.character(col) else as.numeric(col)))
}
lf_out <- function(obj) { L <- obj@linfct; list(linfct = unname(L), linfct_colnames = I(colnames(L))) }
compact <- function(x) x[!vapply(x, is.null, logical(1))]
II <- function(x) if (is.null(x)) NULL else I(x)  # I() that lets NULL through
LMER_DF <- c(kr = "kenward-roger", satt = "satterthwaite", asym = "asymptotic")

## ------------------------------------------------------------ request runner
# G(): one base object (ref_grid / emmeans / emtrends) and the contrasts computed from it.
G <- function(id, fn = "emmeans", specs = NULL, by = NULL, at = NULL, type = NULL, weights = NULL,
              cov.reduce = NULL, regrid = FALSE, var = NULL, delta.var = NULL, dfs = names(LMER_DF),
              contrasts = list())
  list(id = id, fn = fn, specs = specs, by = by, at = at, type = type, weights = weights,
       cov.reduce = cov.reduce, regrid = regrid, var = var, delta.var = delta.var, dfs = dfs, contrasts = contrasts)
# C(): one contrast; `dfs` restricts it to some of the base's df methods (e.g. adjust variants: KR only)
C <- function(id, method, adjust = NULL, ref = NULL, by_null = FALSE, weights = NULL, type = NULL, dfs = NULL)
  list(id = id, method = method, adjust = adjust, ref = ref, by_null = by_null, weights = weights, type = type, dfs = dfs)
STD <- list(C("pairwise", "pairwise"), C("revpairwise", "revpairwise"), C("trt.vs.ctrl", "trt.vs.ctrl"),
            C("poly", "poly"), C("eff", "eff"))
ADJ <- lapply(c("tukey", "holm", "bonferroni", "sidak", "none", "scheffe", "fdr", "hommel"),
              function(a) C(paste0("pairwise_", a), "pairwise", adjust = a, dfs = "kr"))
ADJ_OTHER <- list(C("trt.vs.ctrl_tukey", "trt.vs.ctrl", adjust = "tukey", dfs = "kr"),
                  C("trt.vs.ctrl_none", "trt.vs.ctrl", adjust = "none", dfs = "kr"),
                  C("poly_tukey", "poly", adjust = "tukey", dfs = "kr"),
                  C("poly_holm", "poly", adjust = "holm", dfs = "kr"))

specs_of <- function(s) if (is.null(s)) NULL else if (startsWith(s, "~")) as.formula(s) else s
cov_reduce_of <- function(s) if (is.null(s)) NULL else switch(s, range = range, median = median, mean = mean)
code_of <- function(fname, first, args) {
  args <- compact(args)
  cl <- as.call(c(list(as.name(fname), first), args))
  paste(deparse(cl, width.cutoff = 500L), collapse = " ")
}

run_model <- function(m, fitter) {
  is_lmer <- fitter == "lmer"
  # the model's default reference grid (KR for lmer)
  MSGS <<- character(0)
  rg <- capt(ref_grid(m)); s <- capt(summary(rg))
  out_rg <- c(list(levels = lapply(rg@levels, function(v) I(if (is.factor(v) || is.character(v)) as.character(v) else v)),
                   rows = cols(s), messages = II(unique(MSGS)), annotations = II(attr(s, "mesg")),
                   df_method = if (is_lmer) "kenward-roger" else NULL), lf_out(rg))
  list(ref_grid = out_rg)
}

run_groups <- function(m, fitter, groups, data) {
  is_lmer <- fitter == "lmer"
  reqs <- list()
  for (g in groups) {
    dfs <- if (is_lmer) g$dfs else "none"
    for (dk in dfs) {
      lmer.df <- if (is_lmer) unname(LMER_DF[dk]) else NULL
      cr <- cov_reduce_of(g$cov.reduce)
      args <- compact(list(specs = specs_of(g$specs), by = g$by, at = g$at, type = g$type, weights = g$weights,
                           cov.reduce = cr, lmer.df = lmer.df))
      code_args <- args; if (!is.null(cr)) code_args$cov.reduce <- as.name(g$cov.reduce)
      if (g$fn == "emtrends") { args$var <- g$var; args$delta.var <- g$delta.var
                                code_args$var <- g$var; code_args$delta.var <- g$delta.var }
      MSGS <<- character(0)
      base <- capt(do.call(g$fn, c(list(m), args)))
      code <- code_of(g$fn, as.name("m"), code_args)
      if (isTRUE(g$regrid)) { base <- capt(regrid(base)); code <- paste0("regrid(", code, ")") }
      base_msgs <- unique(MSGS)
      call <- list(fn = g$fn, specs = g$specs, by = if (is.null(g$by)) NULL else I(g$by),
                   at = if (is.null(g$at)) NULL else lapply(g$at, I), type = g$type, lmer.df = lmer.df,
                   weights = g$weights, cov.reduce = g$cov.reduce, var = g$var, delta.var = g$delta.var,
                   regrid = isTRUE(g$regrid))
      gid <- if (is_lmer) paste(g$id, dk, sep = ".") else g$id
      one <- function(id, kind, obj, call, code, msgs, infer) {
        MSGS <<- character(0)
        s <- capt(if (infer) summary(obj, infer = c(TRUE, TRUE)) else summary(obj))
        est <- attr(s, "estName"); cl <- attr(s, "clNames")
        tc <- intersect(c("t.ratio", "z.ratio"), names(s))
        r <- list(id = id, kind = kind, call = compact(call), r_code = code, rows = cols(s),
                  estimate_column = est, ci_columns = II(cl), test_column = if (length(tc)) tc else NULL,
                  adjust_applied = attr(s, "adjust"), messages = II(unique(c(msgs, MSGS))),
                  annotations = II(attr(s, "mesg")), asymptotic = all(is.infinite(s$df)))
        r
      }
      kind <- switch(g$fn, emtrends = "emtrends", ref_grid = "ref_grid", "emmeans")
      r <- one(gid, kind, base, call, code, base_msgs, FALSE)
      if (g$fn == "emtrends") {
        x <- data[[g$var]]
        r$delta_var <- if (is.null(g$delta.var)) 0.001 * diff(range(x)) else g$delta.var
      }
      # linfct of the grid (rows x fixef), once per base (KR for lmer); not after regrid (identity there)
      if ((is.null(lmer.df) || dk == "kr") && !isTRUE(g$regrid)) r <- c(r, lf_out(base))
      reqs[[length(reqs) + 1]] <- r
      for (cc in g$contrasts) {
        if (!is.null(cc$dfs) && is_lmer && !(dk %in% cc$dfs)) next
        method <- if (cc$method == "custom") cc$weights else cc$method
        cargs <- compact(list(method = method, adjust = cc$adjust, ref = cc$ref, type = cc$type))
        if (cc$by_null) cargs <- c(cargs, list(by = NULL))
        MSGS <<- character(0)
        ctr <- capt(do.call(contrast, c(list(base), cargs)))
        ccode <- code_of("contrast", str2lang(code), cargs)
        if (cc$by_null) ccode <- sub(")$", ", by = NULL)", ccode)
        ccall <- c(call, list(contrast = compact(list(method = cc$method, adjust = cc$adjust, ref = cc$ref,
                   by_null = if (cc$by_null) TRUE else NULL,
                   weights = if (is.null(cc$weights)) NULL else lapply(cc$weights, I), type = cc$type))))
        reqs[[length(reqs) + 1]] <- one(paste(gid, cc$id, sep = "."),
          if (kind == "emtrends") "emtrends_contrast" else "contrast", ctr, ccall, ccode, unique(c(base_msgs, MSGS)), TRUE)
      }
    }
  }
  reqs
}

MODELS <- list()
FITW <- character(0)
fitw <- function(expr) {
  FITW <<- character(0)
  withCallingHandlers(expr,
    warning = function(w) { FITW <<- c(FITW, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { FITW <<- c(FITW, trimws(conditionMessage(m))); invokeRestart("muffleMessage") })
}
add_model <- function(name, m, data_name, formula, groups, data, derived = NULL) {
  t0 <- proc.time()[["elapsed"]]
  fitter <- if (inherits(m, "glmerMod")) "glmer" else if (inherits(m, "lmerMod")) "lmer" else "lm"
  fw <- unique(FITW)
  fe <- if (fitter == "lm") coef(m) else fixef(m)
  v <- as.matrix(vcov(m))
  fam <- family(m)
  tt <- if (fitter == "lm") terms(m) else terms(m, fixed.only = TRUE)
  pv <- attr(tt, "predvars")
  rec <- list(data = data_name, formula = formula, fitter = fitter, family = fam$family, link = fam$link,
              REML = if (fitter == "lmer") isREML(m) else NULL, derived = derived,
              predvars = if (is.null(pv)) NULL else paste(deparse(pv, width.cutoff = 500L), collapse = " "),
              nobs = nobs(m), fixef = as.list(fe), vcov = unname(v), vcov_names = I(colnames(v)),
              sigma = if (fitter == "glmer" && fam$family %in% c("binomial", "poisson")) NULL else sigma(m),
              theta = if (fitter == "lm") NULL else I(unname(getME(m, "theta"))),
              fit_warnings = II(fw))
  if (fitter == "lmer") rec$vcov_kr <- unname(as.matrix(pbkrtest::vcovAdj(m)))
  rec <- c(rec, run_model(m, fitter))
  rec$requests <- run_groups(m, fitter, groups, data)
  rec$seconds <- proc.time()[["elapsed"]] - t0
  MODELS[[name]] <<- rec
  cat(sprintf("%-22s %3d requests  %.1fs\n", name, length(rec$requests), rec$seconds))
}
custom <- function(...) list(...)

## ============================================================ models
## 1. Oats split plot, nitro as a factor: factorial with interaction, nested random (1|Block/Variety)
oa <- load_data("Oats"); note_shipped("Oats", oa)
oa$nitro_f <- factor(oa$nitro)
add_model("oats_factorial", fitw(lmer(yield ~ nitro_f * Variety + (1 | Block/Variety), oa)), "Oats",
  "yield ~ nitro_f * Variety + (1|Block/Variety)", data = oa,
  derived = list(nitro_f = list(expr = "factor(nitro)", levels = I(levels(oa$nitro_f)))),
  groups = list(
    G("nitro", specs = "~ nitro_f", contrasts = c(STD, ADJ, ADJ_OTHER, list(
      C("custom", "custom", weights = list(`0 vs rest` = c(-1, 1/3, 1/3, 1/3), `0.6 - 0.4` = c(0, 0, -1, 1))),
      C("custom_holm", "custom", adjust = "holm", weights = list(`0 vs rest` = c(-1, 1/3, 1/3, 1/3), `0.6 - 0.4` = c(0, 0, -1, 1)),
        dfs = "kr"),
      C("trt.vs.ctrl_ref2", "trt.vs.ctrl", ref = 2, dfs = "kr")))),
    G("variety", specs = "~ Variety", contrasts = list(C("pairwise", "pairwise"))),
    G("nitro_by_variety", specs = "~ nitro_f | Variety", contrasts = list(C("pairwise", "pairwise"),
      C("poly", "poly"), C("trt.vs.ctrl", "trt.vs.ctrl"),
      C("pairwise_bynull", "pairwise", by_null = TRUE, dfs = "kr"))),
    G("nitro_by_variety_arg", specs = "nitro_f", by = "Variety", dfs = "kr"),
    G("cells", specs = "~ nitro_f * Variety", dfs = "kr")))

## 2. Oats with numeric nitro x Variety: covariate at its mean (default) and at=, emtrends
add_model("oats_nitro_numeric", fitw(lmer(yield ~ nitro * Variety + (1 | Block/Variety), oa)), "Oats",
  "yield ~ nitro * Variety + (1|Block/Variety)", data = oa,
  groups = list(
    G("variety", specs = "~ Variety", contrasts = list(C("pairwise", "pairwise"))),
    G("variety_at_nitro", specs = "~ Variety | nitro", at = list(nitro = c(0, 0.6)),
      contrasts = list(C("pairwise", "pairwise"))),
    G("trend_nitro", fn = "emtrends", specs = "~ Variety", var = "nitro",
      contrasts = list(C("pairwise", "pairwise"), C("pairwise_none", "pairwise", adjust = "none", dfs = "kr")))))

## 3. Machines: nested random effects (1|Worker/Machine)
ma <- load_data("Machines"); note_shipped("Machines", ma)
add_model("machines_nested", fitw(lmer(score ~ Machine + (1 | Worker/Machine), ma)), "Machines",
  "score ~ Machine + (1|Worker/Machine)", data = ma,
  groups = list(G("machine", specs = "~ Machine", contrasts = c(STD, list(
    C("trt.vs.ctrl_ref2", "trt.vs.ctrl", ref = 2),
    C("custom", "custom", weights = list(`A - avg(B,C)` = c(1, -0.5, -0.5), `B - C` = c(0, 1, -1))),
    C("pairwise_holm", "pairwise", adjust = "holm", dfs = "kr"), C("pairwise_none", "pairwise", adjust = "none", dfs = "kr"))))))

## 4. Pastes: intercept only, nested random (1|batch/cask); the grand mean
pa <- load_data("Pastes"); note_shipped("Pastes", pa)
add_model("pastes_nested", fitw(lmer(strength ~ 1 + (1 | batch/cask), pa)), "Pastes",
  "strength ~ 1 + (1|batch/cask)", data = pa, groups = list(G("overall", specs = "~ 1")))

## 5. ergoStool: one-way with random block; the adjust variants
es <- load_data("ergoStool"); note_shipped("ergoStool", es)
add_model("ergostool", fitw(lmer(effort ~ Type + (1 | Subject), es)), "ergoStool", "effort ~ Type + (1|Subject)", data = es,
  groups = list(G("type", specs = "~ Type", contrasts = c(STD, ADJ, ADJ_OTHER, list(
    C("custom", "custom", weights = list(`T1 - T2` = c(1, -1, 0, 0), `T1+T2 vs T3+T4` = c(0.5, 0.5, -0.5, -0.5),
                                          `T4 - avg` = c(-1/3, -1/3, -1/3, 1))),
    C("custom_bonferroni", "custom", adjust = "bonferroni", dfs = "kr",
      weights = list(`T1 - T2` = c(1, -1, 0, 0), `T1+T2 vs T3+T4` = c(0.5, 0.5, -0.5, -0.5), `T4 - avg` = c(-1/3, -1/3, -1/3, 1))),
    C("trt.vs.ctrl_ref3", "trt.vs.ctrl", ref = 3, dfs = "kr"))))))

## 6. ChickWeight: covariate x factor, at= Time values, emtrends of Time by Diet
cw <- load_data("ChickWeight"); note_shipped("ChickWeight", cw)
add_model("chick_linear", fitw(lmer(weight ~ Time * Diet + (Time | Chick), cw)), "ChickWeight",
  "weight ~ Time * Diet + (Time|Chick)", data = cw,
  groups = list(
    G("diet", specs = "~ Diet", contrasts = list(C("pairwise", "pairwise"), C("trt.vs.ctrl", "trt.vs.ctrl"))),
    G("diet_at_time", specs = "~ Diet | Time", at = list(Time = c(10, 20)),
      contrasts = list(C("pairwise", "pairwise"), C("trt.vs.ctrl", "trt.vs.ctrl"))),
    G("diet_proportional", specs = "~ Diet", weights = "proportional", dfs = "kr"),
    G("refgrid_at_time", fn = "ref_grid", at = list(Time = c(0, 10, 20)), dfs = "kr"),
    G("trend_time", fn = "emtrends", specs = "~ Diet", var = "Time",
      contrasts = list(C("pairwise", "pairwise"), C("trt.vs.ctrl", "trt.vs.ctrl")))))

## 7. ChickWeight with poly(Time, 2): trend depends on Time
add_model("chick_poly2", fitw(lmer(weight ~ poly(Time, 2) * Diet + (Time | Chick), cw)), "ChickWeight",
  "weight ~ poly(Time, 2) * Diet + (Time|Chick)", data = cw,
  groups = list(
    G("diet", specs = "~ Diet", contrasts = list(C("pairwise", "pairwise"))),
    G("diet_at_time", specs = "~ Diet | Time", at = list(Time = c(5, 15)), dfs = c("kr", "asym")),
    G("trend_time", fn = "emtrends", specs = "~ Diet", var = "Time", contrasts = list(C("pairwise", "pairwise"))),
    G("trend_time_at", fn = "emtrends", specs = "~ Diet | Time", var = "Time", at = list(Time = c(5, 15)),
      contrasts = list(C("pairwise", "pairwise"))),
    G("trend_time_at_smalldelta", fn = "emtrends", specs = "~ Diet | Time", var = "Time", at = list(Time = c(5, 15)),
      delta.var = 1e-5, dfs = "kr")))

## 8. Sitka: linear trend of Time by treat
sk <- load_data("Sitka"); note_shipped("Sitka", sk)
add_model("sitka_linear", fitw(lmer(size ~ treat * Time + (1 | tree), sk)), "Sitka", "size ~ treat * Time + (1|tree)", data = sk,
  groups = list(
    G("treat", specs = "~ treat", contrasts = list(C("pairwise", "pairwise"))),
    G("treat_at_time", specs = "~ treat | Time", at = list(Time = c(160, 200, 240)), dfs = "kr",
      contrasts = list(C("revpairwise", "revpairwise"))),
    G("trend_time", fn = "emtrends", specs = "~ treat", var = "Time", contrasts = list(C("pairwise", "pairwise")))))

## 9. Sitka with a natural spline ns(Time, 3) (splines::ns)
add_model("sitka_ns", fitw(lmer(size ~ treat * ns(Time, 3) + (1 | tree), sk)), "Sitka",
  "size ~ treat * ns(Time, 3) + (1|tree)", data = sk,
  groups = list(
    G("treat", specs = "~ treat", contrasts = list(C("pairwise", "pairwise"))),
    G("treat_at_time", specs = "~ treat | Time", at = list(Time = c(160, 200, 240)), dfs = c("kr", "asym"),
      contrasts = list(C("pairwise", "pairwise"))),
    G("trend_time_at", fn = "emtrends", specs = "~ treat | Time", var = "Time", at = list(Time = c(160, 200, 240)),
      contrasts = list(C("pairwise", "pairwise"))),
    G("trend_time", fn = "emtrends", specs = "~ treat", var = "Time", dfs = "kr")))

## 10. sleepstudy: covariate-only model, at= Days values, cov.reduce = range, poly over Days
ss <- load_data("sleepstudy"); note_shipped("sleepstudy", ss)
add_model("sleepstudy", fitw(lmer(Reaction ~ Days + (Days | Subject), ss)), "sleepstudy",
  "Reaction ~ Days + (Days|Subject)", data = ss,
  groups = list(
    G("overall", specs = "~ 1"),
    G("days_at", specs = "~ Days", at = list(Days = c(0, 3, 6, 9)),
      # (no "poly" here: with a straight line in Days the quadratic/cubic contrasts are identically 0 and
      # emmeans' KR df computation stops with "system is exactly singular"; the linear one as custom)
      contrasts = list(C("pairwise", "pairwise"), C("trt.vs.ctrl", "trt.vs.ctrl"),
                       C("custom_linear", "custom", weights = list(linear = c(-3, -1, 1, 3))),
                       C("consec_none", "consec", adjust = "none", dfs = "kr"))),
    G("days_range", specs = "~ Days", cov.reduce = "range", dfs = "kr"),
    G("refgrid_at_days", fn = "ref_grid", at = list(Days = c(0, 4.5, 9)), dfs = c("kr", "satt")),
    G("trend_days", fn = "emtrends", specs = "~ 1", var = "Days")))

## 11. Orthodont: age x Sex, at= age, emtrends of age by Sex
od <- load_data("Orthodont"); note_shipped("Orthodont", od)
add_model("orthodont", fitw(lmer(distance ~ age * Sex + (age | Subject), od)), "Orthodont",
  "distance ~ age * Sex + (age|Subject)", data = od,
  groups = list(
    G("sex", specs = "~ Sex", contrasts = list(C("pairwise", "pairwise"))),
    G("sex_at_age", specs = "~ Sex | age", at = list(age = c(8, 14)), contrasts = list(C("pairwise", "pairwise"))),
    G("age_at_by_sex", specs = "~ age | Sex", at = list(age = c(8, 10, 12, 14)), dfs = "kr",
      contrasts = list(C("custom_linear", "custom", weights = list(linear = c(-3, -1, 1, 3))),  # poly: see sleepstudy
                       C("consec_holm", "consec", adjust = "holm"))),
    G("trend_age", fn = "emtrends", specs = "~ Sex", var = "age", contrasts = list(C("pairwise", "pairwise")))))

## 12. lmerTest::ham: 4 x 2 factorial, random consumer block and consumer:product
add_model("ham", fitw(lmer(Informed_liking ~ Product * Information + (1 | Consumer) + (1 | Consumer:Product), ham)), "ham",
  "Informed_liking ~ Product * Information + (1|Consumer) + (1|Consumer:Product)", data = ham,
  groups = list(
    G("product", specs = "~ Product", contrasts = list(C("pairwise", "pairwise"), C("trt.vs.ctrl", "trt.vs.ctrl"))),
    G("information_by_product", specs = "~ Information | Product",
      contrasts = list(C("pairwise", "pairwise"), C("revpairwise", "revpairwise"))),
    G("product_by_information", specs = "~ Product | Information", dfs = "kr",
      contrasts = list(C("pairwise", "pairwise"), C("pairwise_holm", "pairwise", adjust = "holm"))),
    G("cells", specs = "~ Product * Information", dfs = "kr")))

## 13. lme4::cake: 3 x 6 factorial, random (1|replicate/recipe); poly contrasts over temperature
add_model("cake", fitw(lmer(angle ~ recipe * temperature + (1 | replicate/recipe), cake)), "cake",
  "angle ~ recipe * temperature + (1|replicate/recipe)", data = cake,
  groups = list(
    G("temperature", specs = "~ temperature", contrasts = list(C("poly", "poly"), C("trt.vs.ctrl", "trt.vs.ctrl"),
      C("pairwise", "pairwise"))),
    G("recipe", specs = "~ recipe", contrasts = list(C("pairwise", "pairwise"))),
    G("temperature_by_recipe", specs = "~ temperature | recipe", dfs = c("kr", "asym"),
      contrasts = list(C("poly", "poly"), C("poly_bonferroni", "poly", adjust = "bonferroni")))))

## 14. CO2: two factors plus a covariate entering as log(conc) (random plant). The grid holds conc
## itself: its mean (435) unless at= says otherwise, and log() is applied afterwards; the trend of
## conc is d/dconc (coefficient / conc, by forward difference). (With conc linear, (1|Plant) is singular.)
add_model("co2", fitw(lmer(uptake ~ Type * Treatment + log(conc) + (1 | Plant), co2)), "CO2",
  "uptake ~ Type * Treatment + log(conc) + (1|Plant)", data = co2,
  groups = list(
    G("treatment_by_type", specs = "~ Treatment | Type", contrasts = list(C("pairwise", "pairwise"))),
    G("type", specs = "~ Type"),
    G("type_at_conc", specs = "~ Type | conc", at = list(conc = c(250, 500)), dfs = "kr"),
    G("trend_conc_at", fn = "emtrends", specs = "~ Type | conc", var = "conc", at = list(conc = c(250, 500)), dfs = c("kr", "asym"))))

## 15. cbpp binomial GLMM: link scale, type = "response", regrid
cb <- load_data("cbpp"); note_shipped("cbpp", cb)
add_model("cbpp_binomial", fitw(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial)), "cbpp",
  "cbind(incidence, size - incidence) ~ period + (1|herd)", data = cb,
  groups = list(
    G("period_link", specs = "~ period", contrasts = c(STD, ADJ_OTHER[c(1, 3)], list(
      C("pairwise_holm", "pairwise", adjust = "holm"), C("pairwise_none", "pairwise", adjust = "none"),
      C("pairwise_bonferroni", "pairwise", adjust = "bonferroni"), C("pairwise_sidak", "pairwise", adjust = "sidak"),
      C("custom", "custom", weights = list(`1 - avg(2,3,4)` = c(1, -1/3, -1/3, -1/3)))))),
    G("period_response", specs = "~ period", type = "response", contrasts = list(C("pairwise", "pairwise"),
      C("trt.vs.ctrl", "trt.vs.ctrl"))),
    G("period_regrid", specs = "~ period", regrid = TRUE, contrasts = list(C("pairwise", "pairwise"),
      C("trt.vs.ctrl", "trt.vs.ctrl"), C("custom", "custom", weights = list(`1 - avg(2,3,4)` = c(1, -1/3, -1/3, -1/3)))))))

## 16. grouseticks Poisson GLMM: YEAR with covariate cHEIGHT at its mean and at= values
gt <- load_data("grouseticks"); note_shipped("grouseticks", gt)
add_model("grouseticks_poisson", fitw(glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), gt, family = poisson)),
  "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION)", data = gt,
  groups = list(
    G("year_link", specs = "~ YEAR", contrasts = list(C("pairwise", "pairwise"), C("poly", "poly"))),
    G("year_response", specs = "~ YEAR", type = "response", contrasts = list(C("pairwise", "pairwise"),
      C("trt.vs.ctrl", "trt.vs.ctrl"))),
    G("year_regrid", specs = "~ YEAR", regrid = TRUE, contrasts = list(C("pairwise", "pairwise"))),
    G("year_at_height", specs = "~ YEAR | cHEIGHT", at = list(cHEIGHT = c(-20, 0, 20)), type = "response")))

## 17. lm: warpbreaks two-way with interaction (tension levels L < M < H)
add_model("warpbreaks_lm", lm(breaks ~ wool * tension, wb), "warpbreaks", "breaks ~ wool * tension", data = wb,
  groups = list(
    G("tension", specs = "~ tension", contrasts = c(STD, ADJ[c(1, 2, 5)])),
    G("tension_by_wool", specs = "~ tension | wool", contrasts = list(C("pairwise", "pairwise"), C("poly", "poly"),
      C("pairwise_bynull", "pairwise", by_null = TRUE))),
    G("wool_by_tension", specs = "wool", by = "tension", contrasts = list(C("revpairwise", "revpairwise")))))

## 18. lm: ToothGrowth supp x numeric dose; at= and emtrends on an lm
add_model("toothgrowth_lm", lm(len ~ supp * dose, tg), "ToothGrowth", "len ~ supp * dose", data = tg,
  groups = list(
    G("supp", specs = "~ supp", contrasts = list(C("pairwise", "pairwise"))),
    G("supp_at_dose", specs = "~ supp | dose", at = list(dose = c(0.5, 1, 2)), contrasts = list(C("pairwise", "pairwise"))),
    G("trend_dose", fn = "emtrends", specs = "~ supp", var = "dose", contrasts = list(C("pairwise", "pairwise")))))

## 19. lm: pigs, log response (type = "response" back-transforms), unbalanced (weights matter)
pigs$percent_f <- factor(pigs$percent)
add_model("pigs_log_lm", lm(log(conc) ~ source + percent_f, pigs), "pigs", "log(conc) ~ source + percent_f", data = pigs,
  derived = list(percent_f = list(expr = "factor(percent)", levels = I(levels(pigs$percent_f)))),
  groups = list(
    G("source", specs = "~ source", contrasts = list(C("pairwise", "pairwise"))),
    G("source_response", specs = "~ source", type = "response", contrasts = list(C("pairwise", "pairwise"))),
    G("source_regrid", specs = "~ source", regrid = TRUE, contrasts = list(C("pairwise", "pairwise"))),
    G("percent_proportional", specs = "~ percent_f", weights = "proportional",
      contrasts = list(C("poly", "poly")))))

## 20. lm: mtcars with factor(cyl) inline and two covariates at their means / at=
mt <- load_data("mtcars"); note_shipped("mtcars", mt)
add_model("mtcars_lm", lm(mpg ~ factor(cyl) + wt + hp, mt), "mtcars", "mpg ~ factor(cyl) + wt + hp", data = mt,
  groups = list(
    G("cyl", specs = "~ cyl", contrasts = list(C("pairwise", "pairwise"), C("trt.vs.ctrl", "trt.vs.ctrl"))),
    G("cyl_at_wt", specs = "~ cyl | wt", at = list(wt = c(2.5, 3.5)))))

## ============================================================ write
versions <- lapply(c(R = "base", emmeans = "emmeans", lme4 = "lme4", pbkrtest = "pbkrtest", lmerTest = "lmerTest",
                     Matrix = "Matrix", jsonlite = "jsonlite"),
                   function(p) if (p == "base") as.character(getRversion()) else as.character(packageVersion(p)))
out <- list(
  `_source` = paste("R", getRversion(), "emmeans", packageVersion("emmeans"), "lme4", packageVersion("lme4"),
                    "pbkrtest", packageVersion("pbkrtest"), "lmerTest", packageVersion("lmerTest")),
  versions = versions,
  notes = I(c(
    "rows are as.data.frame(summary(...)) column-wise at full precision; factor columns are strings",
    "df = Inf (glmer, lm none; lmer.df = 'asymptotic') is stored as null; such requests have asymptotic = true",
    "lmer fits are REML; emmeans' default lmer.df is kenward-roger, and with KR emmeans uses the Kenward-Roger ADJUSTED covariance (pbkrtest::vcovAdj, stored as vcov_kr) for SEs, so KR SEs differ from satterthwaite/asymptotic SEs, which use vcov(m)",
    "emtrends uses a forward difference: (L(x + delta) - L(x)) / delta with delta.var = 0.001 * diff(range(var)) (stored as delta_var); exact for linear terms, approximate for poly/ns (see *_smalldelta requests)",
    "covariates not in specs/at are set to their mean over the model data (ref_grid's default cov.reduce = mean)",
    "emmeans/emtrends rows: summary() default (estimate, SE, df, CI; no test); contrast rows: summary(infer = c(TRUE, TRUE)), i.e. CIs are multiplicity-adjusted like the p values",
    "type = 'response': emmeans back-transforms estimates and CI limits, SE by the delta method (column prob / rate / response); contrasts of such grids are ratios (odds.ratio, ratio) tested on the link scale (column null = 1). regrid = true: regrid() first, so estimates/CIs/contrasts are on the response scale with delta-method SEs (differences, symmetric CIs)",
    "a covariate entering through a function (log(conc), poly(Time, 2), ns(Time, 3)) is held in the grid as the raw variable: the mean of conc, not of log(conc); the function is applied to the grid value",
    "mtcars_lm uses factor(cyl) inside the formula: emmeans names the grid variable cyl and keeps its values numeric (4, 6, 8)",
    "custom contrasts are contrast(emm, method = list(label = weights)), weights in the grid's row order",
    "warpbreaks tension levels are L < M < H (R's order), not alphabetical; every other factor follows the Python loader rule (see datasets)",
    "extra datasets are in tests/reference/data/*.csv; derived columns (nitro_f, percent_f) are factor() of the numeric column, levels in numeric order")),
  datasets = DATASETS,
  models = MODELS)
write_json(out, "emmeans_reference.json", digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE)
cat("wrote emmeans_reference.json,", round(file.size("emmeans_reference.json") / 1024), "KiB\n")
