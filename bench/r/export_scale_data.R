# Writes the R-package datasets added to the Bayesian-scale benchmark (bench/bayes_scale.py) to bench/data/*.csv.gz.
# Usage: Rscript bench/r/export_scale_data.R [outdir]   (default: bench/data)
# Only the columns the benchmark's formulas use; factors as their labels, numeric ids as text; rows with a
# missing value in those columns are left out here (the benchmark fits complete data, as R's na.omit would).
suppressMessages({library(ggplot2); library(plm); library(carData); library(modeldata); library(AER)})
a <- commandArgs(trailingOnly = TRUE)
out <- if (length(a)) a[1] else "bench/data"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
w <- function(x, name) {
  x <- x[stats::complete.cases(x), , drop = FALSE]
  con <- gzfile(file.path(out, paste0(name, ".csv.gz")), "w")
  write.csv(x, con, row.names = FALSE)
  close(con)
  cat(name, nrow(x), "rows\n")
}
ch <- function(x) as.character(x)

data(LaborSupply, package = "plm")  # 532 men over 10 years (PSID): hours by wage and family
w(data.frame(lnhr = LaborSupply$lnhr, lnwg = LaborSupply$lnwg, kids = LaborSupply$kids, age = LaborSupply$age,
             id = ch(LaborSupply$id), year = ch(LaborSupply$year)), "LaborSupply")
data(txhousing, package = "ggplot2")  # Texas home sales: 46 cities x 16 years x 12 months
w(data.frame(lmedian = round(log(txhousing$median), 6), month = txhousing$month, city = ch(txhousing$city),
             year = ch(txhousing$year)), "txhousing")
data(Vocab, package = "carData")  # 30,351 GSS vocabulary scores, 1974-2016
w(data.frame(vocabulary = Vocab$vocabulary, education = Vocab$education, sex = ch(Vocab$sex),
             year = ch(Vocab$year)), "Vocab")
data(ames, package = "modeldata")  # 2,930 house sales in Ames, Iowa
w(data.frame(lprice = round(log(ames$Sale_Price), 6), larea = round(log(ames$Gr_Liv_Area), 6),
             Neighborhood = ch(ames$Neighborhood), MS_SubClass = ch(ames$MS_SubClass)), "ames")
data(GSSvocab, package = "carData")  # 28,867 GSS vocabulary scores, 1978-2016, with age group
w(data.frame(vocab = GSSvocab$vocab, educ = GSSvocab$educ, year = ch(GSSvocab$year),
             ageGroup = ch(GSSvocab$ageGroup)), "GSSvocab")
data(CPS1988, package = "AER")  # 28,155 men's weekly wages, March 1988 Current Population Survey
w(data.frame(lwage = round(log(CPS1988$wage), 6), education = CPS1988$education,
             experience = CPS1988$experience, region = ch(CPS1988$region), smsa = ch(CPS1988$smsa),
             ethnicity = ch(CPS1988$ethnicity)), "CPS1988")
