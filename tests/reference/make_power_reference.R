# Simulation-based power references for hl.power_sim: plain R loops with lme4 + lmerTest (simr 1.0's
# method: simulate from the fitted model with a fixed effect set by hand, refit, test, count p < alpha;
# simr itself is not installable here).  Also lme4's simulate() moments for every GLMM family.
# R is only used to produce these committed reference numbers; it is never a runtime dependency.
# Needs R with lme4, lmerTest, jsonlite.  Run from this folder (~10 min):
#   Rscript make_power_reference.R   ->  power_reference.json (and data/power_crossed.csv)
#
# Cases (the seeds are irrelevant: hierlm is compared within binomial Monte Carlo error):
#   sleep        Reaction ~ Days + (Days | Subject), REML, fixef Days <- 2; Satterthwaite t for Days, 500 sims
#   sleep_curve  the same model extended to 30 subjects as simr's extend(along = "Subject", n = 30)
#                (new subjects are copies of the first 12's rows, new random effects from the fitted Sigma);
#                every simulation is refitted on the first 10 and on all 30 subjects (simr's powerCurve)
#   crossed      y ~ cond + (1 + cond | subj) + (1 | item) on a simulated 24 subjects x 16 items design
#                (data/power_crossed.csv, made here), fixef cond <- 25; Satterthwaite t, 500 sims
#   cbpp         cbind(incidence, size - incidence) ~ period + (1 | herd), period coefficients <- -0.5;
#                likelihood-ratio test of period (3 df, as anova(m0, m1)) and the Wald z test of period2
#                (summary's Pr(>|z|)), the same 500 simulations
# simulate_moments: mean and variance per observation of 4000 responses from simulate(m) (new random
# effects) for a binomial (cbpp, successes), Bernoulli (bacteria), Poisson with an offset (cbpp
# incidence with offset(log(size))) and negative-binomial (grouseticks, glmer.nb) model.
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
DATA_DIR <- file.path("..", "..", "hierlm", "data")
load_data <- function(name, factors, dir = DATA_DIR) {
  x <- read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = TRUE)
  for (k in factors) x[[k]] <- factor(as.vector(x[[k]]))
  x
}
NSIM <- 500
out <- list(`_source` = paste("R", getRversion(), "lme4", packageVersion("lme4"), "lmerTest",
                              packageVersion("lmerTest")), nsim = NSIM)

sat_p <- function(fit, term) summary(fit)$coefficients[term, "Pr(>|t|)"]

# -- sleepstudy, Days = 2 ----------------------------------------------------------------------------
sleep <- load_data("sleepstudy", "Subject")
m <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), sleep)
beta <- fixef(m); beta["Days"] <- 2
pars <- list(beta = beta, theta = getME(m, "theta"), sigma = sigma(m))
set.seed(101)
p <- numeric(NSIM)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(NSIM)) {
  d <- sleep
  d$Reaction <- simulate(m, newparams = pars)[[1]]
  f <- suppressMessages(suppressWarnings(lmerTest::lmer(Reaction ~ Days + (Days | Subject), d)))
  p[i] <- sat_p(f, "Days")
}
secs <- proc.time()[["elapsed"]] - t0
out$sleep <- list(data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE,
                  effects = list(Days = 2), test = "Days", method = "Satterthwaite", alpha = 0.05,
                  nsim = NSIM, successes = sum(p < 0.05), power = mean(p < 0.05), seconds_per_fit = secs / NSIM,
                  fit = list(beta = unname(fixef(m)), theta = unname(getME(m, "theta")), sigma = sigma(m)))
cat("sleep", mean(p < 0.05), secs / NSIM, "s per fit\n")

