# Data and maximum-likelihood anchors for the Bayesian families of issue 17 (hl.blmer with family =
# "beta", "student", "lognormal"): R's frequentist fits of the same models, which the posteriors at
# hierlm's weakly informative defaults should sit close to (bench/bayes_families.py compares them in
# posterior SDs).  brms 2.18 with the same priors: tests/reference/make_brms_families_reference.R.
#
#   Rscript tests/reference/make_bayes_families_reference.R   (from the repository root)
#
# Writes tests/reference/data/laptop_urry.csv (afex::laptop_urry: Urry et al. 2021, note taking on
# laptops vs longhand; `overall` is the percentage of test questions answered correctly, strictly
# between 0 and 100 for all 142 students) and tests/reference/bayes_families_reference.json.
suppressPackageStartupMessages({
  library(afex)
  library(glmmTMB)
  library(lme4)
  library(jsonlite)
})

data(laptop_urry, package = "afex")
lu <- laptop_urry
write.csv(lu, "tests/reference/data/laptop_urry.csv", row.names = FALSE)
lu$p <- lu$overall / 100

lex <- read.csv("tests/reference/data/fhch2010_lexdec.csv")
for (v in c("id", "stimulus", "frequency", "item")) lex[[v]] <- factor(lex[[v]])

tmb <- function(m) {
  vc <- VarCorr(m)$cond
  list(formula = paste(deparse(formula(m), width.cutoff = 500), collapse = ""),
       family = family(m)$family, link = family(m)$link,
       fixef = as.list(fixef(m)$cond),
       se = as.list(sqrt(diag(vcov(m)$cond))),
       re_sd = lapply(vc, function(x) unname(attr(x, "stddev"))),
       re_cor = lapply(vc, function(x) { r <- attr(x, "correlation"); if (nrow(r) > 1) r[2, 1] else NULL }),
       dispersion = unname(sigma(m)),
       psi = if (family(m)$family == "t") unname(exp(m$fit$par[["psi"]])) else NULL,
       logLik = as.numeric(logLik(m)), pdHess = m$sdr$pdHess)
}

m_beta <- glmmTMB(p ~ condition + (1 | talk), data = lu, family = beta_family())
m_t <- glmmTMB(rt ~ stimulus * frequency + (1 | id), data = lex, family = t_family())
m_ln <- lmer(log(rt) ~ stimulus * frequency + (1 | id) + (1 | item), data = lex, REML = FALSE)
# Gamma GLMMs by glmmTMB's Laplace ML: lme4's glmer treats the Gamma dispersion through its pwrss
# approximation, and its variance components differ (sd(id) 0.119 vs 0.234 on lexdec)
m_gamma_lex <- glmmTMB(rt ~ stimulus * frequency + (1 | id) + (1 | item), data = lex, family = Gamma(link = "log"))
data(ChickWeight)
cw <- as.data.frame(ChickWeight)
cw$Chick <- factor(as.character(cw$Chick), levels = as.character(1:50))
cw$Diet <- factor(cw$Diet)
# glmmTMB's default start ends on a non-positive-definite Hessian at the boundary (sd(Intercept) 7.7e-10,
# cor 0.998, logLik NA); started from lmer on log(weight) it reaches the interior maximum (logLik
# -2315.56, positive-definite Hessian; the same maximum as the fit with Time centred)
ml_chick <- lmer(log(weight) ~ Time + Diet + (Time | Chick), data = cw, REML = FALSE)
vc_chick <- VarCorr(ml_chick)$Chick
r_chick <- attr(vc_chick, "correlation")[2, 1]
m_gamma_chick <- glmmTMB(weight ~ Time + Diet + (Time | Chick), data = cw, family = Gamma(link = "log"),
                         start = list(theta = c(log(attr(vc_chick, "stddev")), r_chick / sqrt(1 - r_chick^2))))
sleep <- lme4::sleepstudy
m_gamma_sleep <- glmmTMB(Reaction ~ Days + (Days | Subject), data = sleep, family = Gamma(link = "identity"))

out <- list(
  `_source` = "tests/reference/make_bayes_families_reference.R",
  versions = list(R = R.version.string, glmmTMB = as.character(packageVersion("glmmTMB")),
                  lme4 = as.character(packageVersion("lme4")), afex = as.character(packageVersion("afex"))),
  notes = paste("glmmTMB beta_family: dispersion is the precision phi; t_family: dispersion is the scale sigma,",
                "psi the degrees of freedom; Gamma: dispersion is sigma = 1/sqrt(shape); re_sd in the order of",
                "the terms; lognormal: lmer (ML) on log(rt), sigma its residual SD"),
  beta_laptop = tmb(m_beta),
  student_lexdec = tmb(m_t),
  gamma_lexdec = tmb(m_gamma_lex),
  gamma_chick = tmb(m_gamma_chick),
  gamma_sleep_identity = tmb(m_gamma_sleep),
  lognormal_lexdec = list(formula = "log(rt) ~ stimulus * frequency + (1 | id) + (1 | item)",
                          fixef = as.list(fixef(m_ln)), se = as.list(sqrt(diag(as.matrix(vcov(m_ln))))),
                          re_sd = lapply(VarCorr(m_ln), function(x) unname(attr(x, "stddev"))),
                          sigma = sigma(m_ln), logLik = as.numeric(logLik(m_ln))),
  datasets = list(laptop_urry = list(file = "tests/reference/data/laptop_urry.csv", nrow = nrow(lu),
                                     factors = list(condition = levels(lu$condition), talk = levels(lu$talk)),
                                     ordered = list(), source = "afex::laptop_urry",
                                     note = "p = overall / 100 is the proportion correct")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           "tests/reference/bayes_families_reference.json")
cat("wrote tests/reference/bayes_families_reference.json\n")
