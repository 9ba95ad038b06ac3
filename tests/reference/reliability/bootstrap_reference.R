# boot::boot.ci percentile and BCa intervals on a FIXED, deterministic resample-index
# matrix (no random numbers), so that psychometrics' interval code can be compared
# with R's given identical replicates (tests/test_reliability.py::test_intervals_match_boot_ci).
#   Rscript tests/reference/reliability/bootstrap_reference.R
# Index of row i (1-based) in replicate b (1..B): h = (7919 b + 104729 i) mod 1000003,
#   1 + ((h^2 + b) mod 1000003) mod n   (exact in double precision)
suppressPackageStartupMessages({library(psych); library(boot); library(jsonlite)})
out_dir <- "tests/reference/reliability"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
x <- as.matrix(hs[, paste0("x", 1:9)])
n <- nrow(x); B <- 199L
idx <- outer(seq_len(B), seq_len(n), function(b, i) {
  h <- (b * 7919 + i * 104729) %% 1000003
  1 + ((h * h + b) %% 1000003) %% n
})
stat <- function(d, i) {
  C <- cov(d[i, , drop = FALSE]); p <- ncol(C)
  a <- p / (p - 1) * (1 - sum(diag(C)) / sum(C))
  R <- cov2cor(C)
  f <- suppressWarnings(psych::fa(R, 1, fm = "minres", warnings = FALSE))
  c(a, 1 - sum(1 - f$communality) / sum(R))
}
t0 <- stat(x, seq_len(n))
tt <- t(apply(idx, 1, function(i) stat(x, i)))
jack <- t(sapply(seq_len(n), function(k) stat(x, -k)))
L <- (n - 1) * (matrix(colMeans(jack), n, 2, byrow = TRUE) - jack)
b <- boot(x, stat, R = 2)            # a boot object; replicates replaced by the fixed ones
b$t0 <- t0; b$t <- tt; b$R <- B
res <- list()
for (j in 1:2) {
  for (lev in c(0.95, 0.90)) {
    ci <- boot.ci(b, conf = lev, type = c("perc", "bca"), index = j, L = L[, j])
    res[[length(res) + 1]] <- list(stat = c("alpha", "omega_total")[j], level = lev,
                                   perc = ci$percent[4:5], bca = ci$bca[4:5])
  }
}
write_json(list(n = n, B = B, t0 = t0, t = tt, jack = jack, intervals = res),
           file.path(out_dir, "bootstrap_reference.json"), digits = NA, auto_unbox = TRUE)
