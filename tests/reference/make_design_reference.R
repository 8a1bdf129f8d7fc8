# Regenerates design_reference.json: R's formula algebra, model.matrix and lme4's lFormula results
# for the formula/design tests (tests/test_design.py).
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Needs R with lme4 and jsonlite. Run from this folder: Rscript make_design_reference.R
#
# Per case: term.labels, intercept, colnames(model.matrix) and its values (all rows when the data
# has at most MAX_FULL rows, else the first 10 rows plus column sums), model.offset, and for
# formulas with bars lFormula's reTrms: names(cnms) (lme4's order), cnms, flist levels and the
# per-row level of each grouping factor, dim(Zt), rowSums(Zt) and Zt %*% (1:n)/n, the fixed
# columns lme4 keeps (colnames(X) after its rank check), and names(VarCorr(fit)) when `vc`.
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))  # alphabetical levels in code-point order (as Python's sorted())

DATA_DIR <- "/work/shared/data"
MAX_FULL <- 600
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
DATA <- list()
get_data <- function(name) {
  if (is.null(DATA[[name]])) DATA[[name]] <<- load_data(name)
  DATA[[name]]
}
# prep: list of list(new =, from =, ordered =): new factor columns (levels sorted as factor() does);
# the Python test builds the same columns with pd.Categorical(ordered=...).
apply_prep <- function(x, prep) {
  for (p in prep) x[[p$new]] <- factor(x[[p$from]], ordered = isTRUE(p$ordered))
  x
}

LME4_CTRL <- lmerControl(check.nobs.vs.nlev = "ignore", check.nobs.vs.rankZ = "ignore",
                         check.nobs.vs.nRE = "ignore", check.nlev.gtr.1 = "ignore")

matrix_values <- function(m, large) {
  m <- unname(m)
  if (large) list(head = lapply(seq_len(min(10, nrow(m))), function(i) I(m[i, ])), colsums = I(colSums(m)))
  else list(rows = lapply(seq_len(nrow(m)), function(i) I(m[i, ])))
}

fixed_part <- function(f, x, large) {
  ff <- nobars(f)
  tt <- terms(ff)
  fr <- model.frame(ff, x)
  mm <- model.matrix(tt, fr)
  off <- model.offset(fr)
  c(list(term_labels = I(attr(tt, "term.labels")), intercept = attr(tt, "intercept") == 1,
         colnames = I(colnames(mm)), n = nrow(mm),
         offset = if (is.null(off)) NULL else I(if (large) head(off, 10) else off)),
    matrix_values(mm, large))
}

random_part <- function(f, x, large, rename = NULL) {
  lf <- suppressMessages(lFormula(f, x, control = LME4_CTRL))
  rt <- lf$reTrms
  ren <- function(s) { for (k in names(rename)) s <- gsub(k, rename[[k]], s, fixed = TRUE); s }
  fl <- rt$flist
  rows <- lapply(fl, function(g) { g <- as.character(g); I(if (large) head(g, 10) else g) })
  Zt <- rt$Zt
  n <- ncol(Zt)
  list(names = I(names(rt$cnms)),
       cnms = lapply(unname(rt$cnms), function(s) I(ren(s))),
       flist_names = I(names(fl)),
       flist_levels = lapply(fl, function(g) I(levels(g))),
       flist_rows = rows,
       flist_assign = I(attr(fl, "assign")),
       Zt_dim = dim(Zt),
       Zt_rowsums = I(as.vector(Matrix::rowSums(Zt))),
       Zt_weighted = I(as.vector(Zt %*% (seq_len(n) / n))),
       X_colnames = I(colnames(lf$X)))
}

out <- list(`_source` = paste("R", getRversion(), "lme4", packageVersion("lme4")),
            `_note` = "made by make_design_reference.R; values are model.matrix / lFormula results")
add <- function(id, data, formula, prep = NULL, r_formula = NULL, rename = NULL, vc = FALSE, note = NULL) {
  x <- apply_prep(get_data(data), prep)
  large <- nrow(x) > MAX_FULL
  f <- as.formula(if (is.null(r_formula)) formula else r_formula)
  rec <- list(data = data, formula = formula, large = large)
  if (!is.null(prep)) rec$prep <- prep
  if (!is.null(r_formula)) rec$r_formula <- r_formula
  if (!is.null(note)) rec$note <- note
  rec$fixed <- fixed_part(f, x, large)
  if (length(findbars(f))) {
    rec$random <- random_part(f, x, large, rename)
    if (vc) {
      m <- suppressMessages(suppressWarnings(lmer(f, x, control = LME4_CTRL)))
      rec$random$varcorr_names <- I(names(VarCorr(m)))
      rec$random$varcorr_grp <- I(as.character(as.data.frame(VarCorr(m))$grp))
    }
  }
  out[[id]] <<- rec
}

