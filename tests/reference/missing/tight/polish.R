# Newton polish of a lavaan fit with lavaan's own objective, analytic gradient and a
# central-difference Hessian of that gradient; then lavaan re-evaluates everything at the point.
polish <- function(f, steps = 6, verbose = TRUE) {
  fx <- function(x) { m <- lav_model_set_parameters(f@Model, x); lavaan:::lav_model_objective(lavmodel=m, lavsamplestats=f@SampleStats, lavdata=f@Data, lavcache=f@Cache) }
  gr <- function(x) { m <- lav_model_set_parameters(f@Model, x); lavaan:::lav_model_gradient(lavmodel=m, lavsamplestats=f@SampleStats, lavdata=f@Data, lavcache=f@Cache, type="free") }
  x <- lav_model_get_parameters(f@Model)
  # lavaan 0.6-14 multi-group FIML: lav_model_gradient() of parameter k of group g equals (N_g/N) x the
  # derivative of the objective lav_model_objective() (checked by central differences, ratio exactly
  # N_g/N); its optimizer therefore stops early. Rescale to the derivative of the objective.
  pt0 <- parTable(f)
  w <- lavInspect(f, "nobs") / sum(lavInspect(f, "nobs"))
  gw <- numeric(length(x)); gw[pt0$free[pt0$free > 0]] <- w[pt0$group[pt0$free > 0]]
  gr0 <- gr; gr <- if (f@Options$missing == "ml") function(x) gr0(x) / gw else gr0
  K <- if (f@Model@eq.constraints) f@Model@eq.constraints.K else diag(length(x))
  hist <- list()
  # the Hessian (central differences of the gradient) once, at lavaan's stop; then chord-Newton steps
  # with it (near the optimum the Hessian barely changes: the steps shrink by orders of magnitude)
  Hn <- sapply(seq_along(x), function(j) {e <- rep(0,length(x)); h <- 1e-5 * max(1, abs(x[j])); e[j] <- h; (gr(x+e)-gr(x-e))/(2*h)})
  Hn <- (Hn + t(Hn)) / 2
  KHK <- t(K) %*% Hn %*% K
  for (k in seq_len(steps)) {
    g <- gr(x)
    s <- -as.numeric(K %*% solve(KHK, t(K) %*% g))
    f0 <- fx(x); x1 <- x + s; f1 <- fx(x1)
    if (!is.finite(f1) || f1 > f0 + 1e-15) break
    x <- x1
    hist[[k]] <- c(step = k, max_abs_grad = max(abs(t(K) %*% gr(x))), max_abs_step = max(abs(s)), fmin = f1)
    if (verbose) cat(sprintf("  newton %d: max|K'g| %.2e  max|step| %.2e  fmin %.16f\n", k, hist[[k]][2], hist[[k]][3], f1))
    if (max(abs(s)) < 1e-13) break
  }
  pt <- parTable(f)
  pt$start <- pt$est
  pt$est[pt$free > 0] <- x[pt$free[pt$free > 0]]
  pt$start[pt$free > 0] <- x[pt$free[pt$free > 0]]
  f2 <- update(f, start = pt, optim.method = "none")
  # certificate without the analytic gradient: central differences of lavaan's objective along K
  znum <- function(x) sapply(seq_len(ncol(K)), function(j) { h <- 1e-6; d <- K[, j] * h; (fx(x + d) - fx(x - d)) / (2 * h) })
  x2 <- lav_model_get_parameters(f2@Model)
  attr(f2, "polish") <- list(newton = hist, max_abs_diff_reevaluated = max(abs(x2 - x)),
                             fmin_lavaan_default = f@optim$fx, fmin_polished = f2@optim$fx,
                             max_abs_grad_default = max(abs(t(K) %*% gr(lav_model_get_parameters(f@Model)))),
                             max_abs_grad_polished = max(abs(t(K) %*% gr(x2))),
                             max_abs_numgrad_default = max(abs(znum(lav_model_get_parameters(f@Model)))),
                             max_abs_numgrad_polished = max(abs(znum(x2))))
  f2
}
