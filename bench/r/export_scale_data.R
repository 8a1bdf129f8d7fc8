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
# Panels (units x years, crossed) for the partial route's mass-matrix bench (bench/bayes_mass_matrix.py)
data(Cigar, package = "plm")  # cigarette sales in 46 US states, 1963-1992
w(data.frame(lsales = round(log(Cigar$sales), 6), lprice = round(log(Cigar$price), 6), state = ch(Cigar$state),
             year = ch(Cigar$year)), "Cigar")
data(SumHes, package = "plm")  # Summers-Heston: GDP of 125 countries, 1960-1985
w(data.frame(lgdp = round(log(SumHes$gdp), 6), lpop = round(log(SumHes$pop), 6), country = ch(SumHes$country),
             year = ch(SumHes$year)), "SumHes")
data(PSID7682, package = "AER")  # wages of 595 heads of household, 1976-1982
w(data.frame(lwage = round(log(PSID7682$wage), 6), experience = PSID7682$experience,
             education = PSID7682$education, gender = ch(PSID7682$gender), id = ch(PSID7682$id),
             year = ch(PSID7682$year)), "PSID7682")
data(Males, package = "plm")  # wages of 545 young men, 1980-1987
w(data.frame(wage = Males$wage, exper = Males$exper, school = Males$school, nr = ch(Males$nr),
             year = ch(Males$year)), "Males")
data(Guns, package = "AER")  # violent crime in 51 states, 1977-1999
w(data.frame(lviolent = round(log(Guns$violent), 6), law = ch(Guns$law), lincome = round(log(Guns$income), 6),
             state = ch(Guns$state), year = ch(Guns$year)), "Guns")
data(Municipalities, package = "AER")  # budgets of 265 Swedish municipalities, 1979-1987
w(data.frame(expenditures = Municipalities$expenditures, revenues = Municipalities$revenues,
             grants = Municipalities$grants, municipality = ch(Municipalities$municipality),
             year = ch(Municipalities$year)), "Municipalities")
