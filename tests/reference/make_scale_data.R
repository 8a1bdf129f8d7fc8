# Writes the real datasets of bench/bayes_scale.py (the Bayesian marginal route at scale) to data/*.csv.
# R is only used to export these published datasets; it is never a runtime dependency of hierlm.
# Run from this folder:  Rscript make_scale_data.R   (a few seconds; R 4.2, mlmRev 1.0-8, nlme 3.1)
#
#   Chem97.csv    mlmRev::Chem97 (31,022 A-level chemistry scores; 2,410 schools nested in 131 LEAs),
#                 columns lea, school, score, gender, age, gcsecnt (student id dropped)
#   egsingle.csv  mlmRev::egsingle (7,230 maths scores of 1,721 children in 60 schools, years -2.5..2.5),
#                 columns schoolid, childid, year, math, female, black, hispanic
#   ScotsSec.csv  mlmRev::ScotsSec (3,435 pupils; 148 primary schools crossed with 19 secondary schools),
#                 columns attain, verbal, sex, social, primary, second
#   Pixel.csv     nlme::Pixel (102 CT pixel intensities of 10 dogs x 2 sides over days)
#   star.csv      mlmRev::star, rows with a maths score (24,613 of 26,796: Tennessee STAR, 1,387 teachers
#                 nested in 80 schools, 11,598 pupils), columns id, sch, tch, gr, cltype, math
# Factor levels are written as their labels; the Python loader orders numeric-looking labels numerically.
suppressPackageStartupMessages({library(mlmRev); library(nlme)})
out <- "data"
w <- function(df, name) write.csv(df, file.path(out, paste0(name, ".csv")), row.names = FALSE)
ch <- mlmRev::Chem97
w(data.frame(lea = ch$lea, school = ch$school, score = ch$score, gender = ch$gender, age = ch$age,
             gcsecnt = round(ch$gcsecnt, 6)), "Chem97")
eg <- mlmRev::egsingle
w(data.frame(schoolid = eg$schoolid, childid = eg$childid, year = eg$year, math = eg$math,
             female = eg$female, black = eg$black, hispanic = eg$hispanic), "egsingle")
sc <- mlmRev::ScotsSec
w(data.frame(attain = sc$attain, verbal = sc$verbal, sex = sc$sex, social = sc$social,
             primary = sc$primary, second = sc$second), "ScotsSec")
px <- as.data.frame(nlme::Pixel)
w(data.frame(Dog = as.character(px$Dog), Side = as.character(px$Side), day = px$day, pixel = px$pixel), "Pixel")
st <- mlmRev::star[!is.na(mlmRev::star$math), ]
w(data.frame(id = st$id, sch = st$sch, tch = st$tch, gr = as.character(st$gr), cltype = st$cltype,
             math = st$math), "star")
cat("wrote Chem97, egsingle, ScotsSec, Pixel, star to", out, "\n")
