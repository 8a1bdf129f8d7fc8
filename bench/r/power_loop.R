# The power-curve loop of bench/power.py in R (lme4 + lmerTest, simr 1.0's method): sleepstudy with
# fixef Days <- 2, extended to max(sizes) subjects (copies of the first subjects' rows, new random
# effects from the fitted Sigma: lme4's simulate(newdata, allow.new.levels = TRUE)); every simulation
# is refitted on the first k subjects for each k in sizes and tested by Satterthwaite t (lmerTest).
# Usage: Rscript power_loop.R sleepstudy.csv nsim 10,20,30,40 out.json
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
sleep <- read.csv(a[1], stringsAsFactors = TRUE)
sleep$Subject <- factor(sleep$Subject)
nsim <- as.integer(a[2])
sizes <- as.integer(strsplit(a[3], ",")[[1]])
m <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), sleep)
beta <- fixef(m); beta["Days"] <- 2
pars <- list(beta = beta, theta = getME(m, "theta"), sigma = sigma(m))
subj <- levels(sleep$Subject); L <- length(subj); M <- max(sizes)
ext <- do.call(rbind, lapply(seq_len(M), function(j) {
  s <- sleep[sleep$Subject == subj[(j - 1) %% L + 1], ]
  s$Subject <- if (j <= L) as.character(s$Subject) else paste0(subj[(j - 1) %% L + 1], "_", (j - 1) %/% L)
  s
}))
ext$Subject <- factor(ext$Subject, levels = unique(ext$Subject))
keep <- lapply(sizes, function(k) ext$Subject %in% levels(ext$Subject)[seq_len(k)])
set.seed(1)
p <- matrix(NA, nsim, length(sizes))
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nsim)) {
  ext$Reaction <- simulate(m, newdata = ext, newparams = pars, allow.new.levels = TRUE)[[1]]
  for (k in seq_along(sizes)) {
    f <- suppressMessages(suppressWarnings(lmerTest::lmer(Reaction ~ Days + (Days | Subject), ext[keep[[k]], ])))
    p[i, k] <- summary(f)$coefficients["Days", "Pr(>|t|)"]
  }
}
secs <- proc.time()[["elapsed"]] - t0
write_json(list(seconds = secs, nsim = nsim, sizes = sizes, fits = nsim * length(sizes), power = colMeans(p < 0.05),
                versions = list(R = as.character(getRversion()), lme4 = as.character(packageVersion("lme4")),
                                lmerTest = as.character(packageVersion("lmerTest")))),
           a[4], digits = NA, auto_unbox = TRUE)
