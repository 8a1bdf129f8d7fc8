# Regenerates lme4_extra.json (extra lme4 reference values) from /work/shared/data.
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Needs R with lme4 and jsonlite. Run from this folder: Rscript make_lme4_extra.R
# Layout follows /work/shared/reference/make_lme4_reference.R (rec() / lrt()), with extra fields:
#   condvar, vcov (+ vcov_names), theta (+ theta_names), fitted_head, optimizer_warnings, fit_warnings.
suppressMessages({library(lme4); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))  # alphabetical levels in code-point order (as Python's sorted())

DATA_DIR <- "/work/shared/data"
# Columns that the Python loader makes categorical; factor() sorts numerically for numeric
# columns (read.csv already turned "1","2",.. into numbers) and alphabetically otherwise.
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

out <- list(`_source` = paste("R", getRversion(), "lme4", packageVersion("lme4")))
versions <- list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")),
                 Matrix = as.character(packageVersion("Matrix")))

# Fit while collecting warnings/messages (e.g. scale warnings, singular-fit messages).
FITW <- character(0)
fitw <- function(expr) {
  FITW <<- character(0)
  withCallingHandlers(expr,
    warning = function(w) { FITW <<- c(FITW, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { FITW <<- c(FITW, trimws(conditionMessage(m))); invokeRestart("muffleMessage") })
}

vc <- function(m) { x <- as.data.frame(VarCorr(m)); for (k in c("grp", "var1", "var2")) x[[k]] <- as.character(x[[k]]); x }
re_list <- function(m) lapply(ranef(m), function(r) { r <- as.data.frame(r); r$level <- rownames(r); r })
condvar <- function(m) {
  r <- ranef(m, condVar = TRUE); a <- as.data.frame(r)
  lapply(setNames(names(r), names(r)), function(g) {
    lv <- rownames(r[[g]])
    lapply(setNames(colnames(r[[g]]), colnames(r[[g]])), function(tm) {
      s <- a[a$grpvar == g & a$term == tm, ]
      unname(s$condsd[match(lv, as.character(s$grp))]^2)
    })
  })
}
opt_warn <- function(m) as.list(as.character(c(m@optinfo$conv$lme4$messages, unlist(m@optinfo$warnings))))
theta_of <- function(m) unname(getME(m, "theta"))

common <- function(m) {
  v <- as.matrix(vcov(m))
  list(condvar = condvar(m), vcov = unname(v), vcov_names = colnames(v),
       theta = theta_of(m), theta_names = names(getME(m, "theta")),
       fitted_head = unname(head(fitted(m), 5)),
       optimizer_warnings = opt_warn(m), fit_warnings = as.list(unique(FITW)))
}
rec <- function(name, m, data_name, formula, ...) {
  co <- coef(summary(m))
  out[[name]] <<- c(list(data = data_name, formula = formula, REML = isREML(m),
    fixef = as.list(fixef(m)), se = as.list(co[, "Std. Error"]), varcorr = vc(m),
    sigma = sigma(m), logLik = as.numeric(logLik(m)),
    deviance = if (isREML(m)) NA else deviance(m),
    REMLcrit = if (isREML(m)) as.numeric(REMLcrit(m)) else NA,
    AIC = AIC(m), BIC = BIC(m), nobs = nobs(m), ngrps = as.list(ngrps(m)),
    singular = isSingular(m), ranef = re_list(m)), common(m), list(...))
}
grec <- function(name, m, data_name, formula, ...) {
  co <- coef(summary(m)); fam <- family(m)
  out[[name]] <<- c(list(data = data_name, formula = formula,
    family = fam$family, link = fam$link, nAGQ = m@devcomp$dims[["nAGQ"]],
    fixef = as.list(fixef(m)), se = as.list(co[, "Std. Error"]), varcorr = vc(m),
    logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), deviance = deviance(m),
    nobs = nobs(m), ngrps = as.list(ngrps(m)), singular = isSingular(m),
    ranef = re_list(m)), common(m), list(...))
}
lrt <- function(a, models) list(models = models, npar = a$npar, AIC = a$AIC, BIC = a$BIC,
  logLik = a$logLik, deviance = a$deviance, Chisq = a$Chisq, Df = a$Df, p = a[["Pr(>Chisq)"]])
elapsed <- function(expr_fun, n = 2) sapply(seq_len(n), function(i) unname(system.time(fitw(expr_fun()))["elapsed"]))

## ---------------------------------------------------------------- LMMs
pa <- load_data("Pastes")
rec("pastes_nested", fitw(lmer(strength ~ 1 + (1 | batch/cask), pa)), "Pastes", "strength ~ 1 + (1|batch/cask)")
rec("pastes_explicit", fitw(lmer(strength ~ 1 + (1 | batch) + (1 | batch:cask), pa)), "Pastes",
    "strength ~ 1 + (1|batch) + (1|batch:cask)")

pe <- load_data("Penicillin")
rec("penicillin_ML", fitw(lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pe, REML = FALSE)), "Penicillin",
    "diameter ~ 1 + (1|plate) + (1|sample)")

