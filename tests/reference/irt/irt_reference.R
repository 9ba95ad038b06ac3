# Reference values for the IRT module (issue 17): conditional ML (Rasch family) from eRm,
# with an independent check of every eRm solution by our own CML code (below).
#   Rscript tests/reference/irt/irt_reference.R      (run from the repository root)
# The normal-ogive GRM by lavaan's estimator = "MML" is in lavaan_mml.R (slow; see NOTES.md).
#
# Writes to tests/reference/irt/:
#   data:  bfi_agree.csv, sim_rasch.csv, sim_2pl.csv, raschdat1.csv, pcmdat.csv, rsmdat.csv
#   fits:  erm_<name>.json (one per model), provenance.json
#
# Conventions of eRm (checked numerically below and recorded in every JSON):
#   * eRm's `betapar` are EASINESS parameters.  Dichotomous:  P(X = 1 | theta) = plogis(theta + beta_i),
#     so the usual difficulty is b_i = -beta_i.  Polytomous (PCM/RSM): beta_ih is the cumulative
#     category parameter, P(X_i = h | theta) proportional to exp(h * theta + beta_ih), beta_i0 = 0.
#   * thresholds() gives difficulties of adjacent-category steps: tau_ih = -(beta_ih - beta_i,h-1),
#     "Location" = mean of an item's thresholds.
#   * Identification (sum0 = TRUE, eRm's default): RM and PCM: sum of ALL betapar = 0 (over items and
#     categories).  RSM: beta_ih = -(h * eta_i + omega_h) with omega_1 = 0 and the item parameters eta_i
#     summing to zero (eta of item 1 = -sum of the others), so sum(betapar) != 0 in the RSM.
#   * `etapar` are the free parameters with betapar = -W %*% etapar (fit$W); for RM and PCM eta = -beta
#     of all but the first parameter, i.e. etapar are difficulties.
suppressPackageStartupMessages({library(eRm); library(jsonlite); library(digest)})
out <- "tests/reference/irt"
wj <- function(x, name) write_json(x, file.path(out, name), digits = NA, auto_unbox = TRUE,
                                   pretty = TRUE, na = "null", dataframe = "columns")

## ---------------------------------------------------------------- data ---------------------------
bfi <- read.csv("psychometrics/datasets/bfi.csv")
# Agreeableness A1..A5, complete cases on the five items, A1 reverse-keyed (7 - A1, as in the
# scale's key), categories recoded 1..6 -> 0..5.  id and gender are kept for later DIF fixtures.
keep <- complete.cases(bfi[, paste0("A", 1:5)])
bfi_agree <- data.frame(id = bfi$id[keep], gender = bfi$gender[keep],
                        A1 = 7L - bfi$A1[keep], A2 = bfi$A2[keep], A3 = bfi$A3[keep],
                        A4 = bfi$A4[keep], A5 = bfi$A5[keep])
for (v in paste0("A", 1:5)) bfi_agree[[v]] <- as.integer(bfi_agree[[v]] - 1L)
write.csv(bfi_agree, file.path(out, "bfi_agree.csv"), row.names = FALSE)

# Simulated Rasch data: 1000 persons x 10 items, theta ~ N(0, 1), difficulties -2..2.
set.seed(17)
b_rasch <- seq(-2, 2, length.out = 10)
theta <- rnorm(1000)
sim_rasch <- as.data.frame(matrix(as.integer(runif(1000 * 10) < plogis(outer(theta, b_rasch, "-"))),
                                  ncol = 10, dimnames = list(NULL, sprintf("I%02d", 1:10))))
write.csv(sim_rasch, file.path(out, "sim_rasch.csv"), row.names = FALSE)

# Simulated 2PL data (for the MML fixtures of the Python side): 1000 x 10, logistic, D = 1.
set.seed(1702)
a_2pl <- c(0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 1.1, 0.9)
b_2pl <- c(-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, -0.25, 0.25, 0.75)
theta <- rnorm(1000)
p <- plogis(sweep(outer(theta, b_2pl, "-"), 2, a_2pl, "*"))
sim_2pl <- as.data.frame(matrix(as.integer(runif(1000 * 10) < p), ncol = 10,
                                dimnames = list(NULL, sprintf("I%02d", 1:10))))
