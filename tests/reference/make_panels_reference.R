# lme4 anchors for the crossed panels of issue 19's partial-route mass-matrix bench
# (bench/bayes_mass_matrix.py): lmer's REML fixed effects and their standard errors, which hl.blmer's
# posterior means at its defaults should sit close to (in posterior SDs).
#
#   Rscript bench/r/export_scale_data.R && Rscript tests/reference/make_panels_reference.R   (repository root)
#
# Reads bench/data/{Cigar,SumHes,Guns,txhousing}.csv.gz; writes tests/reference/panels_reference.json.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
models <- list(
  Cigar = list(data = "Cigar", formula = "lsales ~ lprice + (1|state) + (1|year)", factors = c("state", "year")),
  SumHes = list(data = "SumHes", formula = "lgdp ~ lpop + (1|country) + (1|year)", factors = c("country", "year")),
  Guns = list(data = "Guns", formula = "lviolent ~ law + lincome + (1|state) + (1|year)",
              factors = c("state", "year", "law")),
  txhousing = list(data = "txhousing", formula = "lmedian ~ month + (1|city) + (1|year) + (1|city:year)",
                   factors = c("city", "year"))
)
out <- lapply(models, function(m) {
  d <- read.csv(gzfile(file.path("bench/data", paste0(m$data, ".csv.gz"))), colClasses = setNames(
    rep("character", length(m$factors)), m$factors))
  for (f in m$factors) d[[f]] <- factor(d[[f]])
  fit <- lmer(as.formula(m$formula), d, REML = TRUE)
  vc <- as.data.frame(VarCorr(fit))
  list(formula = m$formula, nobs = nobs(fit), fixef = as.list(fixef(fit)),
       se = as.list(setNames(sqrt(diag(as.matrix(vcov(fit)))), names(fixef(fit)))),
       sd = as.list(setNames(vc$sdcor, ifelse(is.na(vc$var1), vc$grp, paste(vc$grp, vc$var1, sep = ":")))))
})
out$lme4_version <- as.character(packageVersion("lme4"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/panels_reference.json")
