# Issue 13 (a): reliability of continuous items with missing values from the EM (FIML saturated)
# covariance matrix. lavaan's EM estimate of the saturated model (lavInspect(fit, "sampstat.h1"),
# em.h1.tol 1e-12 so it is converged), rescaled by N/(N - 1) (N = rows with at least one observed
# item; the package's convention, so that complete data give the listwise numbers), is fed to the
# psych functions as a covariance matrix.
#   Rscript tests/reference/reliability/fiml_reliability_reference.R     (from the repository root)
suppressPackageStartupMessages({ library(lavaan); library(psych); library(jsonlite); library(digest) })
out <- "tests/reference/reliability"
files <- c(hs_mcar = "tests/reference/missing/hs_mcar.csv", hs_mar = "tests/reference/missing/hs_mar.csv",
           bfi = "psychometrics/datasets/bfi.csv")
sets <- list(
  hs_mcar_x1_x9 = list(file = "hs_mcar", items = paste0("x", 1:9), nf = 3),
  hs_mcar_x1_x3 = list(file = "hs_mcar", items = paste0("x", 1:3), nf = 1),
  hs_mar_x4_x9 = list(file = "hs_mar", items = paste0("x", 4:9), nf = 2),
  bfi_A = list(file = "bfi", items = paste0("A", 1:5), nf = 1, reverse = "A1"),
  bfi_N = list(file = "bfi", items = paste0("N", 1:5), nf = 1))
h1_cov <- function(x) {
  fit <- lavCor(x, missing = "ml", output = "fit", em.h1.tol = 1e-12, em.h1.iter.max = 100000L)
  h1 <- lavInspect(fit, "sampstat.h1")
  list(cov = h1$cov, mean = h1$mean, n = lavInspect(fit, "nobs"))
}
res <- list()
for (nm in names(sets)) {
  s <- sets[[nm]]
  d <- read.csv(files[[s$file]])[, s$items]
  for (r in s$reverse) d[[r]] <- 7 - d[[r]]                       # bfi: 1..6 Likert, reverse-keyed
  d <- d[rowSums(!is.na(d)) > 0, , drop = FALSE]
  h <- h1_cov(d)
  N <- h$n
  S <- unclass(h$cov) * N / (N - 1)
  a <- suppressWarnings(psych::alpha(S, n.obs = N, warnings = FALSE))
  R <- cov2cor(S)   # omega and guttman treat a non-correlation square matrix as raw data: give them R
  om <- suppressWarnings(suppressMessages(psych::omega(R, nfactors = s$nf, n.obs = N, plot = FALSE)))
  g <- suppressWarnings(psych::guttman(R))
  res[[nm]] <- list(items = s$items, reverse = s$reverse, n = N, n_rows_file = nrow(read.csv(files[[s$file]])),
                    em_cov = unname(S), em_mean = unname(as.numeric(h$mean)),
                    alpha = list(raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha,
                                 G6 = a$total[["G6(smc)"]], average_r = a$total$average_r,
                                 alpha_drop = a$alpha.drop$raw_alpha),
                    omega = list(nfactors = s$nf, omega_tot = om$omega.tot, omega_h = om$omega_h),
                    guttman = list(lambda2 = g$lambda.2, lambda6 = g$lambda.6))
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, matrix = "rowmajor", pretty = TRUE),
           file.path(out, "fiml_reliability.json"))
prov <- list(R = R.version.string,
             packages = list(lavaan = as.character(packageVersion("lavaan")), psych = as.character(packageVersion("psych")),
                             jsonlite = as.character(packageVersion("jsonlite"))),
             script = "tests/reference/reliability/fiml_reliability_reference.R",
             calls = c('lavInspect(lavCor(x, missing = "ml", output = "fit", em.h1.tol = 1e-12, em.h1.iter.max = 1e5), "sampstat.h1")',
                       "S = h1$cov * N / (N - 1)", "psych::alpha(S, n.obs = N)", "psych::omega(cov2cor(S), nfactors = nf, n.obs = N)",
                       "psych::guttman(cov2cor(S))"),
             data_sha256 = lapply(files, function(p) digest(file = p, algo = "sha256")))
writeLines(toJSON(prov, auto_unbox = TRUE, pretty = TRUE), file.path(out, "fiml_reliability_provenance.json"))