write.csv(sim_2pl, file.path(out, "sim_2pl.csv"), row.names = FALSE)

# eRm's own example data sets.
data(raschdat1, package = "eRm"); data(pcmdat, package = "eRm"); data(rsmdat, package = "eRm")
write.csv(raschdat1, file.path(out, "raschdat1.csv"), row.names = FALSE)
write.csv(pcmdat, file.path(out, "pcmdat.csv"), row.names = FALSE)
write.csv(rsmdat, file.path(out, "rsmdat.csv"), row.names = FALSE)

items <- function(d) as.matrix(d[, setdiff(names(d), c("id", "gender"))])
X_agree <- items(read.csv(file.path(out, "bfi_agree.csv")))

## ------------------------------------------- independent CML (our own code, not eRm's) ----------
# Category parameters as a list per item: beta[[i]] = (beta_i1, ..., beta_im).  ESF by the
# summation algorithm: gamma(z) = prod_i (1 + sum_h exp(beta_ih) z^h), coefficients convolved item
# by item.  Log-likelihood = sum_v sum_i beta_{i, x_vi} - sum_r n_r log gamma_r.
esf <- function(eps) {                      # eps: list of c(1, exp(beta_i1), ..., exp(beta_im))
  g <- 1
  for (e in eps) {
    new <- numeric(length(g) + length(e) - 1)
    for (h in seq_along(e)) {
      idx <- seq_along(g) + h - 1
      new[idx] <- new[idx] + e[h] * g
    }
    g <- new
  }
  g                                          # g[r + 1] = gamma_r, r = 0..sum(m_i)
}
split_beta <- function(beta, m) split(beta, rep(seq_along(m), m))
cml_parts <- function(beta, X) {
  m <- apply(X, 2, max)
  bl <- split_beta(beta, m)
  eps <- lapply(bl, function(b) c(1, exp(b)))
  g <- esf(eps)
  r <- rowSums(X)
  nr <- tabulate(r + 1, nbins = length(g))
  # sufficient statistics: n_ih = number of persons in category h of item i
  nih <- unlist(lapply(seq_len(ncol(X)), function(i) tabulate(X[, i], nbins = m[i])))
  ll <- sum(nih * beta) - sum(nr[nr > 0] * log(g[nr > 0]))
  # gradient: n_ih - sum_r n_r exp(beta_ih) gamma^(i)_{r-h} / gamma_r
  grad <- numeric(length(beta)); k <- 0
  for (i in seq_along(m)) {
    gi <- esf(eps[-i])
    for (h in seq_len(m[i])) {
      k <- k + 1
      rr <- seq(h, length(g) - 1)            # scores r >= h that item i in category h can reach
      gim <- numeric(length(rr)); ok <- (rr - h + 1) <= length(gi)
      gim[ok] <- gi[(rr - h + 1)[ok]]
      grad[k] <- nih[k] - sum(nr[rr + 1] * eps[[i]][h + 1] * gim / g[rr + 1])
    }
  }
  list(ll = ll, grad = grad)
}
# Newton on eta with eRm's own design matrix W (same identification as eRm); Hessian by
# differencing our analytic gradient.
polish <- function(fit, X) {
  W <- -fit$W                                # eRm: betapar = -W %*% etapar (checked below)
  f <- function(eta) cml_parts(as.vector(W %*% eta), X)
  eta <- fit$etapar
  at_erm <- f(eta)
  grad_erm <- as.vector(t(W) %*% at_erm$grad)
  for (it in 1:50) {
    cur <- f(eta); g <- as.vector(t(W) %*% cur$grad)
    if (max(abs(g)) < 1e-9) break
    H <- optimHess(eta, function(e) f(e)$ll, function(e) as.vector(t(W) %*% f(e)$grad))
    eta <- eta - solve(H, g)
  }
  fin <- f(eta)
  list(max_abs_diff_betapar_minus_W_eta = max(abs(as.vector(W %*% fit$etapar) - fit$betapar)),
       own_loglik_at_erm = at_erm$ll, max_abs_grad_at_erm = max(abs(grad_erm)),
       newton_iterations = it - 1, max_abs_grad = max(abs(as.vector(t(W) %*% fin$grad))),
       loglik = fin$ll, etapar = setNames(as.list(eta), names(fit$etapar)),
       betapar = setNames(as.list(as.vector(W %*% eta)), names(fit$betapar)),
       max_abs_diff_betapar = max(abs(as.vector(W %*% eta) - fit$betapar)),
       loglik_diff = fin$ll - fit$loglik)
}
# ML person parameter for raw score r given (polished) category parameters.
ml_theta <- function(beta, m, r) {
  bl <- split_beta(beta, m)
  moments <- function(th) {
    s <- sapply(bl, function(b) {
      h <- 0:length(b); w <- exp(h * th + c(0, b)); p <- w / sum(w)
      c(sum(h * p), sum(h^2 * p) - sum(h * p)^2)
    })
    rowSums(s)
  }
  th <- uniroot(function(t) moments(t)[1] - r, c(-20, 20), tol = 1e-13)$root
  c(theta = th, se = 1 / sqrt(moments(th)[2]))
}

