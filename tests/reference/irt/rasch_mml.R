# References for psychometrics.irt.rasch_mml (Rasch family by marginal ML, theta ~ N(0, sigma^2)).
# Run from the repository root:  Rscript tests/reference/irt/rasch_mml.R      (~1-3 minutes)
#
# 1. rasch_mml_glmer.json — the dichotomous Rasch model is the logistic random-intercept model
#    logit P(x_ij = 1) = beta_j + u_i, u_i ~ N(0, sigma^2); lme4::glmer with adaptive Gauss-Hermite
#    quadrature (nAGQ = 25), tight optimiser tolerances. beta_j = easiness (eRm's sign).
#    Data: sim_rasch.csv (1000 x 10).
# 2. rasch_mml_R.json — an independent implementation (this file; not the Python code) of the PCM
#    and RSM marginal likelihood at the 21-point Gauss-Hermite rule for N(0, 1) (statmod
#    gauss.quad.prob), theta = sigma * u:  P(X_j = k | theta) = exp(k theta + beta_jk) / sum_h ...,
#    beta_jk = sum_{v <= k} c_jv;  RSM: c_jv = e_j + t_v, t_1 = 0.  Maximised with nlminb
#    (rel.tol 1e-15) after BFGS; SEs from numDeriv::hessian. Data: bfi_agree.csv A1..A5 (0..5).
suppressPackageStartupMessages({library(lme4); library(statmod); library(numDeriv); library(jsonlite); library(digest)})
out <- "tests/reference/irt"

## 1. glmer Rasch
x <- read.csv(file.path(out, "sim_rasch.csv"))
long <- data.frame(person = factor(rep(seq_len(nrow(x)), ncol(x))), item = factor(rep(names(x), each = nrow(x)), levels = names(x)),
                   y = unlist(x, use.names = FALSE))
t0 <- Sys.time()
fit <- glmer(y ~ 0 + item + (1 | person), data = long, family = binomial, nAGQ = 25,
             control = glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
glmer_out <- list(call = "glmer(y ~ 0 + item + (1 | person), family = binomial, nAGQ = 25, bobyqa rhoend = 1e-12)",
                  data = "sim_rasch.csv", items = names(x), n_persons = nrow(x),
                  beta = unname(fixef(fit)), se_beta = unname(sqrt(diag(as.matrix(vcov(fit))))),
                  sigma = unname(attr(VarCorr(fit)$person, "stddev")), loglik = as.numeric(logLik(fit)),
                  seconds = secs, lme4 = as.character(packageVersion("lme4")))
write_json(glmer_out, file.path(out, "rasch_mml_glmer.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)

## 2. own PCM / RSM marginal likelihood
d <- read.csv(file.path(out, "bfi_agree.csv"))
items <- paste0("A", 1:5)
y <- as.matrix(d[, items])
key <- apply(y, 1, paste, collapse = ",")
tab <- table(key)
pat <- do.call(rbind, lapply(strsplit(names(tab), ","), as.integer))
freq <- as.numeric(tab)
gq <- gauss.quad.prob(21, dist = "normal")
K <- 6; J <- length(items)
negll <- function(sigma, cmat) {  # cmat: J x (K-1)
  th <- sigma * gq$nodes
  lp <- matrix(0, nrow(pat), length(th))
  for (j in 1:J) {
    beta <- c(0, cumsum(cmat[j, ]))
    z <- outer(th, 0:(K - 1)) + matrix(beta, length(th), K, byrow = TRUE)   # Q x K
    lpj <- z - apply(z, 1, function(r) { m <- max(r); m + log(sum(exp(r - m))) })
    lp <- lp + t(lpj[, pat[, j] + 1])
  }
  lw <- lp + matrix(log(gq$weights), nrow(pat), length(th), byrow = TRUE)
  m <- apply(lw, 1, max)
  -sum(freq * (m + log(rowSums(exp(lw - m)))))
}
unpack <- function(model, p) {
  if (model == "pcm") return(list(sigma = p[1], c = matrix(p[-1], J, K - 1, byrow = TRUE)))
  e <- p[2:(J + 1)]; tt <- c(0, p[(J + 2):length(p)])
  list(sigma = p[1], c = outer(e, rep(1, K - 1)) + matrix(tt, J, K - 1, byrow = TRUE))
}
res <- list()
for (model in c("pcm", "rsm")) {
  f <- function(p) { u <- unpack(model, p); if (u$sigma <= 0) return(1e10); negll(u$sigma, u$c) }
  p0 <- if (model == "pcm") c(1, rep(0, J * (K - 1))) else c(1, rep(0, J + K - 2))
  t0 <- Sys.time()
  o1 <- optim(p0, f, method = "BFGS", control = list(maxit = 5000, reltol = 1e-14))
  o2 <- nlminb(o1$par, f, control = list(rel.tol = 1e-15, x.tol = 1e-12, eval.max = 10000, iter.max = 5000))
  secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  g <- numDeriv::grad(f, o2$par)
  h <- numDeriv::hessian(f, o2$par)
  u <- unpack(model, o2$par)
  res[[model]] <- list(sigma = u$sigma, c = u$c, par = o2$par, se_par = sqrt(diag(solve(h))),
                       loglik = -o2$objective, max_abs_grad = max(abs(g)), convergence = o2$convergence,
                       message = o2$message, seconds = secs)
  cat(sprintf("%s: loglik %.8f, max|grad| %.2e, %.1f s\n", model, -o2$objective, max(abs(g)), secs))
}
write_json(list(what = "own R implementation of the PCM / RSM marginal likelihood (see the header of rasch_mml.R)",
                data = "bfi_agree.csv", items = items, n_persons = nrow(y), quadrature = "gauss.quad.prob(21, 'normal')",
                parameterisation = "par: PCM (sigma, c_11..c_15, c_21, ...); RSM (sigma, e_1..e_5, t_2..t_5), t_1 = 0",
                pcm = res$pcm, rsm = res$rsm),
           file.path(out, "rasch_mml_R.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
write_json(list(script = "tests/reference/irt/rasch_mml.R", R = R.version.string,
                packages = list(lme4 = as.character(packageVersion("lme4")), statmod = as.character(packageVersion("statmod")),
                                numDeriv = as.character(packageVersion("numDeriv")), jsonlite = as.character(packageVersion("jsonlite"))),
                outputs = c("rasch_mml_glmer.json", "rasch_mml_R.json"),
                data_sha256 = list(sim_rasch.csv = digest(file = file.path(out, "sim_rasch.csv"), algo = "sha256"),
                                   bfi_agree.csv = digest(file = file.path(out, "bfi_agree.csv"), algo = "sha256"))),
           file.path(out, "provenance_rasch_mml.json"), auto_unbox = TRUE, pretty = TRUE)