NITROF <- list(list(new = "nitrof", from = "nitro", ordered = TRUE))
GEARO <- list(list(new = "gearo", from = "gear", ordered = TRUE))

## ------------------------------------------------------------ fixed part: main effects and algebra
add("numeric_main", "sleepstudy", "Reaction ~ Days")
add("factor_main", "Sitka", "size ~ treat")
add("numeric_times_factor", "Orthodont", "distance ~ age * Sex")
add("factor_times_factor", "Oats", "yield ~ Variety * Block")
add("factor_colon_factor", "Oats", "yield ~ Variety:Block")
add("three_way_power", "mtcars", "mpg ~ (wt + hp + qsec)^2")
add("factor_power", "Oats", "yield ~ (Variety + Block + nitro)^2")
add("nesting_slash", "Oats", "yield ~ Block/Variety")
add("nesting_in", "Oats", "yield ~ Variety %in% Block")
add("nesting_in_with_margin", "Oats", "yield ~ Block + Variety %in% Block")
add("minus_term", "mtcars", "mpg ~ wt * hp - wt")
## factor:numeric interactions with a missing margin
add("f_plus_x_colon_f", "Orthodont", "distance ~ Sex + age:Sex")
add("x_colon_f", "Orthodont", "distance ~ age:Sex")
add("f_colon_x", "Orthodont", "distance ~ Sex:age")
add("zero_f_colon_g", "Machines", "score ~ 0 + Machine:Worker")
add("x_times_f_plus_f_colon_g", "Oats", "yield ~ nitro * Variety + Variety:Block")
add("x_colon_f_colon_g", "Oats", "yield ~ nitro:Variety:Block")
add("numeric_then_factor_interaction", "ChickWeight", "weight ~ Time + Time:Diet")
## no intercept
add("zero_one_factor", "Sitka", "size ~ 0 + treat")
add("minus_one_factor", "Sitka", "size ~ treat - 1")
add("zero_two_factors", "Oats", "yield ~ 0 + Variety + Block")
add("minus_one_two_factors", "Oats", "yield ~ Variety + Block - 1")
add("zero_numeric_then_factor", "Orthodont", "distance ~ 0 + age + Sex")
## transformations
add("I_square", "Sitka", "size ~ Time + I(Time^2)")
add("I_divide", "Sitka", "size ~ I(Time/2)")
add("log", "Sitka", "size ~ log(Time)")
add("log_plus_one", "sleepstudy", "Reaction ~ log(Days + 1)")
add("poly2", "sleepstudy", "Reaction ~ poly(Days, 2)")
add("poly3_raw", "sleepstudy", "Reaction ~ poly(Days, 3, raw = TRUE)")
add("poly_times_factor", "ChickWeight", "weight ~ poly(Time, 2) * Diet")
add("scale", "sleepstudy", "Reaction ~ scale(Days)")
add("logical_I", "sleepstudy", "Reaction ~ I(Days > 3)")
add("logical_interaction", "mtcars", "mpg ~ wt * I(hp > 150)")
add("factor_call", "mtcars", "mpg ~ factor(cyl)")
add("factor_call_times_numeric", "mtcars", "mpg ~ factor(cyl) * wt")
add("offset_log", "cbpp", "incidence ~ period + offset(log(size))")
add("ordered_factor", "Oats", "yield ~ nitrof", prep = NITROF)
add("ordered_times_factor", "Oats", "yield ~ nitrof * Variety", prep = NITROF)
add("ordered_no_intercept", "mtcars", "mpg ~ 0 + gearo", prep = GEARO)
add("ordered_margin_missing", "Oats", "yield ~ Variety + nitrof:Variety", prep = NITROF)
add("no_intercept_interaction_first", "Oats", "yield ~ 0 + nitro:Variety + Block")
add("no_intercept_numeric_then_interaction", "Oats", "yield ~ 0 + nitro + Variety:Block")
add("factor_call_margin_after", "mtcars", "mpg ~ wt:factor(cyl) + factor(cyl)")
add("poly_colon_factor", "mtcars", "mpg ~ poly(wt, 2):factor(am)")
add("logical_no_intercept", "mtcars", "mpg ~ 0 + I(hp > 150) + factor(cyl)")
add("logical_and", "sleepstudy", "Reaction ~ I(Days > 3 & Days < 7)")
add("relevel", "Machines", 'score ~ relevel(Machine, ref = "B")')
add("as_numeric_factor", "Machines", "score ~ as.numeric(Machine)")
add("log_base_exp_sqrt", "Sitka", "size ~ log(Time, base = 10) + exp(-Time/100) + sqrt(Time)")
add("factor_of_numeric_colon_group", "sleepstudy", "Reaction ~ factor(Days):Subject")
add("large_factors", "InstEval", "y ~ service * dept + studage")
add("large_mixed", "VerbAgg", "Anger ~ btype * mode + Gender")