# -- sleepstudy extended to 30 subjects, fitted on 10 and on 30 --------------------------------------
subj <- levels(sleep$Subject)
ext <- do.call(rbind, lapply(seq_len(30), function(j) {
  s <- sleep[sleep$Subject == subj[(j - 1) %% 18 + 1], ]
  s$Subject <- if (j <= 18) as.character(s$Subject) else paste0(subj[(j - 1) %% 18 + 1], "_", (j - 1) %/% 18)
  s
}))
ext$Subject <- factor(ext$Subject, levels = unique(ext$Subject))
first10 <- ext$Subject %in% levels(ext$Subject)[1:10]
set.seed(102)
pc <- matrix(NA, NSIM, 2)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(NSIM)) {
  ext$Reaction <- simulate(m, newdata = ext, newparams = pars, allow.new.levels = TRUE)[[1]]
  f10 <- suppressMessages(suppressWarnings(lmerTest::lmer(Reaction ~ Days + (Days | Subject), ext[first10, ])))
  f30 <- suppressMessages(suppressWarnings(lmerTest::lmer(Reaction ~ Days + (Days | Subject), ext)))
  pc[i, ] <- c(sat_p(f10, "Days"), sat_p(f30, "Days"))
}
secs <- proc.time()[["elapsed"]] - t0
out$sleep_curve <- list(data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE,
                        effects = list(Days = 2), test = "Days", method = "Satterthwaite", alpha = 0.05,
                        along = "Subject", sizes = c(10, 30), nsim = NSIM, successes = colSums(pc < 0.05),
                        power = colMeans(pc < 0.05), nobs = c(sum(first10), nrow(ext)),
                        seconds_per_fit = secs / (2 * NSIM))
cat("sleep_curve", colMeans(pc < 0.05), "\n")

# -- crossed subjects x items ----------------------------------------------------------------------
set.seed(2024)
ns <- 24; ni <- 16
cr <- expand.grid(item = sprintf("i%02d", 1:ni), subj = sprintf("s%02d", 1:ns), stringsAsFactors = FALSE)
cr$cond <- ifelse(as.integer(sub("i", "", cr$item)) %% 2 == 0, 0.5, -0.5)  # items in two conditions
u <- MASS::mvrnorm(ns, c(0, 0), matrix(c(30^2, 0.3 * 30 * 25, 0.3 * 30 * 25, 25^2), 2))
w <- rnorm(ni, 0, 20)
si <- match(cr$subj, sprintf("s%02d", 1:ns)); ii <- match(cr$item, sprintf("i%02d", 1:ni))
cr$y <- round(600 + 25 * cr$cond + u[si, 1] + u[si, 2] * cr$cond + w[ii] + rnorm(nrow(cr), 0, 50), 3)
cr <- cr[, c("y", "cond", "subj", "item")]
write.csv(cr, file.path("data", "power_crossed.csv"), row.names = FALSE)
cr <- load_data("power_crossed", c("subj", "item"), dir = "data")
mc <- lmerTest::lmer(y ~ cond + (1 + cond | subj) + (1 | item), cr)
beta <- fixef(mc); beta["cond"] <- 25
parc <- list(beta = beta, theta = getME(mc, "theta"), sigma = sigma(mc))
set.seed(103)
p <- numeric(NSIM)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(NSIM)) {
  d <- cr
  d$y <- simulate(mc, newparams = parc)[[1]]
  f <- suppressMessages(suppressWarnings(lmerTest::lmer(y ~ cond + (1 + cond | subj) + (1 | item), d)))
  p[i] <- sat_p(f, "cond")
}
secs <- proc.time()[["elapsed"]] - t0
out$crossed <- list(data = "power_crossed", formula = "y ~ cond + (1 + cond | subj) + (1 | item)", reml = TRUE,
                    effects = list(cond = 25), test = "cond", method = "Satterthwaite", alpha = 0.05,
                    nsim = NSIM, successes = sum(p < 0.05), power = mean(p < 0.05), seconds_per_fit = secs / NSIM,
                    fit = list(beta = unname(fixef(mc)), theta = unname(getME(mc, "theta")), sigma = sigma(mc)))
