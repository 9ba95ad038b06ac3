# Reference values for psychometrics.ordinal (tests/test_ordinal.py).
# Run from the repository root:
#   Rscript tests/reference/ordinal/ordinal_reference.R
# Inputs: psychometrics/datasets/{holzinger_swineford,bfi}.csv and the small CSVs
# written/committed beside this script (see provenance.json).
suppressPackageStartupMessages({
  library(lavaan); library(psych); library(semTools); library(jsonlite)
})
out_dir <- "tests/reference/ordinal"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
bfi <- read.csv("psychometrics/datasets/bfi.csv")

# Holzinger-Swineford cut into 3 categories, as in lavaan's documentation.
hs_ord <- as.data.frame(lapply(hs[, paste0("x", 1:9)], cut, 3, labels = FALSE))
write.csv(hs_ord, file.path(out_dir, "hs_ord.csv"), row.names = FALSE)

items25 <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
b25 <- bfi[, items25]
b10 <- bfi[, items25[1:10]]

cor_th <- function(d, ordered, ...) {
  fit <- lavCor(d, ordered = ordered, output = "fit", ...)
  list(cor = unclass(lavInspect(fit, "sampstat")$cov),
       th = as.numeric(lavInspect(fit, "sampstat")$th),
       th_names = names(lavInspect(fit, "sampstat")$th),
       nobs = lavInspect(fit, "nobs"))
}
gamma_of <- function(d, ordered, ...) {
  fit <- lavCor(d, ordered = ordered, output = "fit", se = "robust.sem", ...)
  G <- lavInspect(fit, "gamma")
  list(names = rownames(G), gamma = unclass(G), wls_vd = as.numeric(diag(lavInspect(fit, "wls.v"))),
       nobs = lavInspect(fit, "nobs"))
}

out <- list()
out$hs_ord <- cor_th(hs_ord, names(hs_ord))
out$hs_ord$gamma <- gamma_of(hs_ord, names(hs_ord))
out$bfi25_listwise <- cor_th(b25, items25)
out$bfi25_pairwise <- cor_th(b25, items25, missing = "pairwise")
out$bfi10_listwise <- cor_th(b10, items25[1:10])
out$bfi10_listwise$gamma <- gamma_of(b10, items25[1:10])
out$bfi10_pairwise_gamma <- tryCatch(gamma_of(b10, items25[1:10], missing = "pairwise"),
                                     error = function(e) conditionMessage(e))

# Mixed ordinal / continuous (polyserial and Pearson pairs).
hs_mix <- cbind(hs_ord[, paste0("x", 1:5)], hs[, paste0("x", 6:9)])
out$hs_mix <- cor_th(hs_mix, paste0("x", 1:5))

# Zero cells: a 2 x 2 table with one empty cell, an empty middle category, larger tables.
zc <- read.csv(file.path(out_dir, "zero_cells.csv"))
out$zero_cells <- cor_th(zc, names(zc))
out$zero_cells$gamma <- gamma_of(zc, names(zc))

# Ordinal alpha (Zumbo, Gadermann & Zeisser 2007): alpha of the polychoric matrix.
R_hs <- out$hs_ord$cor
out$ordinal_alpha <- list(
  hs_ord_lavcor = psych::alpha(R_hs, warnings = FALSE)$total$raw_alpha,
  hs_ord_psych_polychoric = psych::alpha(psych::polychoric(hs_ord)$rho, warnings = FALSE)$total$raw_alpha,
  bfi10_lavcor = psych::alpha(out$bfi10_listwise$cor, warnings = FALSE)$total$raw_alpha)
out$psych_polychoric_hs_ord <- unclass(psych::polychoric(hs_ord)$rho)   # comparison only

# Categorical omega (Green & Yang 2009) as semTools::compRelSEM computes it.
model <- "visual =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed =~ x7 + x8 + x9"
fit <- cfa(model, data = hs_ord, ordered = names(hs_ord), estimator = "WLSMV")
est <- lavInspect(fit, "est")
out$omega_cat <- list(
  lambda = unclass(est$lambda), psi = unclass(est$psi),
  tau = as.numeric(est$tau), tau_names = rownames(est$tau),
  scales = as.numeric(est$delta[, "scales"]),
  sampstat_cov = unclass(lavInspect(fit, "sampstat")$cov),
  fitted_cov = unclass(lavInspect(fit, "fitted")$cov),
  omega_obs = as.list(compRelSEM(fit)),
  omega_fitted = as.list(compRelSEM(fit, obs.var = FALSE)))
# (compRelSEM(return.total = TRUE) fails for categorical models in semTools 0.5-6.)

# EFA on the polychoric matrix (two-step): psych::fa on lavCor's matrix.
fa3 <- psych::fa(R_hs, nfactors = 3, n.obs = nrow(hs_ord), fm = "minres", rotate = "oblimin")
out$efa_hs_ord <- list(loadings = unclass(fa3$loadings), communality = as.numeric(fa3$communality),
                       phi = unclass(fa3$Phi))

write(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
      file.path(out_dir, "ordinal_reference.json"))

sha <- function(f) digest_sha(f)
digest_sha <- function(f) system(paste("sha256sum", f, "| cut -d' ' -f1"), intern = TRUE)
prov <- list(
  R = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")), psych = as.character(packageVersion("psych")),
                  semTools = as.character(packageVersion("semTools")), mnormt = as.character(packageVersion("mnormt")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  calls = c("lavCor(d, ordered = ordered, output = 'fit'[, missing = 'pairwise']); lavInspect(fit, 'sampstat')",
            "lavCor(d, ordered = ordered, output = 'fit', se = 'robust.sem'); lavInspect(fit, 'gamma'); diag(lavInspect(fit, 'wls.v'))",
            "psych::alpha(R)$total$raw_alpha with R = lavCor matrix (ordinal alpha)",
            "cfa(3-factor HS model, data = hs_ord, ordered = names(hs_ord), estimator = 'WLSMV'); semTools::compRelSEM(fit[, obs.var = FALSE][, return.total = TRUE])",
            "psych::fa(R, nfactors = 3, n.obs = 301, fm = 'minres', rotate = 'oblimin')"),
  data = list(hs_ord = "hs_ord.csv = lapply(holzinger_swineford.csv[x1..x9], cut, 3, labels = FALSE)",
              bfi = "bfi.csv A1..O5 (raw, not reverse-keyed); bfi10 = A1..C5",
              hs_mix = "hs_ord x1..x5 (ordinal) + holzinger_swineford x6..x9 (continuous)",
              zero_cells = "zero_cells.csv (hand-made, committed here)"),
  sha256 = list(holzinger_swineford.csv = sha("psychometrics/datasets/holzinger_swineford.csv"),
                bfi.csv = sha("psychometrics/datasets/bfi.csv"),
                hs_ord.csv = sha(file.path(out_dir, "hs_ord.csv")),
                zero_cells.csv = sha(file.path(out_dir, "zero_cells.csv"))))
write(toJSON(prov, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "provenance.json"))