## ------------------------------------------------------------------ eRm fits ---------------------
erm_json <- function(fit, X, name, call, data_file, note = NULL) {
  m <- apply(X, 2, max)
  chk <- polish(fit, X)
  out_list <- list(
    model = fit$model, call = call, data = data_file, items = colnames(X),
    n_persons = nrow(X), n_categories = as.list(setNames(m + 1, colnames(X))),
    identification = switch(fit$model,
      RM = "sum0 = TRUE: sum of betapar over items = 0",
      PCM = "sum0 = TRUE: sum of betapar over all items and categories = 0 (first parameter = -sum of the others)",
      RSM = "sum0 = TRUE: beta_ih = -(h * eta_i + omega_h); etapar = (eta_2..eta_J, omega_2..omega_m) are difficulties, eta_1 = -sum of the others, omega_1 = 0"),
    sign = "betapar are easiness: P(X_i = h | theta) proportional to exp(h * theta + beta_ih); dichotomous difficulty b_i = -beta_i",
    loglik = fit$loglik, iterations = fit$iter, convergence = fit$convergence, npar = fit$npar,
    optimizer = "nlm (eRm default fitctrl), iterlim 5000, default gradtol 1e-6",
    etapar = as.list(fit$etapar), se_eta = as.list(setNames(fit$se.eta, names(fit$etapar))),
    betapar = as.list(fit$betapar), se_beta = as.list(setNames(fit$se.beta, names(fit$betapar))),
    sum_betapar = sum(fit$betapar),
    check_own_cml = chk
  )
  out_list$note <- note                         # absent when NULL
  if (fit$model == "RM") {
    out_list$difficulty <- as.list(setNames(-fit$betapar, colnames(X)))
  } else {
    th <- thresholds(fit)
    tt <- th$threshtable[[1]]
    out_list$thresholds <- list(item = rownames(tt), table = as.data.frame(tt, check.names = FALSE),
                                threshpar = as.list(th$threshpar), se_thresh = as.list(th$se.thresh))
    # numeric check of the threshold convention tau_ih = -(beta_ih - beta_i,h-1)
    bl <- split_beta(fit$betapar, m)
    tau <- unlist(lapply(bl, function(b) -diff(c(0, b))))
    out_list$thresholds$max_abs_diff_to_minus_diff_beta <- max(abs(tau - th$threshpar))
  }
  pp <- person.parameter(fit)
  rs <- rowSums(X)
  th_all <- coef(pp)                            # includes interpolated extremes
  se_all <- unname(pp$se.theta[[1]][names(th_all)])
  interp <- pp$theta.table[names(th_all), "Interpolated"]
  first <- !duplicated(rs)
  tab <- data.frame(raw_score = rs[first], theta = unname(th_all[first]), se = se_all[first],
                    interpolated = interp[first])
  tab <- tab[order(tab$raw_score), ]
  tab$extreme <- tab$raw_score == 0 | tab$raw_score == sum(m)
  own <- t(sapply(tab$raw_score, function(r) if (r == 0 || r == sum(m)) c(theta = NA, se = NA) else
    ml_theta(unlist(chk$betapar), m, r)))
  tab$own_theta <- own[, "theta"]; tab$own_se <- own[, "se"]
  out_list$person_parameters <- list(
    call = "person.parameter(fit); coef(pp) and pp$se.theta per distinct raw score",
    note = "ML estimates given the CML item parameters; extreme scores (0 and maximum) are eRm's spline extrapolation with no SE. own_theta/own_se: our ML at the polished item parameters",
    loglik_joint = pp$loglik, table = tab)
  ifit <- itemfit(pp)
  out_list$itemfit <- list(call = "itemfit(person.parameter(fit))",
    item = names(ifit$i.fit), chisq = unname(ifit$i.fit), df = unname(ifit$i.df),
    p = unname(1 - pchisq(ifit$i.fit, ifit$i.df)),
    outfit_msq = unname(ifit$i.outfitMSQ), infit_msq = unname(ifit$i.infitMSQ),
    outfit_z = unname(ifit$i.outfitZ), infit_z = unname(ifit$i.infitZ),
    discrimination = unname(ifit$i.disc))
  wj(out_list, paste0("erm_", name, ".json"))
  cat(sprintf("%-16s loglik %.6f iter %d  own ll diff %.2e  max|grad| at eRm %.2e  max|dbeta| %.2e\n",
              name, fit$loglik, fit$iter, chk$own_loglik_at_erm - fit$loglik, chk$max_abs_grad_at_erm,
              chk$max_abs_diff_betapar))
  invisible(out_list)
}

