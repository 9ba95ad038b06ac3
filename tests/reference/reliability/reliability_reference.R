# Reference values for psychometrics.reliability (tests/test_reliability.py).
# Run from the repository root:
#   Rscript tests/reference/reliability/reliability_reference.R
# Inputs are the datasets shipped in psychometrics/datasets/ (see provenance.json).
suppressPackageStartupMessages({
  library(psych); library(GPArotation); library(lavaan); library(semTools); library(jsonlite)
})
out_dir <- "tests/reference/reliability"
set.seed(20261126)  # psych::splitHalf samples 10000 splits for the 25 bfi items
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
bfi <- read.csv("psychometrics/datasets/bfi.csv")
items25 <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
rev_keyed <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
b <- bfi[, items25]
b[rev_keyed] <- 7 - b[rev_keyed]          # reverse-key on the 1-6 scale

sets <- list(
  hs3 = hs[, paste0("x", 1:3)],
  hs9 = hs[, paste0("x", 1:9)],
  bfiA = b[, paste0("A", 1:5)],
  bfiAC = b[, c(paste0("A", 1:5), paste0("C", 1:5))],
  bfi25 = b
)
# Number of factors for psych::omega per set (1 = unidimensional).
nfac <- list(hs3 = 1, hs9 = 3, bfiA = 1, bfiAC = 2, bfi25 = 5)

# All distinct splits of n items into floor(n/2) and the rest (for splits = "all").
all_splits <- function(r) {
  n <- ncol(r); m <- floor(n / 2)
  cmb <- combn(n, m)
  if (2 * m == n) cmb <- cmb[, cmb[1, ] == 1, drop = FALSE]   # each partition once
  rab <- apply(cmb, 2, function(o) {
    A <- rep(0, n); A[o] <- 1; B <- 1 - A
    4 * drop(t(A) %*% r %*% B) / sum(r)
  })
  list(max = max(rab), min = min(rab), mean = mean(rab), count = length(rab))
}

one <- function(x, nf, use) {
  res <- list(n_rows = nrow(x), items = colnames(x))
  a <- suppressWarnings(psych::alpha(x, use = use, warnings = FALSE))
  res$alpha <- list(
    total = as.list(a$total),
    alpha_drop = list(items = rownames(a$alpha.drop), raw_alpha = a$alpha.drop$raw_alpha,
                      std_alpha = a$alpha.drop$std.alpha),
    r_drop = a$item.stats$r.drop,
    feldt = list(lower = a$feldt$lower.ci[[1]], upper = a$feldt$upper.ci[[1]]),
    feldt_90 = {f <- psych::alpha.ci(a$total$raw_alpha, nrow(x), ncol(x), p.val = 0.10);
                list(lower = f$lower.ci[[1]], upper = f$upper.ci[[1]])}
  )
  C <- cov(x, use = use); R <- cov2cor(C)
  res$cov <- unname(C)
  if (ncol(x) >= 3) {
    sh <- psych::splitHalf(x, raw = TRUE, check.keys = FALSE, use = use)
    res$splithalf <- list(maxrb = sh$maxrb, minrb = sh$minrb, meanr = sh$meanr, av_r = sh$av.r,
                          med_r = sh$med.r, alpha = sh$alpha, lambda2 = sh$lambda2,
                          lambda6 = sh$lambda6, ci = unname(sh$ci),
                          n_splits = length(sh$raw),
                          sampled = choose(ncol(x), floor(ncol(x) / 2)) / 2 > 10000)
    shc <- psych::splitHalf(x, covar = TRUE, check.keys = FALSE, use = use)
    res$splithalf_covar <- list(maxrb = shc$maxrb, minrb = shc$minrb, meanr = shc$meanr,
                                alpha = shc$alpha, lambda2 = shc$lambda2, lambda6 = shc$lambda6)
    if (ncol(x) <= 12) res$splits_all <- all_splits(R)
    g <- suppressWarnings(psych::guttman(x))
    res$guttman <- list(lambda1 = g$lambda.1, lambda2 = g$lambda.2, lambda3 = g$lambda.3,
                        lambda4 = g$lambda.4, lambda6 = g$lambda.6)
  }
  om <- suppressWarnings(suppressMessages(psych::omega(x, nfactors = nf, plot = FALSE)))
  sl <- om$schmid$sl
  res$omega <- list(nfactors = nf, omega_h = om$omega_h, omega_tot = om$omega.tot,
                    omega_lim = om$omega.lim, alpha = om$alpha, G6 = om$G6, ECV = om$ECV[[1]],
                    g = unname(sl[, 1]), h2 = unname(sl[, "h2"]), u2 = unname(sl[, "u2"]),
                    sl = unname(sl[, 1:(ncol(sl) - 3)]),
                    orthog = unname(unclass(om$schmid$orthog)),
                    oblique = unname(unclass(om$schmid$oblique)),
                    phi = unname(om$schmid$phi), gloading = unname(c(om$schmid$gloading)),
                    omega_group = list(total = om$omega.group$total,
                                       general = om$omega.group$general,
                                       group = om$omega.group$group))
  res
}

