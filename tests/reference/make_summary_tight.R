# make_summary_tight.R -- produces summary_tight.json: the printed summaries of the lmer / glmer models of
# summary_output.json, refitted with tightly converged optimizers, so that hierlm's end-to-end printouts
# (which come from converged fits) can be compared digit for digit.  lme4's default stopping rules leave
# many fits 1e-9..1e-5 short of the optimum on a flat likelihood (hierlm's objective is lower in every
# such case), which moves the 4th-5th printed digit of variances and standard errors; with nAGQ >= 1,
# lme4's default tolPwrss = 1e-7 also stops PIRLS early.  R is only used to make this committed file.
#
# Run:  cd /work/main/tests/reference && Rscript make_summary_tight.R   (after make_summary_output.R)
# Made with: R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2.
#
# JSON layout: {lmer: {name: {formula, data, print: {lme4, lmerTest_satterthwaite, lmerTest_kr}: {lines,
#   conditions, error}, objective, theta}}, glmer: {name: {formula, data, print: {lme4}, objective, theta}},
#   control: {lmer, glmer}, skipped: {name: reason}}.  "objective" is the REML criterion or ML deviance
#   (lmer) / -2 logLik (glmer).  Printouts carry a "Control: lmer_tight" / "Control: glmer_tight" line
#   (the control objects below) that the default ones lack.
options(digits = 7, width = 80, warn = 1)
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))

REF <- fromJSON("summary_output.json", simplifyVector = FALSE)
load_ref_data <- function(name) {
  info <- REF$datasets[[name]]
  path <- if (startsWith(info$csv, "tests/reference/")) sub("^tests/reference/", "", info$csv) else info$csv
  x <- read.csv(path, stringsAsFactors = FALSE)
  for (k in names(info$factors)) x[[k]] <- factor(as.character(x[[k]]), levels = unlist(info$factors[[k]]))
  x
}
for (nm in names(REF$datasets)) assign(nm, load_ref_data(nm), envir = globalenv())

LMER_CTRL <- 'lmerControl(optimizer = "nloptwrap", optCtrl = list(ftol_abs = 1e-14, ftol_rel = 1e-14, xtol_abs = 1e-12, xtol_rel = 0, maxeval = 1e5))'
GLMER_CTRL <- 'glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))'

# passed by name, so that the printouts carry a one-line "Control: lmer_tight" / "Control: glmer_tight"
lmer_tight <- eval(str2lang(LMER_CTRL))
glmer_tight <- eval(str2lang(GLMER_CTRL))

cap <- function(f) {
  conds <- list()
  err <- NULL
  lines <- tryCatch(withCallingHandlers(capture.output(f()),
      message = function(m) { conds[[length(conds) + 1L]] <<- list(class = "message", text = conditionMessage(m)); invokeRestart("muffleMessage") },
      warning = function(w) { conds[[length(conds) + 1L]] <<- list(class = "warning", text = conditionMessage(w)); invokeRestart("muffleWarning") }),
    error = function(e) { err <<- conditionMessage(e); character(0) })
  list(lines = I(lines), conditions = conds, error = err)
}

OUT <- list(lmer = list(), glmer = list(), control = list(lmer = LMER_CTRL, glmer = GLMER_CTRL), skipped = list())
for (name in names(REF$lmer)) {
  r <- REF$lmer[[name]]
  extra <- list(control = quote(lmer_tight))
  if (!isTRUE(r$settings$REML)) extra$REML <- FALSE
  if (!is.null(r$settings$weights)) extra$weights <- as.name(r$settings$weights)
  cl <- as.call(c(list(quote(lmer), formula = str2lang(r$formula), data = as.name(r$data_name_in_call)), extra))
  m <- suppressWarnings(suppressMessages(eval(cl, globalenv())))
  mt <- suppressMessages(lmerTest::as_lmerModLmerTest(m))
  OUT$lmer[[name]] <- list(formula = r$formula, data = r$data, print = list(
      lme4 = cap(function() print(summary(m))),
      lmerTest_satterthwaite = cap(function() print(summary(mt))),
      lmerTest_kr = cap(function() print(summary(mt, ddf = "Kenward-Roger")))),
    objective = if (isREML(m)) REMLcrit(m) else deviance(m), theta = unname(getME(m, "theta")))
  cat(name, "\n")
}
for (name in names(REF$glmer)) {
  r <- REF$glmer[[name]]
  if (r$settings$fitter == "glmer.nb") { OUT$skipped[[name]] <- "glmer.nb refits stop with a tight tolPwrss"; next }
  if (!is.null(r$note) && grepl("UNSTABLE", r$note)) { OUT$skipped[[name]] <- "flat likelihood (UNSTABLE DIGITS)"; next }
  extra <- list(family = str2lang(r$settings$family_expr), control = quote(glmer_tight))
  if (!is.null(r$settings$weights)) extra$weights <- as.name(r$settings$weights)
  if (!is.null(r$settings$subset)) extra$subset <- str2lang(r$settings$subset)
  if (r$settings$nAGQ != 1) extra$nAGQ <- r$settings$nAGQ
  cl <- as.call(c(list(quote(glmer), formula = str2lang(r$formula), data = as.name(r$data_name_in_call)), extra))
  m <- suppressWarnings(suppressMessages(eval(cl, globalenv())))
  OUT$glmer[[name]] <- list(formula = r$formula, data = r$data, print = list(lme4 = cap(function() print(summary(m)))),
    objective = -2 * as.numeric(logLik(m)), theta = unname(getME(m, "theta")))
  cat(name, "\n")
}
OUT$`_source` <- sprintf("make_summary_tight.R: %s, lme4 %s, lmerTest %s", R.version.string,
                         packageVersion("lme4"), packageVersion("lmerTest"))
write_json(OUT, "summary_tight.json", digits = NA, auto_unbox = TRUE, null = "null", na = "null")
cat("wrote summary_tight.json\n")