## ------------------------------------------------------------ random-effects bars
add("bar_slope", "sleepstudy", "Reaction ~ Days + (Days | Subject)", vc = TRUE)
add("bar_intercept", "sleepstudy", "Reaction ~ Days + (1 | Subject)")
add("bar_zero_plus", "sleepstudy", "Reaction ~ Days + (0 + Days | Subject)")
add("bar_minus_one", "sleepstudy", "Reaction ~ Days + (-1 + Days | Subject)")
add("bar_I", "sleepstudy", "Reaction ~ Days + (I(Days/10) | Subject)")
add("bar_poly", "sleepstudy", "Reaction ~ poly(Days, 2) + (poly(Days, 2) | Subject)")
add("two_bars_one_group", "sleepstudy", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", vc = TRUE)
add("dblbar_numeric", "sleepstudy", "Reaction ~ Days + (Days || Subject)", vc = TRUE)
add("nested_two", "Pastes", "strength ~ 1 + (1 | batch/cask)", vc = TRUE)
add("nested_three", "grouseticks", "TICKS ~ YEAR + (1 | YEAR/LOCATION/BROOD)")
add("interaction_group", "Machines", "score ~ Machine + (1 | Worker:Machine)")
add("worker_and_interaction", "Machines", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", vc = TRUE)
add("crossed", "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)")
add("crossed_reordered", "Penicillin", "diameter ~ 1 + (1 | sample) + (1 | plate)")
add("factor_bar_zero", "Machines", "score ~ Machine + (0 + Machine | Worker)")
add("factor_bar", "Machines", "score ~ Machine + (Machine | Worker)")
add("dblbar_factor", "Machines", "score ~ Machine + (Machine || Worker)",
    r_formula = 'score ~ Machine + (1 | Worker) + (0 + dummy(Machine, "B") | Worker) + (0 + dummy(Machine, "C") | Worker)',
    rename = list(`dummy(Machine, "B")` = "MachineB", `dummy(Machine, "C")` = "MachineC"), vc = TRUE,
    note = "hierlm splits every model-matrix column of a || bar into its own block; lme4 keeps a factor term whole")
add("ties_reversed", "Machines", "score ~ 1 + (1 | Machine) + (1 | Worker) + (0 + Machine | Worker)", vc = TRUE,
    note = "lme4 reorders with rev(order(nl)): tied terms come out reversed")
add("ties_with_interaction", "Machines",
    "score ~ 1 + (1 | Machine) + (1 | Worker:Machine) + (1 | Worker) + (1 | Worker)", vc = TRUE,
    note = "duplicated group names: VarCorr names go through make.names(unique = TRUE)")
add("numeric_group_crossed", "sleepstudy", "Reaction ~ Days + (1 | Subject) + (1 | Days)")
add("dblbar_after_smaller_group", "sleepstudy", "Reaction ~ Days + (1 | Days) + (Days || Subject)", vc = TRUE)
add("interaction_in_bar", "Orthodont", "distance ~ age * Sex + (0 + age:Sex | Subject)")
add("logical_in_bar", "sleepstudy", "Reaction ~ Days + (I(Days > 4) | Subject)")
add("nested_in_numeric", "sleepstudy", "Reaction ~ 1 + (1 | Subject/Days)", vc = TRUE)
add("numeric_group", "Sitka", "size ~ Time + (1 + Time | tree)")
add("factor_call_group", "mtcars", "mpg ~ wt + (1 | factor(cyl))", r_formula = "mpg ~ wt + (1 | cyl)",
    note = "lme4 cannot evaluate factor(cyl) as a grouping factor; it factorizes the numeric cyl itself")
add("bar_with_factor_and_numeric", "Orthodont", "distance ~ age + (age + Sex | Subject)")
add("ordered_in_bar", "Oats", "yield ~ nitrof + (nitrof | Block)", prep = NITROF)
add("aliased_fixed", "Pastes", "strength ~ batch + sample + (1 | cask)")
add("large_crossed", "InstEval", "y ~ service + (1 | s) + (1 | d) + (1 | dept:service)")

## ------------------------------------------------------------ formula algebra only (no data)
# term.labels and intercept of nobars(f), and the bars as lme4 expands them (|| then /), deparsed.
LABEL_FORMULAS <- c(
  "y ~ a*b*c", "y ~ a*b*c - a:b:c", "y ~ (a+b+c)^3", "y ~ (a+b)^2 - a", "y ~ a/(b+c)", "y ~ (a+b)/c",
  "y ~ a/b/c", "y ~ b %in% a", "y ~ a + b %in% a", "y ~ x:f + f", "y ~ f:x + x", "y ~ a:b + b:a",
  "y ~ a*b + b:a", "y ~ b:a + a", "y ~ 0 + a", "y ~ -1 + a", "y ~ a - 1", "y ~ a + 0", "y ~ 1", "y ~ 0",
  "y ~ a + 1 - 1 + 1", "y ~ I(x^2) + log(x + 1) + poly(x, 2)", "y ~ I(Time **2)", "y ~ I(x*2)",
  "y ~ I(-x)", "y ~ I(1/x)", "y ~ I(x/1e6)", "y ~ I(x - 100000)", "y ~ I(x^-1)", "y ~ exp(-x)",
  "y ~ I((x + 1)^2)", "y ~ I(x > 3 & z < 2)", "y ~ I(!x)", "y ~ log(x, base = 10)", "y ~ poly(x, degree = 2)",
  "y ~ scale(x, center = TRUE, scale = FALSE)", "y ~ poly(x, 3, raw = TRUE)", "y ~ a:(b + c)",
  "y ~ (a + b):(c + d)", "y ~ a*(b+c)", "y ~ (a + b + c)^2 - a:b", "y ~ a + b - b", "y ~ x + offset(log(z))",
  "y ~ offset(w) + x", "y ~ `my var` + x", "log(y) ~ x", "cbind(s, f - s) ~ x", "y ~ a:b:c + a",
  "y ~ c + b + a + a:c + c:a", "y ~ x + I(x^2) + I(x^3)", "y ~ I(x * 0.5) + I(x + 2.5e-8)", "y ~ sqrt(x) + abs(x - 1)",
  "y ~ factor(g) + as.numeric(h)", "y ~ x + (1 | g)", "y ~ x + (x | g)", "y ~ (x || g)", "y ~ (x + z || g)",
  "y ~ (0 + x || g)", "y ~ (1 | a/b)", "y ~ (1 | a/b/c)", "y ~ (1 | a:b)", "y ~ (x | a/b)", "y ~ (1 + x | g) + (1 | h)",
  "y ~ x + (1 | g) + z", "y ~ (1 | g) + (0 + x | g)", "y ~ a * b + (a | g:h)", "y ~ (1 | a/(b:c))",
  "y ~ (-1 + x | g)", "y ~ (I(x^2) | g)")
out$formula_labels <- lapply(LABEL_FORMULAS, function(s) {
  f <- as.formula(s)
  tt <- terms(nobars(f))
  bars <- findbars(lme4:::expandDoubleVerts(f))
  list(formula = s, term_labels = I(attr(tt, "term.labels")), intercept = attr(tt, "intercept") == 1,
       bars = I(vapply(bars, deparse1, "")))
})

## ------------------------------------------------------------ new data (stateful transforms)
# model.matrix on new rows with the training terms' predvars (poly coefficients, scale centre) and
# xlevels, as predict() does.
newdata_case <- function(data, formula, newdata, prep = NULL) {
  x <- apply_prep(get_data(data), prep)
  mf <- model.frame(as.formula(formula), x)
  tt <- delete.response(terms(mf))
  nmf <- model.frame(tt, newdata, xlev = .getXlevels(tt, mf))
  mm <- model.matrix(tt, nmf)
  list(data = data, formula = formula, newdata = newdata, colnames = I(colnames(mm)),
       rows = lapply(seq_len(nrow(mm)), function(i) I(unname(mm[i, ]))))
}
out$newdata <- list(
  newdata_case("sleepstudy", "Reaction ~ poly(Days, 2) + scale(Days) + log(Days + 1)",
               data.frame(Days = c(0.5, 12, 3, 20))),
  newdata_case("sleepstudy", "Reaction ~ poly(Days, 3) * I(Days > 4) + scale(Days, center = FALSE)",
               data.frame(Days = c(0.5, 12, 3, 5))),
  newdata_case("ChickWeight", "weight ~ poly(Time, 2) * Diet",
               data.frame(Time = c(1, 30, 7), Diet = factor(c("3", "1", "4"), levels = c("1", "2", "3", "4")))))

write(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = FALSE), "design_reference.json")
cat("wrote", length(out) - 2, "cases\n")