out <- list()
for (nm in names(sets)) {
  x <- sets[[nm]]
  out[[nm]] <- list(listwise = one(na.omit(x), nfac[[nm]], "everything"))
  if (anyNA(x)) out[[nm]]$pairwise <- one(x, nfac[[nm]], "pairwise")
}
# Extra omega runs: bfi 25 items with 3 factors; HS x1-x9 with 1 factor.
om3 <- suppressWarnings(suppressMessages(psych::omega(na.omit(b), nfactors = 3, plot = FALSE)))
out$bfi25$listwise$omega3 <- list(omega_h = om3$omega_h, omega_tot = om3$omega.tot,
                                  g = unname(om3$schmid$sl[, 1]), u2 = unname(om3$schmid$sl[, "u2"]))
om1 <- suppressWarnings(suppressMessages(psych::omega(hs[, paste0("x", 1:9)], nfactors = 1, plot = FALSE)))
out$hs9$listwise$omega1 <- list(omega_h = om1$omega_h, omega_tot = om1$omega.tot,
                                g = unname(om1$schmid$sl[, 1]))

# semTools::compRelSEM on a one-factor ML CFA (listwise data).
comp <- function(x) {
  x <- na.omit(x)
  model <- paste("f =~", paste(colnames(x), collapse = " + "))
  fit <- lavaan::cfa(model, data = x, std.lv = TRUE)
  est <- lavInspect(fit, "est")
  list(omega_obs = unname(semTools::compRelSEM(fit)[[1]]),
       omega_implied = unname(semTools::compRelSEM(fit, obs.var = FALSE)[[1]]),
       lambda = unname(est$lambda[, 1]), theta = unname(diag(est$theta)), n = nrow(x))
}
out$compRelSEM <- list(hs3 = comp(sets$hs3), hs9 = comp(sets$hs9), bfiA = comp(sets$bfiA),
                       bfiC = comp(b[, paste0("C", 1:5)]))

write_json(out, file.path(out_dir, "reliability_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = FALSE)

sha256 <- function(f) strsplit(system2("sha256sum", f, stdout = TRUE), " ")[[1]][1]
prov <- list(
  R = R.version.string,
  packages = list(psych = as.character(packageVersion("psych")),
                  GPArotation = as.character(packageVersion("GPArotation")),
                  lavaan = as.character(packageVersion("lavaan")),
                  semTools = as.character(packageVersion("semTools")),
                  boot = as.character(packageVersion("boot")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  calls = c("psych::alpha(x, use = use, warnings = FALSE)",
            "psych::alpha.ci(raw_alpha, nrow(x), ncol(x), p.val = 0.10)",
            "psych::splitHalf(x, raw = TRUE, check.keys = FALSE, use = use)",
            "psych::splitHalf(x, covar = TRUE, check.keys = FALSE, use = use)",
            "psych::guttman(x)",
            "psych::omega(x, nfactors = nf, plot = FALSE)",
            "semTools::compRelSEM(lavaan::cfa('f =~ ...', data = na.omit(x), std.lv = TRUE)) (obs.var TRUE and FALSE)",
            "bootstrap_reference.R: boot::boot.ci(b, conf, type = c('perc', 'bca'), index, L = jackknife) on a fixed deterministic index matrix (HS x1-x9, B = 199); statistic = raw alpha and 1 - sum(1 - psych::fa(cov2cor(C), 1, fm = 'minres')$communality) / sum(R)"),
  outputs = c("reliability_reference.json (reliability_reference.R)", "bootstrap_reference.json (bootstrap_reference.R)"),
  data = list(hs = "psychometrics/datasets/holzinger_swineford.csv x1-x9",
              bfi = "psychometrics/datasets/bfi.csv A1-O5; A1, C4, C5, E1, E2, O2, O5 reversed as 7 - x",
              listwise = "na.omit(x); pairwise = psych's use = 'pairwise' on all rows"),
  sha256 = list(holzinger_swineford.csv = sha256("psychometrics/datasets/holzinger_swineford.csv"),
                bfi.csv = sha256("psychometrics/datasets/bfi.csv"))
)
write_json(prov, file.path(out_dir, "provenance.json"), auto_unbox = TRUE, pretty = TRUE)
