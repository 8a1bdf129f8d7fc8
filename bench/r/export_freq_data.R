# Writes the R-package datasets of the frequentist speed benchmark (bench/freq_speed.py) to bench/data/*.csv.
# Usage: Rscript bench/r/export_freq_data.R [outdir]   (default: bench/data next to this script's folder)
# Factors are written as their labels; numeric-looking factor codes (ids) are written as text.
suppressMessages({library(mlmRev); library(glmmTMB)})
a <- commandArgs(trailingOnly = TRUE)
out <- if (length(a)) a[1] else "bench/data"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
w <- function(x, name) write.csv(x, file.path(out, paste0(name, ".csv")), row.names = FALSE)
ch <- function(x) as.character(x)

data(egsingle, package = "mlmRev")  # 7230 test scores, 1721 children in 60 schools
w(data.frame(math = egsingle$math, year = egsingle$year, childid = ch(egsingle$childid),
             schoolid = ch(egsingle$schoolid), female = ch(egsingle$female)), "egsingle")
data(Oxboys, package = "mlmRev")  # heights of 26 boys on 9 occasions
w(data.frame(height = Oxboys$height, age = Oxboys$age, Subject = ch(Oxboys$Subject)), "Oxboys")
data(Contraception, package = "mlmRev")  # 1934 Bangladeshi women in 60 districts
w(data.frame(use = as.integer(Contraception$use == "Y"), age = Contraception$age, urban = ch(Contraception$urban),
             livch = ch(Contraception$livch), district = ch(Contraception$district)), "Contraception")
data(Exam, package = "mlmRev")  # 4059 London pupils in 65 schools
w(data.frame(normexam = Exam$normexam, standLRT = Exam$standLRT, sex = ch(Exam$sex), school = ch(Exam$school)), "Exam")
data(Mmmec, package = "mlmRev")  # melanoma deaths in 354 counties of 78 regions
w(data.frame(deaths = Mmmec$deaths, expected = Mmmec$expected, uvb = Mmmec$uvb, region = ch(Mmmec$region),
             nation = ch(Mmmec$nation)), "Mmmec")
data(Salamanders, package = "glmmTMB")  # 644 salamander counts at 23 sites
w(data.frame(count = Salamanders$count, spp = ch(Salamanders$spp), mined = ch(Salamanders$mined),
             cover = Salamanders$cover, site = ch(Salamanders$site)), "Salamanders")
data(Owls, package = "glmmTMB")  # 599 owl-chick negotiation counts in 27 nests
w(data.frame(SiblingNegotiation = Owls$SiblingNegotiation, FoodTreatment = ch(Owls$FoodTreatment),
             SexParent = ch(Owls$SexParent), logBroodSize = Owls$logBroodSize, Nest = ch(Owls$Nest)), "Owls")
