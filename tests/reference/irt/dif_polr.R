# Reference for psychometrics.irt.dif (ordinal logistic regression DIF): MASS::polr on bfi_agree.
# Matching variable: t = standardised sum score of A1..A5 (stored in the output); group = gender.
# Run from the repository root:  Rscript tests/reference/irt/dif_polr.R
suppressPackageStartupMessages({library(MASS); library(jsonlite)})
d <- read.csv("tests/reference/irt/bfi_agree.csv")
items <- c("A1", "A2", "A3", "A4", "A5")
s <- rowSums(d[, items]); t <- as.numeric(scale(s)); g <- factor(d$gender)
out <- list(data = "bfi_agree.csv", matching = "t = (sum(A1..A5) - mean) / sd (R scale())", group = "gender",
            theta = t, R = R.version.string, MASS = as.character(packageVersion("MASS")), fits = list())
for (it in items) {
  y <- factor(d[[it]], ordered = TRUE)
  m1 <- polr(y ~ t, method = "logistic", Hess = TRUE, control = list(reltol = 1e-14, maxit = 1000))
  m2 <- polr(y ~ t + g, method = "logistic", Hess = TRUE, control = list(reltol = 1e-14, maxit = 1000))
  m3 <- polr(y ~ t * g, method = "logistic", Hess = TRUE, control = list(reltol = 1e-14, maxit = 1000))
  m0 <- polr(y ~ 1, method = "logistic", control = list(reltol = 1e-14, maxit = 1000))
  out$fits[[it]] <- list(loglik = c(as.numeric(logLik(m1)), as.numeric(logLik(m2)), as.numeric(logLik(m3))),
                         loglik0 = as.numeric(logLik(m0)),
                         coef1 = unname(coef(m1)), coef2 = unname(coef(m2)), coef3 = unname(coef(m3)),
                         zeta1 = unname(m1$zeta), se1 = unname(sqrt(diag(vcov(m1)))))
}
out$call <- "polr(factor(item, ordered = TRUE) ~ t [+ g [+ t:g]], method = 'logistic', reltol = 1e-14)"
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "tests/reference/irt/dif_polr_bfi_agree.json")
