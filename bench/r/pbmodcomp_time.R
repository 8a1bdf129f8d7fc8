# pbkrtest::PBmodcomp on the Sitka random-slope model, timed inside R (elapsed), single process.
# Usage: Rscript pbmodcomp_time.R Sitka.csv nsim "large formula" "small formula" out.json
suppressMessages({library(lme4); library(pbkrtest); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
s <- read.csv(a[1], stringsAsFactors = TRUE)
s$tree <- factor(s$tree)
nsim <- as.integer(a[2])
m1 <- lmer(as.formula(a[3]), s, REML = FALSE)
m0 <- lmer(as.formula(a[4]), s, REML = FALSE)
secs <- system.time(r <- suppressMessages(suppressWarnings(PBmodcomp(m1, m0, nsim = nsim, seed = 1))))[["elapsed"]]
write_json(list(seconds = secs, nsim = nsim, p_value = r$test["PBtest", "p.value"], stat = r$test["LRT", "stat"],
                samples = length(r$ref),
                versions = list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")),
                                pbkrtest = as.character(packageVersion("pbkrtest")))),
           a[5], digits = NA, auto_unbox = TRUE)