ma <- load_data("Machines")
rec("machines_factor_bar", fitw(lmer(score ~ Machine + (0 + Machine | Worker), ma)), "Machines",
    "score ~ Machine + (0 + Machine|Worker)")
rec("machines_nested", fitw(lmer(score ~ Machine + (1 | Worker/Machine), ma)), "Machines",
    "score ~ Machine + (1|Worker/Machine)")
# hierlm's (Machine || Worker) = independent block per model-matrix column; in lme4 that is:
r_form <- 'score ~ Machine + (1|Worker) + (0+dummy(Machine,"B")|Worker) + (0+dummy(Machine,"C")|Worker)'
m <- fitw(lmer(as.formula(r_form), ma))
rec("machines_dblbar_expanded", m, "Machines", "score ~ Machine + (Machine || Worker)", r_formula = r_form,
    note = 'lme4 term names dummy(Machine, "B")/dummy(Machine, "C") renamed to MachineB/MachineC in varcorr, ranef, condvar')
ren <- function(x) { x <- gsub('dummy(Machine, "B")', "MachineB", x, fixed = TRUE); gsub('dummy(Machine, "C")', "MachineC", x, fixed = TRUE) }
r <- out$machines_dblbar_expanded
r$varcorr$var1 <- ren(r$varcorr$var1)
r$ranef <- lapply(r$ranef, function(d) { names(d) <- ren(names(d)); d })
r$condvar <- lapply(r$condvar, function(d) { names(d) <- ren(names(d)); d })
out$machines_dblbar_expanded <- r
rec("machines_interaction_group", fitw(lmer(score ~ Machine + (1 | Worker) + (1 | Worker:Machine), ma)), "Machines",
    "score ~ Machine + (1|Worker) + (1|Worker:Machine)")
rec("machines_crossed", fitw(lmer(score ~ 1 + (1 | Worker) + (1 | Machine), ma)), "Machines",
    "score ~ 1 + (1|Worker) + (1|Machine)")

ss <- load_data("sleepstudy")
rec("sleep_dblbar", fitw(lmer(Reaction ~ Days + (Days || Subject), ss)), "sleepstudy", "Reaction ~ Days + (Days || Subject)")
rec("sleep_poly", fitw(lmer(Reaction ~ poly(Days, 2) + (Days | Subject), ss)), "sleepstudy",
    "Reaction ~ poly(Days, 2) + (Days|Subject)")
rec("sleep_noint", fitw(lmer(Reaction ~ 0 + Days + (Days | Subject), ss)), "sleepstudy", "Reaction ~ 0 + Days + (Days|Subject)")
s_int <- lmer(Reaction ~ Days + (1 | Subject), ss)
s_unc <- lmer(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject), ss)
s_cor <- lmer(Reaction ~ Days + (Days | Subject), ss)
out$anova_sleep3 <- c(lrt(suppressMessages(anova(s_int, s_unc, s_cor)), c("sleep_int", "sleep_uncorr", "sleep_corr")),
  list(formulas = c("Reaction ~ Days + (1|Subject)", "Reaction ~ Days + (1|Subject) + (0+Days|Subject)",
                    "Reaction ~ Days + (Days|Subject)"), data = "sleepstudy",
       note = "models fitted with REML; anova() refits them with ML"))

od <- load_data("Orthodont")
rec("orthodont", fitw(lmer(distance ~ age * Sex + (age | Subject), od)), "Orthodont", "distance ~ age*Sex + (age|Subject)")
rec("orthodont_ML", fitw(lmer(distance ~ age * Sex + (age | Subject), od, REML = FALSE)), "Orthodont",
    "distance ~ age*Sex + (age|Subject)")

## Sitka: raw Time is badly scaled -> try several optimizers, keep the best
sk <- load_data("Sitka"); sk$tt <- (sk$Time - 200) / 100
f_raw <- size ~ treat * (Time + I(Time^2)) + (1 + Time | tree)
ctrls <- list(
  bobyqa = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e6, rhoend = 1e-12)),
  Nelder_Mead = lmerControl(optimizer = "Nelder_Mead", optCtrl = list(maxfun = 1e6, FtolAbs = 1e-14, FtolRel = 1e-15, XtolRel = 1e-12)),
  nloptwrap = lmerControl(optimizer = "nloptwrap", optCtrl = list(maxeval = 1e6, xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12, ftol_rel = 1e-15)),
  nloptwrap_NM = lmerControl(optimizer = "nloptwrap", optCtrl = list(algorithm = "NLOPT_LN_NELDERMEAD", maxeval = 1e6, xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12, ftol_rel = 1e-15)),
  default = lmerControl())
