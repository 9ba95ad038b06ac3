# Reference values for psychometrics.scoring.
#   Rscript tests/reference/scoring/make_reference.R      (run from the repository root)
#
# 1. psych::scoreItems(keys, bfi, impute = "none") -- mean scale scores with missing data
#    (no imputation, no prorating threshold), psych's own bfi example keys.
# 2. lavaan::lavPredict(fit, method = "regression" / "Bartlett") on Holzinger-Swineford
#    (three-factor CFA, meanstructure = TRUE), complete data and with missing values
#    (missing = "ml", per-pattern factor scores); the estimated model matrices are stored
#    so that the Python factor-score functions can be checked without a CFA engine.
suppressPackageStartupMessages({library(psych); library(lavaan); library(jsonlite)})
out <- "tests/reference/scoring"
# write numbers as the exact doubles (17 significant digits), missing as empty field
write_exact <- function(df, file) {
  df[] <- lapply(df, function(v) if (is.numeric(v)) ifelse(is.na(v), "", sprintf("%.17g", v)) else v)
  write.csv(df, file, row.names = FALSE, quote = FALSE)
}
sha256 <- function(f) {
  strsplit(system(paste("sha256sum", shQuote(f)), intern = TRUE), " ")[[1]][1]
}

# ---------------------------------------------------------------- 1. bfi scoreItems
bfi_file <- "psychometrics/datasets/bfi.csv"
bfi <- read.csv(bfi_file)
items <- bfi[, 2:26]
keys.list <- list(agree = c("-A1", "A2", "A3", "A4", "A5"),
                  conscientious = c("C1", "C2", "C3", "-C4", "-C5"),
                  extraversion = c("-E1", "-E2", "E3", "E4", "E5"),
                  neuroticism = c("N1", "N2", "N3", "N4", "N5"),
                  openness = c("O1", "-O2", "O3", "O4", "-O5"))
# psych reverses with max + min - x where min/max default to the observed extremes of
# ALL selected items; we pass the response range 1..6 explicitly (identical here because
# every bfi item uses the full 1..6 range, checked below).
sc <- scoreItems(keys.list, items, impute = "none", min = 1, max = 6)
sc_default <- scoreItems(keys.list, items, impute = "none")
stopifnot(isTRUE(all.equal(sc$scores, sc_default$scores)))
scores <- data.frame(id = bfi$id, sc$scores)
# 17 significant digits so that the stored values are the doubles R computed
write_exact(scores, file.path(out, "bfi_scoreitems_none.csv"))
alpha_bfi <- as.list(as.data.frame(sc$alpha))
# psych's default reverse keying uses the OBSERVED min and max of all scored items: in the
# first 200 rows with every 1 recoded to 2 (no one used category 1), min = 2, so psych
# reverses as 8 - x where the response range 1..6 gives 7 - x.
narrow <- items[1:200, ]
narrow[!is.na(narrow) & narrow == 1] <- 2
sc_narrow <- scoreItems(keys.list, narrow, impute = "none")
write_exact(data.frame(id = bfi$id[1:200], sc_narrow$scores),
            file.path(out, "bfi_narrow_scoreitems_default_minmax.csv"))

# ------------------------------------------------------- 2. lavPredict, Holzinger-Swineford
hs_file <- "psychometrics/datasets/holzinger_swineford.csv"
hs <- read.csv(hs_file)
model <- "visual =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed =~ x7 + x8 + x9"
ov <- paste0("x", 1:9)
export_fit <- function(fit, data, stem) {
  est <- lavInspect(fit, "est")
  mats <- list(lambda = est$lambda, theta = est$theta, psi = est$psi,
               nu = est$nu[, 1], alpha = est$alpha[, 1],
               ov = rownames(est$lambda), lv = colnames(est$lambda))
  mats$lambda <- lapply(seq_len(nrow(est$lambda)), function(i) unname(est$lambda[i, ]))
  mats$theta <- lapply(seq_len(nrow(est$theta)), function(i) unname(est$theta[i, ]))
  mats$psi <- lapply(seq_len(nrow(est$psi)), function(i) unname(est$psi[i, ]))
  mats$nu <- unname(est$nu[, 1]); mats$alpha <- unname(est$alpha[, 1])
  write_json(mats, file.path(out, paste0(stem, "_matrices.json")), digits = NA,
             auto_unbox = TRUE, pretty = TRUE)
  for (m in c("regression", "Bartlett")) {
    fs <- lavPredict(fit, method = m)
    fs <- data.frame(row = seq_len(nrow(data)), fs)
    write_exact(fs, file.path(out, paste0(stem, "_lavpredict_", tolower(m), ".csv")))
  }
}
fit <- cfa(model, data = hs, meanstructure = TRUE)
export_fit(fit, hs, "hs")