cat("crossed", mean(p < 0.05), secs / NSIM, "\n")

# -- cbpp binomial: period by LRT and period2 by Wald z -----------------------------------------------
cbpp <- load_data("cbpp", c("herd", "period"))
g1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial)
beta <- fixef(g1); beta[c("period2", "period3", "period4")] <- -0.5
parg <- list(beta = beta, theta = getME(g1, "theta"))
set.seed(104)
pl <- pz <- numeric(NSIM)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(NSIM)) {
  d <- cbpp
  d$incidence <- simulate(g1, newparams = parg)[[1]][, 1]
  a1 <- suppressMessages(suppressWarnings(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d,
                                                family = binomial)))
  a0 <- suppressMessages(suppressWarnings(glmer(cbind(incidence, size - incidence) ~ 1 + (1 | herd), d,
                                                family = binomial)))
  pl[i] <- anova(a0, a1)[2, "Pr(>Chisq)"]
  pz[i] <- summary(a1)$coefficients["period2", "Pr(>|z|)"]
}
secs <- proc.time()[["elapsed"]] - t0
out$cbpp <- list(data = "cbpp", formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                 family = "binomial", effects = list(period2 = -0.5, period3 = -0.5, period4 = -0.5),
                 alpha = 0.05, nsim = NSIM,
                 lrt = list(test = "period", method = "LRT", successes = sum(pl < 0.05), power = mean(pl < 0.05)),
                 wald = list(test = "period2", method = "z", successes = sum(pz < 0.05), power = mean(pz < 0.05)),
                 seconds_per_fit = secs / (2 * NSIM))
cat("cbpp", mean(pl < 0.05), mean(pz < 0.05), "\n")

# -- simulate() moments of GLMMs ---------------------------------------------------------------------
NMOM <- 4000
moments <- function(fit, Y) {
  list(nsim = NMOM, nobs = nrow(Y), mean = rowMeans(Y), var = apply(Y, 1, var), beta = unname(fixef(fit)),
       theta = unname(getME(fit, "theta")))
}
set.seed(105)
Yb <- sapply(simulate(g1, nsim = NMOM), function(s) s[, 1])
bac <- load_data("bacteria", c("ID", "trt"), dir = "data")
gb <- glmer(infected ~ trt + week + (1 | ID), bac, family = binomial)
Ybe <- as.matrix(simulate(gb, nsim = NMOM))
gp <- glmer(incidence ~ period + offset(log(size)) + (1 | herd), cbpp, family = poisson)
Yp <- as.matrix(simulate(gp, nsim = NMOM))
gt <- load_data("grouseticks", c("BROOD", "YEAR", "LOCATION"))
gn <- glmer.nb(TICKS ~ YEAR + (1 | BROOD), gt)
Yn <- as.matrix(simulate(gn, nsim = NMOM))
out$simulate_moments <- list(
  binomial = c(moments(g1, Yb), list(data = "cbpp", formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                                     family = "binomial", what = "successes")),
  bernoulli = c(moments(gb, Ybe), list(data = "bacteria", file = "data/bacteria.csv",
                                       formula = "infected ~ trt + week + (1 | ID)", family = "bernoulli")),
  poisson_offset = c(moments(gp, Yp), list(data = "cbpp", formula = "incidence ~ period + offset(log(size)) + (1 | herd)",
                                           family = "poisson")),
  negbinomial = c(moments(gn, Yn), list(data = "grouseticks", formula = "TICKS ~ YEAR + (1 | BROOD)",
                                        family = "negbinomial", nb_theta = getME(gn, "glmer.nb.theta"))))
out$datasets <- list(power_crossed = list(file = "data/power_crossed.csv", nrow = nrow(cr),
                                          factors = list(subj = levels(cr$subj), item = levels(cr$item)),
                                          note = "simulated here (set.seed(2024)): cond = +-0.5 by item parity"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "power_reference.json")