per_opt <- list(); fits <- list(); fwarn <- list()
for (nm in names(ctrls)) {
  fm <- tryCatch(fitw(lmer(f_raw, sk, control = ctrls[[nm]])), error = function(e) NULL)
  if (is.null(fm)) next
  fits[[nm]] <- fm; fwarn[[nm]] <- unique(FITW)
  per_opt[[nm]] <- list(logLik = as.numeric(logLik(fm)), REMLcrit = as.numeric(REMLcrit(fm)), theta = theta_of(fm),
    optimizer_warnings = opt_warn(fm), fit_warnings = as.list(unique(FITW)))
}
best <- names(fits)[which.max(sapply(fits, function(fm) as.numeric(logLik(fm))))]
FITW <- fwarn[[best]]
# REML criterion is not invariant under X -> X A: REMLcrit_raw = REMLcrit_tt + 2 log|det A|, det A = (100*100^2)^2 = 1e12
rec("sitka_raw", fits[[best]], "Sitka", "size ~ treat*(Time + I(Time^2)) + (1 + Time|tree)",
    best_optimizer = best, optimizers = per_opt,
    note = "REML logLik differs from sitka_scaled by -log(1e12) (Jacobian of fixed-effect reparametrisation); theta/sigma/ranef should match up to tt = (Time-200)/100 scaling of the slope")
rec("sitka_scaled", fitw(lmer(size ~ treat * (tt + I(tt^2)) + (1 + tt | tree), sk,
    control = lmerControl(optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14)))), "Sitka",
    "size ~ treat*(tt + I(tt^2)) + (1 + tt|tree)", derived = "tt = (Time - 200)/100",
    reml_logLik_offset_vs_raw = log(1e12))
sk_full <- fitw(lmer(size ~ treat * (Time + I(Time^2)) + (1 | tree), sk, REML = FALSE))
rec("sitka_int_ML", sk_full, "Sitka", "size ~ treat*(Time + I(Time^2)) + (1|tree)")
sk_null <- fitw(lmer(size ~ Time + I(Time^2) + (1 | tree), sk, REML = FALSE))
rec("sitka_null_ML", sk_null, "Sitka", "size ~ Time + I(Time^2) + (1|tree)")
out$anova_sitka <- lrt(anova(sk_null, sk_full), c("sitka_null_ML", "sitka_int_ML"))

cw <- load_data("ChickWeight")
rec("chick", fitw(lmer(weight ~ Time * Diet + (Time | Chick), cw)), "ChickWeight", "weight ~ Time * Diet + (Time|Chick)")

oa <- load_data("Oats")
rec("oats", fitw(lmer(yield ~ nitro + Variety + (1 | Block/Variety), oa)), "Oats", "yield ~ nitro + Variety + (1|Block/Variety)")
rec("oats_crossed_slope", fitw(lmer(yield ~ nitro + (nitro | Block) + (1 | Variety), oa)), "Oats",
    "yield ~ nitro + (nitro|Block) + (1|Variety)")

es <- load_data("ergoStool")
rec("ergostool", fitw(lmer(effort ~ Type + (1 | Subject), es)), "ergoStool", "effort ~ Type + (1|Subject)")

mt <- load_data("mtcars")
rec("mtcars_offset", fitw(lmer(mpg ~ wt + offset(hp/100) + (1 | cyl), mt)), "mtcars", "mpg ~ wt + offset(hp/100) + (1|cyl)")

ie <- load_data("InstEval")
f_ie <- y ~ service + (1 | s) + (1 | d) + (1 | dept)
secs <- elapsed(function() lmer(f_ie, ie))
rec("instEval", fitw(lmer(f_ie, ie)), "InstEval", "y ~ service + (1|s) + (1|d) + (1|dept)",
    seconds = secs, versions = versions)

## ---------------------------------------------------------------- GLMMs
cb <- load_data("cbpp")
grec("cbpp_prop", fitw(glmer(incidence/size ~ period + (1 | herd), cb, weights = size, family = binomial)), "cbpp",
     "incidence/size ~ period + (1|herd)", weights = "size")
grec("cbpp_prop_agq10", fitw(glmer(incidence/size ~ period + (1 | herd), cb, weights = size, family = binomial, nAGQ = 10)),
     "cbpp", "incidence/size ~ period + (1|herd)", weights = "size",
     note = "lme4 quirk: with nAGQ > 1 logLik/AIC/BIC omit a constant that nAGQ = 1 includes, so they are not comparable with cbpp_prop; compare fixef/se/varcorr")
grec("cbpp_poisson_offset", fitw(glmer(incidence ~ period + offset(log(size)) + (1 | herd), cb, family = poisson)), "cbpp",
     "incidence ~ period + offset(log(size)) + (1|herd)")

gt <- load_data("grouseticks")
grec("grouseticks_poisson", fitw(glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), gt, family = poisson)),
     "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION)")

va <- load_data("VerbAgg")
f_va <- r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)
secs <- elapsed(function() glmer(f_va, va, family = binomial))
grec("verbagg_crossed", fitw(glmer(f_va, va, family = binomial)), "VerbAgg",
     "r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item)", seconds = secs, versions = versions)
grec("verbagg_slope", fitw(glmer(r2 ~ mode + (1 + mode | item), va, family = binomial)), "VerbAgg", "r2 ~ mode + (1 + mode|item)")

nb <- fitw(glmer.nb(TICKS ~ YEAR + cHEIGHT + (1 | LOCATION), gt))
grec("grouseticks_nb", nb, "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|LOCATION)",
     nb_theta = getME(nb, "glmer.nb.theta"), fitter = "glmer.nb")

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "lme4_extra.json")