# Missing values: a fixed pattern (every 7th row misses x1, every 11th misses x5 and x6,
# every 13th misses x7..x9 apart from x8); stored beside this script.
hs_miss <- hs[, ov]
n <- nrow(hs_miss)
hs_miss$x1[seq(1, n, by = 7)] <- NA
hs_miss[seq(2, n, by = 11), c("x5", "x6")] <- NA
hs_miss[seq(3, n, by = 13), c("x7", "x9")] <- NA
write_exact(hs_miss, file.path(out, "hs_missing.csv"))
hs_miss <- read.csv(file.path(out, "hs_missing.csv"))
fit_miss <- cfa(model, data = hs_miss, meanstructure = TRUE, missing = "ml")
export_fit(fit_miss, hs_miss, "hs_missing")

# Parameter tables (as CFAResult.estimates holds them: lhs, op, rhs, group, est) for the
# adapter from a fitted CFA, including a model without mean structure and a second-order
# model (its Beta matrix: factor scores of g).
export_pe <- function(fit, stem) {
  pe <- parameterEstimates(fit)[, c("lhs", "op", "rhs", "est")]
  pe$group <- "all"
  write_exact(pe[, c("lhs", "op", "rhs", "group", "est")], file.path(out, paste0(stem, "_estimates.csv")))
}
export_pe(fit, "hs")
fit_nomean <- cfa(model, data = hs)
export_pe(fit_nomean, "hs_nomean")
for (m in c("regression", "Bartlett")) {
  fs <- data.frame(row = seq_len(nrow(hs)), lavPredict(fit_nomean, method = m))
  write_exact(fs, file.path(out, paste0("hs_nomean_lavpredict_", tolower(m), ".csv")))
}
model2 <- paste(model, "\n g =~ visual + textual + speed")
fit2 <- cfa(model2, data = hs, meanstructure = TRUE)
export_pe(fit2, "hs_second_order")
for (m in c("regression", "Bartlett")) {
  fs <- data.frame(row = seq_len(nrow(hs)), lavPredict(fit2, method = m))
  write_exact(fs, file.path(out, paste0("hs_second_order_lavpredict_", tolower(m), ".csv")))
}

prov <- list(
  R = R.version.string,
  packages = list(psych = as.character(packageVersion("psych")),
                  lavaan = as.character(packageVersion("lavaan")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  calls = c(
    "psych::scoreItems(keys.list, bfi[, 2:26], impute = 'none', min = 1, max = 6)  # == default min/max",
    "psych::scoreItems(keys.list, narrow, impute = 'none')  # default min/max; narrow <- bfi[1:200, 2:26] with 1 recoded to 2",
    "keys.list = list(agree = c('-A1','A2','A3','A4','A5'), conscientious = c('C1','C2','C3','-C4','-C5'), extraversion = c('-E1','-E2','E3','E4','E5'), neuroticism = c('N1','N2','N3','N4','N5'), openness = c('O1','-O2','O3','O4','-O5'))",
    "fit <- lavaan::cfa('visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9', data = hs, meanstructure = TRUE)",
    "lavaan::lavPredict(fit, method = 'regression'); lavaan::lavPredict(fit, method = 'Bartlett')",
    "same with data = hs_missing.csv, missing = 'ml'",
    "fit_nomean <- lavaan::cfa(<same model>, data = hs)  # no mean structure: lavPredict centres at the sample means",
    "fit2 <- lavaan::cfa(<same model> + 'g =~ visual + textual + speed', data = hs, meanstructure = TRUE)",
    "parameterEstimates(fit)[, c('lhs', 'op', 'rhs', 'est')] for fit, fit_nomean, fit2"
  ),
  outputs = list(
    bfi_scoreitems_none.csv = "id + mean scale scores (NaN/empty when no item answered)",
    bfi_narrow_scoreitems_default_minmax.csv = "scoreItems(keys.list, narrow, impute = 'none') with psych's default min/max (observed 2..6); narrow = first 200 rows, 1 recoded to 2",
    hs_matrices.json = "lavInspect(fit, 'est'): lambda, theta, psi, nu, alpha",
    hs_lavpredict_regression.csv = "lavPredict regression factor scores",
    hs_lavpredict_bartlett.csv = "lavPredict Bartlett factor scores",
    hs_missing.csv = "x1..x9 of Holzinger-Swineford with a fixed missingness pattern",
    hs_missing_matrices.json = "as hs_matrices.json for the missing = 'ml' fit",
    "*_estimates.csv" = "parameterEstimates: lhs, op, rhs, group ('all'), est",
    "hs_nomean_lavpredict_*.csv" = "lavPredict of the fit without mean structure",
    "hs_second_order_lavpredict_*.csv" = "lavPredict of the second-order model (Bartlett: lavaan gives g its mean 0)"
  ),
  scoreitems_alpha = alpha_bfi,
  sha256 = list(bfi.csv = sha256(bfi_file), holzinger_swineford.csv = sha256(hs_file),
                hs_missing.csv = sha256(file.path(out, "hs_missing.csv")))
)
write_json(prov, file.path(out, "provenance.json"), auto_unbox = TRUE, pretty = TRUE, digits = NA)
