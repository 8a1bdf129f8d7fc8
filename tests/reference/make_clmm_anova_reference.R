# Regenerates clmm_anova_reference.json: likelihood-ratio tests of nested cumulative link mixed models
# (ordinal::anova.clm applied to clmm fits), for hierlm's hl.anova(clmm0, clmm1).  R is only used to
# produce these committed reference numbers; it is never a runtime dependency of hierlm.
# Run from this folder:  Rscript make_clmm_anova_reference.R   (a few seconds)
# Produced with R 4.2, ordinal 2022.11.16, jsonlite; the versions are recorded in the JSON under "versions".
#
# Data: data/wine_breadth.csv (ordinal::wine) and data/soup_breadth.csv (ordinal::soup), written by
# make_breadth_reference.R and read back here with the same loader (factor levels as in
# breadth_reference.json's "datasets" entry, which the Python tests use).
#
# JSON layout (top level):
#   _source, versions, notes
#   datasets: {name: {file, factors: {column: [levels]}, ordered: [columns]}}
#   anova: {name: record}  record =
#     data, link, control ("ordinal defaults" or "clmm.control(useMatrix = TRUE)"),
#     models: [{name, formula}] in the order given to anova(),
#     table: {rows: [row names, sorted by no.par as anova.clm sorts them], no.par, AIC, logLik, LR.stat, df,
#             Pr(>Chisq)} (columns as lists, NA -> null),
#     fits: {model name: {logLik, edf, nobs}},
#     printed: [lines of print(anova(...))] (options(width = 80), digits 7).
# ordinal's default fitting path (C code, one scalar random term) reports log-likelihoods a little off its own
# Laplace objective (up to ~1e-4); with useMatrix = TRUE it agrees with hierlm's Laplace objective to ~1e-8.
# Both are recorded for the wine models.
suppressMessages({library(ordinal); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
options(width = 80, digits = 7)

FACTOR_COLS <- list(wine_breadth = c("rating", "temp", "contact", "bottle", "judge"),
                    soup_breadth = c("RESP", "PROD", "PRODID", "SURENESS", "DAY", "SOUPTYPE", "SOUPFREQ", "COLD",
                                     "EASY", "GENDER", "AGEGROUP", "LOCATION"))
ORDERED <- list(wine_breadth = "rating", soup_breadth = "SURENESS")
DATASETS <- list()
load_data <- function(name) {
  f <- file.path("data", paste0(name, ".csv"))
  x <- read.csv(f, stringsAsFactors = TRUE)
  for (k in FACTOR_COLS[[name]]) x[[k]] <- factor(as.vector(x[[k]]))
  for (k in ORDERED[[name]]) x[[k]] <- factor(x[[k]], levels = levels(x[[k]]), ordered = TRUE)
  DATASETS[[name]] <<- list(file = paste0("tests/reference/", f),
    factors = lapply(setNames(FACTOR_COLS[[name]], FACTOR_COLS[[name]]), function(k) I(levels(x[[k]]))),
    ordered = I(ORDERED[[name]]))
  x
}
wine <- load_data("wine_breadth")
soup <- load_data("soup_breadth")

na_null <- function(v) lapply(unname(v), function(x) if (is.na(x)) NULL else x)
ANOVA <- list()
record <- function(name, data_name, link, useMatrix, formulas, call_order) {
  cat("anova:", name, "\n")
  data <- get(data_name)
  env <- globalenv()  # anova.clmm re-evaluates its call, and finds the models only at the top level
  for (m in names(formulas))
    assign(m, eval(bquote(clmm(.(as.formula(formulas[[m]])), data = data, link = .(link),  # the formula itself in
                               control = clmm.control(useMatrix = .(useMatrix))))), envir = env)  # the call: printed
  call <- as.call(c(list(quote(anova)), lapply(call_order, as.name)))
  tab <- eval(call, envir = env)
  printed <- capture.output(print(tab))
  ANOVA[[name]] <<- list(
    data = if (data_name == "wine") "wine_breadth" else "soup_breadth", link = link,
    control = if (useMatrix) "clmm.control(useMatrix = TRUE)" else "ordinal defaults",
    models = lapply(call_order, function(m) list(name = m, formula = formulas[[m]])),
    table = list(rows = I(rownames(tab)), no.par = na_null(tab$no.par), AIC = na_null(tab$AIC),
                 logLik = na_null(tab$logLik), LR.stat = na_null(tab$LR.stat), df = na_null(tab$df),
                 `Pr(>Chisq)` = na_null(tab$`Pr(>Chisq)`)),
    fits = lapply(setNames(call_order, call_order), function(m) {
      f <- get(m, envir = env)
      list(logLik = as.numeric(logLik(f)), edf = f$edf, nobs = nobs(f))
    }),
    printed = I(printed))
}

WINE <- list(m0 = "rating ~ temp + (1|judge)", m1 = "rating ~ temp + contact + (1|judge)")
record("wine_logit", "wine", "logit", FALSE, WINE, c("m0", "m1"))
record("wine_logit_matrix", "wine", "logit", TRUE, WINE, c("m0", "m1"))
record("wine_probit_three", "wine", "probit", TRUE,
       list(m0 = "rating ~ temp + (1|judge)", m1 = "rating ~ temp + contact + (1|judge)",
            m2 = "rating ~ temp * contact + (1|judge)"),
       c("m2", "m0", "m1"))  # given out of order: anova.clm sorts by no.par
record("soup_logit", "soup", "logit", FALSE,
       list(m0 = "SURENESS ~ PROD + (1|RESP)", m1 = "SURENESS ~ PROD + DAY + GENDER + (1|RESP)"), c("m0", "m1"))
record("soup_two_re", "soup", "logit", TRUE,
       list(m0 = "SURENESS ~ PROD + (1|RESP)", m1 = "SURENESS ~ PROD + (1|RESP) + (1|RESP:PROD)"), c("m0", "m1"))

out <- list(`_source` = paste("make_clmm_anova_reference.R: R", getRversion(), "ordinal", packageVersion("ordinal")),
            versions = list(R = as.character(getRversion()), ordinal = as.character(packageVersion("ordinal")),
                            jsonlite = as.character(packageVersion("jsonlite"))),
            notes = list(anova = paste("anova(m0, m1) of clmm fits is ordinal's anova.clm: models sorted by no.par",
              "(edf), LR.stat = 2 * diff(logLik), df = diff(no.par), Pr(>Chisq) = pchisq(LR.stat, df, lower = FALSE)",
              "(NA where df is 0); AIC = -2 logLik + 2 edf. Row names are the argument names.")),
            datasets = DATASETS, anova = ANOVA)
write_json(out, "clmm_anova_reference.json", digits = NA, auto_unbox = TRUE, null = "null", na = "null",
           pretty = FALSE)
cat("wrote clmm_anova_reference.json\n")
