# make_rformat_reference.R -- produces rformat_reference.json: R's own output of the number-formatting
# functions that hierlm.services.rformat ports (format(x, digits, nsmall), round, signif, zapsmall,
# format.pval, formatC(digits =), quantile(type = 7)), on random vectors built to hit the hard cases:
# magnitudes from 1e-8 to 1e8, fixed vs scientific choice, ties at the rounding digit (x.5 / 10^k),
# values like 9.995 * 10^k that widen when rounded, missing values, and a spread of digits.
# R is only used to make this committed file.
#
# Run:  cd /work/main/tests/reference && Rscript make_rformat_reference.R
# Made with R 4.2.2 (x86-64, 80-bit long double), options(digits = 7, scipen = 0, OutDec = ".").
#
# JSON: {_source, cases: [{x, digits, nsmall, rd, format, round, signif, zapsmall, pv, format_pval, formatC,
#   quantile}]}; numbers are written with sprintf("%.17g") strings (exact doubles; "NA" for NA).
suppressMessages(library(jsonlite))
set.seed(20241202)
num <- function(v) sprintf("%.17g", v)
one <- function(i) {
  n <- sample(1:5, 1)
  kind <- i %% 6
  x <- switch(kind + 1,
    rnorm(n) * 10^sample(-8:8, n, replace = TRUE),
    round(rnorm(n, 0, 100), sample(0:4, 1)),
    runif(n)^3,
    (sample(0:1999, n, replace = TRUE) + 0.5) / 10^sample(0:4, n, replace = TRUE),
    { v <- rnorm(n) * 10^sample(-3:3, 1); v[runif(n) < 0.3] <- NA; v },
    9.995 * 10^sample(-5:5, n, replace = TRUE) + rnorm(n, 0, 1e-3) * 10^sample(-5:5, n, replace = TRUE))
  digits <- sample(1:9, 1)
  nsmall <- if (i %% 5 == 0) sample(0:3, 1) else 0L
  rd <- sample(-2:5, 1)
  pv <- abs(x) / (1 + abs(x)) / 10^(rd + 2)
  list(x = num(x), digits = digits, nsmall = nsmall, rd = rd,
       format = I(format(x, digits = digits, nsmall = nsmall)),
       round = num(round(x, rd)), signif = num(signif(x, digits)), zapsmall = num(zapsmall(x, digits)),
       pv = num(pv), format_pval = I(format.pval(pv, digits = digits)),
       formatC = formatC(x[1], digits = digits),
       quantile = if (all(is.na(x))) NULL else num(unname(quantile(x, na.rm = TRUE))))
}
cases <- lapply(1:400, one)
write_json(list(`_source` = paste("make_rformat_reference.R:", R.version.string), cases = cases),
           "rformat_reference.json", auto_unbox = TRUE, null = "null", na = "string")
cat("wrote rformat_reference.json\n")