X_r1 <- as.matrix(raschdat1); X_sr <- as.matrix(sim_rasch)
X_pcm <- as.matrix(pcmdat); X_rsm <- as.matrix(rsmdat)
X_agree500 <- X_agree[1:500, ]

calls <- list()
erm_json(RM(X_r1), X_r1, "rm_raschdat1", "RM(raschdat1)", "raschdat1.csv"); calls$rm_raschdat1 <- "RM(raschdat1)"
erm_json(RM(X_sr), X_sr, "rm_sim_rasch", "RM(sim_rasch)", "sim_rasch.csv"); calls$rm_sim_rasch <- "RM(sim_rasch)"
erm_json(PCM(X_agree), X_agree, "pcm_bfi_agree", "PCM(bfi_agree[, A1..A5])", "bfi_agree.csv")
calls$pcm_bfi_agree <- "PCM(bfi_agree[, c('A1','A2','A3','A4','A5')])"
erm_json(PCM(X_pcm), X_pcm, "pcm_pcmdat", "PCM(pcmdat)", "pcmdat.csv"); calls$pcm_pcmdat <- "PCM(pcmdat)"
erm_json(RSM(X_rsm), X_rsm, "rsm_rsmdat", "RSM(rsmdat)", "rsmdat.csv"); calls$rsm_rsmdat <- "RSM(rsmdat)"
erm_json(RSM(X_agree500), X_agree500, "rsm_bfi_agree500", "RSM(bfi_agree[1:500, A1..A5])", "bfi_agree.csv (rows 1-500)",
         note = paste("eRm 1.0.2's RSM diverges on all 2709 rows (nlm and optim; log-likelihood > 0, estimates ~1e3),",
                      "also from a warm start, and already at 1000 rows; it converges on the first 300 or 500 rows."))
calls$rsm_bfi_agree500 <- "RSM(bfi_agree[1:500, c('A1','A2','A3','A4','A5')])"

