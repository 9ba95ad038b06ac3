# Reference values for psychometrics.efa (KMO, Bartlett, MAP, parallel analysis, fa/principal).
#   Rscript tests/reference/efa/efa_reference.R      (run from the repository root)
# Inputs: the shipped datasets psychometrics/datasets/holzinger_swineford.csv (x1-x9, complete)
# and psychometrics/datasets/bfi.csv (25 items A1-O5 with missing values; correlations are
# pairwise-complete as psych uses by default, n.obs = number of rows = 2800).
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
out <- "tests/reference/efa"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")[, paste0("x", 1:9)]
bfi <- read.csv("psychometrics/datasets/bfi.csv")
bfi <- bfi[, c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))]
datasets <- list(hs = list(x = hs, nf = 3), bfi = list(x = bfi, nf = 5))
rotations <- c("none", "oblimin", "promax", "geominQ", "varimax", "quartimax")
methods <- c("minres", "ml", "pa", "principal")
mat <- function(m) { m <- unclass(as.matrix(m)); list(rownames = rownames(m), colnames = colnames(m), data = unname(m)) }
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
res <- list()
for (dn in names(datasets)) {
  x <- datasets[[dn]]$x; nf <- datasets[[dn]]$nf
  d <- list()
  R <- cor(x, use = "pairwise")
  d$cor <- mat(R)
  d$n_rows <- nrow(x)
  k <- KMO(x)
  d$kmo <- list(overall = k$MSA, per_item = num(k$MSAi))
  b <- suppressMessages(cortest.bartlett(x))
  d$bartlett <- list(chisq = b$chisq, df = b$df, pvalue = b$p.value)
  v <- VSS(x, n = 8, plot = FALSE)
  d$map <- num(v$map)
  d$smc <- num(smc(R))
  fits <- list()
  for (m in methods) for (rot in rotations) {
    if (m == "principal") {
      f <- principal(x, nfactors = nf, rotate = rot)
    } else {
      f <- fa(x, nfactors = nf, fm = m, rotate = rot)
    }
    e <- list(call = if (m == "principal") sprintf("principal(x, nfactors = %d, rotate = '%s')", nf, rot)
              else sprintf("fa(x, nfactors = %d, fm = '%s', rotate = '%s')", nf, m, rot),
              loadings = mat(f$loadings), phi = if (is.null(f$Phi)) NULL else mat(f$Phi),
              structure = if (is.null(f$Structure)) NULL else mat(f$Structure),
              communality = num(f$communality), uniquenesses = num(f$uniquenesses),
              vaccounted = mat(f$Vaccounted), values = num(f$values), e_values = num(f$e.values),
              objective = f$objective, statistic = num(f$STATISTIC), dof = f$dof,
              rmsea = num(f$RMSEA), tli = num(f$TLI), bic = num(f$BIC), null_chisq = num(f$null.chisq),
              null_dof = num(f$null.dof), pval = num(f$PVAL))
    fits[[paste(m, rot, sep = "_")]] <- e
  }
  # one-factor fits (no rotation) used by fa.parallel's factor eigenvalues
  f1 <- fa(x, nfactors = 1, fm = "minres", rotate = "none", warnings = FALSE)
  fits[["minres_1factor"]] <- list(loadings = mat(f1$loadings), values = num(f1$values))
  d$fits <- fits
  set.seed(20261126)
  n.iter <- 500
  p <- fa.parallel(x, fa = "both", n.iter = n.iter, plot = FALSE, quant = 0.95)
  nv <- ncol(x)
  vals <- p$values   # columns: C (resampled pc), F (resampled fa), CSim, Fsim
  q95 <- apply(vals, 2, quantile, 0.95)
  d$parallel <- list(call = sprintf("set.seed(20261126); fa.parallel(x, fa = 'both', n.iter = %d, plot = FALSE)", n.iter),
                     n_iter = n.iter, fa_values = num(p$fa.values), pc_values = num(p$pc.values),
                     nfact = p$nfact, ncomp = p$ncomp,
                     resampled_pc_mean = num(colMeans(vals[, 1:nv])), resampled_fa_mean = num(colMeans(vals[, nv + 1:nv])),
                     sim_pc_mean = num(colMeans(vals[, 2 * nv + 1:nv])), sim_fa_mean = num(colMeans(vals[, 3 * nv + 1:nv])),
                     resampled_pc_sd = num(apply(vals[, 1:nv], 2, sd)), resampled_fa_sd = num(apply(vals[, nv + 1:nv], 2, sd)),
                     sim_pc_sd = num(apply(vals[, 2 * nv + 1:nv], 2, sd)), sim_fa_sd = num(apply(vals[, 3 * nv + 1:nv], 2, sd)),
                     sim_pc_q95 = num(q95[2 * nv + 1:nv]), sim_fa_q95 = num(q95[3 * nv + 1:nv]))
  res[[dn]] <- d
}
# cor.smooth on a non-positive-definite "correlation" matrix
npd <- matrix(c(1, .9, .9, .9, 1, -.2, .9, -.2, 1), 3, 3, dimnames = list(c("a", "b", "c"), c("a", "b", "c")))
res$cor_smooth <- list(input = mat(npd), smoothed = mat(suppressWarnings(cor.smooth(npd))))
write_json(res, file.path(out, "efa_reference.json"), digits = NA, auto_unbox = TRUE, null = "null", na = "null")
files <- c("psychometrics/datasets/holzinger_swineford.csv", "psychometrics/datasets/bfi.csv")
sha <- sapply(files, function(f) system(sprintf("sha256sum %s | cut -d' ' -f1", f), intern = TRUE))
prov <- list(R = R.version.string,
             packages = list(psych = as.character(packageVersion("psych")),
                             GPArotation = as.character(packageVersion("GPArotation")),
                             jsonlite = as.character(packageVersion("jsonlite"))),
             script = "tests/reference/efa/efa_reference.R",
             calls = c("KMO(x)", "cortest.bartlett(x)", "VSS(x, n = 8, plot = FALSE)$map", "smc(cor(x, use = 'pairwise'))",
                       "fa(x, nfactors, fm = m, rotate = r) for m in minres, ml, pa and r in none, oblimin, promax, geominQ, varimax, quartimax",
                       "principal(x, nfactors, rotate = r) for the same rotations",
                       "fa(x, nfactors = 1, fm = 'minres', rotate = 'none')",
                       "set.seed(20261126); fa.parallel(x, fa = 'both', n.iter = 500, plot = FALSE)",
                       "cor.smooth(matrix(c(1,.9,.9,.9,1,-.2,.9,-.2,1),3))"),
             data = list(hs = "x1-x9 of holzinger_swineford.csv, 301 complete rows, 3 factors",
                         bfi = "A1-O5 of bfi.csv, 2800 rows with missing values, pairwise-complete correlations, n.obs = 2800, 5 factors"),
             sha256 = as.list(setNames(unname(sha), basename(files))))
write_json(prov, file.path(out, "provenance.json"), auto_unbox = TRUE, pretty = TRUE)
