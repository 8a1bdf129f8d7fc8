# brms 2.18 posteriors of five blmer models, with hierlm's default priors passed explicitly.
#
# The priors come from tests/reference/brms_families_priors.json, which
#   .venv/bin/python -m bench.bayes_families --brms-priors
# writes from hierlm's own prior resolution (exact values, in Stan's parameterisation: half_normal(s) is
# normal(0, s) on a class with lower bound 0, gamma(a, b) has rate b as in PyMC).  One difference remains:
# brms bounds the Student-t nu below by 1, hierlm does not (gamma(2, 0.1) puts 0.5% of its mass below 1).
#
# Run (from the repository root; about 10 minutes on 2 cores):
#   Rscript tests/reference/make_brms_families_reference.R
# Writes tests/reference/brms_families_reference.json: per model the posterior mean, SD, R-hat and bulk ESS
# of every parameter under brms's names (b_Intercept is the intercept of the uncentred predictors;
# b_Intercept[k] the thresholds of a cumulative model, ordinal::clmm's alpha), tests/fits/test_bayes_families.py
# compares hierlm's posterior with them (every mean within 0.2 posterior SD).
suppressPackageStartupMessages({library(brms); library(jsonlite); library(lme4); library(posterior)})

spec <- fromJSON("tests/reference/brms_families_priors.json", simplifyVector = FALSE)

load_data <- function(name) {
  if (name == "sleepstudy") return(lme4::sleepstudy)
  if (name == "laptop_urry") {
    d <- read.csv("tests/reference/data/laptop_urry.csv")
    d$condition <- factor(d$condition); d$talk <- factor(d$talk); d$pid <- factor(d$pid)
    d$p <- d$overall / 100
    return(d)
  }
  if (name == "wine_breadth") {
    d <- read.csv("tests/reference/data/wine_breadth.csv")
    d$rating <- factor(d$rating, levels = 1:5, ordered = TRUE)
    d$temp <- factor(d$temp, levels = c("cold", "warm")); d$contact <- factor(d$contact, levels = c("no", "yes"))
    d$judge <- factor(d$judge); d$bottle <- factor(d$bottle)
    return(d)
  }
  stop("no data set ", name)
}

brms_family <- function(name, link) {
  switch(name,
         student = student(link = link),
         lognormal = lognormal(link = link),
         gamma = Gamma(link = link),
         beta = Beta(link = link),
         cumulative = cumulative(link = link),
         stop("family ", name))
}

out <- list(`_source` = "tests/reference/make_brms_families_reference.R",
            versions = list(R = R.version.string, brms = as.character(packageVersion("brms")),
                            rstan = as.character(packageVersion("rstan"))),
            settings = list(chains = 4, iter = 3500, warmup = 1000, adapt_delta = 0.95, seed = 2018),
            models = list())
for (name in names(spec)) {
  m <- spec[[name]]
  pr <- do.call(c, lapply(m$priors, function(r)
    set_prior(r$prior, class = r$class, group = r$group, coef = r$coef)))
  t0 <- Sys.time()
  fit <- brm(as.formula(m$formula), data = load_data(m$data), family = brms_family(m$family, m$link),
             prior = pr, chains = 4, iter = 3500, warmup = 1000, cores = 2, seed = 2018, refresh = 0,
             control = list(adapt_delta = 0.95), backend = "rstan", silent = 2)
  secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  dr <- as_draws_df(fit)
  keep <- grep("^(b_|sd_|cor_|sigma$|nu$|shape$|phi$)", variables(dr), value = TRUE)
  summ <- summarise_draws(subset_draws(dr, variable = keep), "mean", "sd", "rhat", "ess_bulk")
  np <- nuts_params(fit)
  out$models[[name]] <- list(
    formula = m$formula, family = m$family, link = m$link, seconds = round(secs, 1),
    divergences = sum(np$Value[np$Parameter == "divergent__"]),
    prior = as.data.frame(prior_summary(fit))[, c("prior", "class", "coef", "group")],
    posterior = setNames(lapply(seq_len(nrow(summ)), function(i)
      list(mean = summ$mean[i], sd = summ$sd[i], rhat = summ$rhat[i], ess_bulk = summ$ess_bulk[i])), summ$variable))
  cat(sprintf("%s: %.0f s, max R-hat %.4f\n", name, secs, max(summ$rhat)))
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/brms_families_reference.json")