# The failure itself, recorded so that a later eRm can be checked for it.
suppressWarnings(bad <- RSM(X_agree))
wj(list(call = "RSM(bfi_agree[, A1..A5])  # all 2709 rows", loglik = bad$loglik, iterations = bad$iter,
        convergence = bad$convergence, etapar = as.list(bad$etapar),
        note = "divergent: a conditional log-likelihood must be <= 0. Our own CML code converges here; see check_rsm_bfi_agree below.",
        check_rsm_bfi_agree = {
          # our own fit of the full data with eRm's RSM design, from zero
          W <- -bad$W; f <- function(eta) cml_parts(as.vector(W %*% eta), X_agree)
          o <- optim(rep(0, ncol(W)), function(e) -f(e)$ll, function(e) -as.vector(t(W) %*% f(e)$grad),
                     method = "BFGS", control = list(maxit = 1000, reltol = 1e-14))
          eta <- o$par
          for (it in 1:20) {
            g <- as.vector(t(W) %*% f(eta)$grad); if (max(abs(g)) < 1e-9) break
            H <- optimHess(eta, function(e) f(e)$ll, function(e) as.vector(t(W) %*% f(e)$grad))
            eta <- eta - solve(H, g)
          }
          H <- optimHess(eta, function(e) f(e)$ll, function(e) as.vector(t(W) %*% f(e)$grad))
          list(loglik = f(eta)$ll, max_abs_grad = max(abs(as.vector(t(W) %*% f(eta)$grad))),
               etapar = setNames(as.list(eta), names(bad$etapar)),
               se_eta = setNames(as.list(sqrt(diag(solve(-H)))), names(bad$etapar)),
               betapar = setNames(as.list(as.vector(W %*% eta)), names(bad$betapar)))
        }), "erm_rsm_bfi_agree_diverged.json")
calls$rsm_bfi_agree_diverged <- "RSM(bfi_agree[, c('A1','A2','A3','A4','A5')])  # diverges in eRm 1.0.2"

## ------------------------------------------------------------- provenance ------------------------
files <- c("bfi_agree.csv", "sim_rasch.csv", "sim_2pl.csv", "raschdat1.csv", "pcmdat.csv", "rsmdat.csv")
prov <- list(
  R = R.version.string,
  packages = list(eRm = as.character(packageVersion("eRm")), jsonlite = as.character(packageVersion("jsonlite")),
                  digest = as.character(packageVersion("digest"))),
  script = "tests/reference/irt/irt_reference.R",
  calls = c(calls, list(per_fit = paste("fit$loglik, fit$iter, fit$etapar, fit$se.eta, fit$betapar, fit$se.beta;",
                                        "thresholds(fit) (PCM/RSM); person.parameter(fit); itemfit(person.parameter(fit))"))),
  data = list(
    bfi_agree = "psychometrics/datasets/bfi.csv rows complete on A1..A5 (2709); A1 -> 7 - A1; A1..A5 minus 1 (0..5); columns id, gender kept",
    sim_rasch = "set.seed(17); b = seq(-2, 2, length.out = 10); theta = rnorm(1000); X = runif < plogis(theta - b)",
    sim_2pl = "set.seed(1702); a = (0.6,0.8,1.0,1.2,1.4,1.6,1.8,2.0,1.1,0.9); b = (-1.5,-1,-0.5,0,0.5,1,1.5,-0.25,0.25,0.75); theta = rnorm(1000); X = runif < plogis(a * (theta - b))",
    raschdat1 = "eRm::raschdat1 (100 x 30)", pcmdat = "eRm::pcmdat (20 x 7)", rsmdat = "eRm::rsmdat (20 x 6)"),
  true_parameters = list(sim_rasch = list(b = b_rasch), sim_2pl = list(a = a_2pl, b = b_2pl)),
  sha256 = c(list(bfi.csv = digest(file = "psychometrics/datasets/bfi.csv", algo = "sha256")),
             setNames(lapply(files, function(f) digest(file = file.path(out, f), algo = "sha256")), files))
)
wj(prov, "provenance.json")
