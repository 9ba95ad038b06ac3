# Reference values for issue 13: FIML (missing = "ml"), robust ML (MLR) with and without missing
# data, pairwise WLSMV with missing ordinal items, and Little's (1988) MCAR test.
#   Rscript tests/reference/missing/missing_reference.R        (run from the repository root)
# Set MISSING_REF_TIMING=0 to skip the (slow) timing block; provenance.json then keeps no timings.
#
# Inputs: the shipped psychometrics/datasets/holzinger_swineford.csv and bfi.csv, and
# tests/reference/wlsmv/hs_ord.csv; the data sets with holes made here are written as CSVs
# (hs_mcar.csv, hs_mar.csv, hs_ord_mcar.csv) and read back before fitting, so the fits use
# exactly the bytes stored.  SHA-256 of every input goes to provenance.json.
suppressPackageStartupMessages({
  library(lavaan); library(semTools); library(jsonlite); library(digest)
})
out <- "tests/reference/missing"
sha256 <- function(f) digest(file = f, algo = "sha256")
wjson <- function(x, name) {
  path <- file.path(out, name)
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, na = "null", null = "null",
                    dataframe = "columns", matrix = "rowmajor"), path)
  sz <- file.size(path)
  if (sz > 2e6) stop(name, " is larger than 2 MB: ", sz)
  invisible(path)
}
calls <- list()
timings_fit <- list()

items_hs <- paste0("x", 1:9)
items_bfi <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
HS3 <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI5 <- paste("agree =~ A1 + A2 + A3 + A4 + A5", "consc =~ C1 + C2 + C3 + C4 + C5",
              "extra =~ E1 + E2 + E3 + E4 + E5", "neuro =~ N1 + N2 + N3 + N4 + N5",
              "open =~ O1 + O2 + O3 + O4 + O5", sep = "\n")
levels_eq <- list(configural = NULL, metric = "loadings", scalar = c("loadings", "intercepts"),
                  strict = c("loadings", "intercepts", "residuals"))

# ---------------------------------------------------------------------------------------------
# 1. Data with holes (seeded)
# ---------------------------------------------------------------------------------------------
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
bfi <- read.csv("psychometrics/datasets/bfi.csv")
hs_ord <- read.csv("tests/reference/wlsmv/hs_ord.csv")
stopifnot(nrow(hs) == 301, nrow(bfi) == 2800, nrow(hs_ord) == 301)

# MCAR: every x1..x9 cell independently missing with probability 0.12; then two respondents
# (one per school) lose all nine items: lavaan drops such rows ("empty cases") and counts them.
set.seed(13001)
hs_mcar <- hs[, c("id", "school", items_hs)]
holes <- matrix(runif(nrow(hs) * 9) < 0.12, nrow(hs), 9)
stopifnot(all(rowSums(holes) < 9))
for (j in 1:9) hs_mcar[holes[, j], items_hs[j]] <- NA
empty_rows <- c(sample(which(hs$school == "Pasteur"), 1), sample(which(hs$school == "Grant-White"), 1))
hs_mcar[empty_rows, items_hs] <- NA
write.csv(hs_mcar, file.path(out, "hs_mcar.csv"), row.names = FALSE, na = "")

# MAR: x1, x4, x7 complete; P(x2, x3 missing) rises with x1, P(x5, x6 missing) falls with x4,
# P(x8, x9 missing) rises with x7 (logistic in the standardized observed item, about 14 %).
set.seed(13002)
hs_mar <- hs[, c("id", "school", items_hs)]
z <- function(v) (v - mean(v)) / sd(v)
pmis <- list(x2 = plogis(-2.3 + 1.2 * z(hs$x1)), x3 = plogis(-2.3 + 1.2 * z(hs$x1)),
             x5 = plogis(-2.3 - 1.2 * z(hs$x4)), x6 = plogis(-2.3 - 1.2 * z(hs$x4)),
             x8 = plogis(-2.3 + 1.2 * z(hs$x7)), x9 = plogis(-2.3 + 1.2 * z(hs$x7)))
for (v in names(pmis)) hs_mar[runif(nrow(hs)) < pmis[[v]], v] <- NA
write.csv(hs_mar, file.path(out, "hs_mar.csv"), row.names = FALSE, na = "")

# Ordinal (3 categories, tests/reference/wlsmv/hs_ord.csv) with 10 % MCAR holes, no empty row.
set.seed(13003)
hs_ord_mcar <- hs_ord
holes <- matrix(runif(nrow(hs_ord) * 9) < 0.10, nrow(hs_ord), 9)
stopifnot(all(rowSums(holes) < 9))
for (j in 1:9) hs_ord_mcar[holes[, j], items_hs[j]] <- NA
write.csv(hs_ord_mcar, file.path(out, "hs_ord_mcar.csv"), row.names = FALSE, na = "")

# read back what was written: the fits use the stored bytes
hs_mcar <- read.csv(file.path(out, "hs_mcar.csv"))
hs_mar <- read.csv(file.path(out, "hs_mar.csv"))
hs_ord_mcar <- read.csv(file.path(out, "hs_ord_mcar.csv"))
data_info <- list(
  hs_mcar.csv = list(made_by = "set.seed(13001); each x1..x9 cell NA with prob 0.12 (runif(301*9) < 0.12, column-major); then rows 'empty_rows' (1-based) set all-NA",
                     empty_rows = empty_rows, share_missing = as.list(colMeans(is.na(hs_mcar[, items_hs])))),
  hs_mar.csv = list(made_by = "set.seed(13002); for v in x2,x3,x5,x6,x8,x9 in that order: NA if runif(301) < plogis(-2.3 + s*1.2*z), z the standardized x1 (x2,x3; s=+1), x4 (x5,x6; s=-1), x7 (x8,x9; s=+1)",
                    share_missing = as.list(colMeans(is.na(hs_mar[, items_hs])))),
  hs_ord_mcar.csv = list(made_by = "tests/reference/wlsmv/hs_ord.csv; set.seed(13003); each x1..x9 cell NA with prob 0.10 (runif(301*9) < 0.10, column-major)",
                         share_missing = as.list(colMeans(is.na(hs_ord_mcar[, items_hs])))),
  bfi.csv = list(made_by = "shipped psychometrics/datasets/bfi.csv, real missing values, no row with all 25 items missing",
                 share_missing = as.list(colMeans(is.na(bfi[, items_bfi]))))
)
datasets <- list(hs = hs, hs_mcar = hs_mcar, hs_mar = hs_mar, bfi = bfi, hs_ord_mcar = hs_ord_mcar)

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
per_group <- function(x, ng) if (ng == 1) list(x) else unname(x)
mat <- function(m) if (is.null(m)) NULL else list(names = colnames(m), data = unname(unclass(as.matrix(m))))
moments <- function(x) list(cov = mat(x$cov), mean = if (!is.null(x$mean)) unname(as.numeric(x$mean)) else NULL,
                            mean_names = names(x$mean))
opt_keys <- c("estimator", "missing", "se", "test", "information", "h1.information", "observed.information",
              "information.meat", "h1.information.meat",
              "likelihood", "mimic", "meanstructure", "fixed.x", "em.h1.iter.max", "em.h1.tol",
              "parameterization", "optim.method", "bounds")
est_cols <- c("lhs", "op", "rhs", "block", "group", "label", "est", "se", "z", "pvalue",
              "ci.lower", "ci.upper", "std.lv", "std.all")

pattern_table <- function(fit, g) {
  Mp <- fit@Data@Mp[[g]]
  if (is.null(Mp)) return(NULL)
  o <- order(-Mp$freq)
  list(vars = colnames(Mp$pat) %||% fit@Data@ov.names[[g]],
       pattern = unname(apply(1L * Mp$pat[o, , drop = FALSE], 1, paste, collapse = "")),
       freq = Mp$freq[o], npatterns = Mp$npatterns, n_empty = length(Mp$empty.idx))
}
`%||%` <- function(a, b) if (is.null(a)) b else a

# one fitted model -> one JSON
dump_fit <- function(fit, name, call, data_name, extra = list(), casewise = FALSE) {
  ng <- lavInspect(fit, "ngroups")
  pe <- parameterEstimates(fit, standardized = TRUE)
  pe <- as.data.frame(pe)[, intersect(est_cols, names(pe))]
  opts <- lavInspect(fit, "options")
  grp_data <- lapply(seq_len(ng), function(g) {
    d <- list(
      label = lavInspect(fit, "group.label")[g] %||% NA,
      nobs = lavInspect(fit, "nobs")[g], norig = lavInspect(fit, "norig")[g],
      implied = moments(per_group(lavInspect(fit, "implied"), ng)[[g]]),
      h1 = moments(per_group(lavInspect(fit, "sampstat.h1"), ng)[[g]]),
      loglik_h0 = fit@loglik$loglik.group[g] %||% NA,
      loglik_h1 = fit@h1$loglik.group[g] %||% NA)
    if (opts$missing %in% c("ml", "ml.x", "pairwise")) {
      d$patterns <- pattern_table(fit, g)
      d$coverage <- mat(per_group(lavInspect(fit, "coverage"), ng)[[g]])
      ei <- per_group(lavInspect(fit, "empty.idx"), ng)[[g]]
      d$empty_idx_in_group <- as.integer(ei)                       # 1-based within the group's rows
    }
    d
  })
  # original (1-based, data-file) row numbers of the empty cases, per group
  if (opts$missing %in% c("ml", "ml.x", "pairwise")) {
    dat <- datasets[[data_name]]
    ov <- lavNames(fit, "ov")
    allmiss <- which(rowSums(!is.na(dat[, ov, drop = FALSE])) == 0)
    for (g in seq_len(ng)) {
      in_g <- if (ng == 1) rep(TRUE, nrow(dat)) else as.character(dat[[lavInspect(fit, "group")]]) == grp_data[[g]]$label
      grp_data[[g]]$empty_rows <- as.integer(intersect(allmiss, which(in_g)))
    }
  }
  tests <- lapply(lavInspect(fit, "test"), function(t) lapply(unclass(t), function(v) if (is.numeric(v)) unname(v) else v))
  res <- list(
    name = name, call = call, data = data_name,
    options = lapply(opts[opt_keys], function(v) v),
    converged = lavInspect(fit, "converged"), iterations = lavInspect(fit, "iterations"),
    ntotal = lavInspect(fit, "ntotal"), ngroups = ng,
    group_labels = lavInspect(fit, "group.label"),
    npar = lavInspect(fit, "npar"),
    estimates = pe,
    fit = as.list(fitMeasures(fit)),
    test = tests,
    groups = grp_data)
  if (casewise) {
    # single-group, small data only: the pieces of the sandwich and of the casewise log-likelihood
    V <- lavInspect(fit, "vcov")
    ll <- as.numeric(lavInspect(fit, "loglik.casewise"))      # one per data row, NA for empty rows
    used <- !is.na(ll)
    res$casewise <- list(
      case_idx = as.integer(lavInspect(fit, "case.idx"))[used],  # 1-based data-file rows used
      loglik = ll[used],
      scores = unname(lavScores(fit)),                         # N x npar, d logl_i / d theta (free params)
      par_names = colnames(V))
    res$vcov <- mat(V)
    res$information_observed <- mat(lavInspect(fit, "information.observed"))
    res$information_first_order <- mat(lavInspect(fit, "information.first.order"))
  }
  res <- c(res, extra)
  wjson(res, paste0(name, ".json"))
  invisible(res)
}

fits <- list()
run_fit <- function(name, call, data_name, casewise = FALSE, extra_fun = NULL) {
  calls[[name]] <<- call
  tt <- system.time(fit <- suppressWarnings(eval(parse(text = call))))
  timings_fit[[name]] <<- unname(tt["elapsed"])
  extra <- if (!is.null(extra_fun)) extra_fun(fit) else list()
  dump_fit(fit, name, call, data_name, extra = extra, casewise = casewise)
  fits[[name]] <<- fit
  cat(sprintf("%-32s %7.1f s  chisq %.6f  df %d\n", name, tt["elapsed"],
              fitMeasures(fit, "chisq"), as.integer(fitMeasures(fit, "df"))))
  invisible(fit)
}
eq_str <- function(ge) if (is.null(ge)) "" else paste0(", group.equal = ", deparse(ge))

# refit with a tight EM for the saturated model: the fit measures that depend on H1
em_tight <- function(fit) {
  f2 <- suppressWarnings(update(fit, em.h1.tol = 1e-12, em.h1.iter.max = 100000L))
  list(fit_em_tight = list(
    note = "same model refitted with em.h1.tol = 1e-12, em.h1.iter.max = 1e5 (lavaan default 1e-5 / 500): H1-dependent measures with a fully converged EM",
    fit = as.list(fitMeasures(f2)),
    h1 = lapply(per_group(lavInspect(f2, "sampstat.h1"), lavInspect(f2, "ngroups")), moments)))
}

# ---------------------------------------------------------------------------------------------
# 2. MLR on complete Holzinger-Swineford: single group and the invariance ladder by school
# ---------------------------------------------------------------------------------------------
run_fit("mlr_hs_single", 'cfa(HS3, data = hs, estimator = "MLR")', "hs", casewise = TRUE)
for (lv in names(levels_eq))
  run_fit(paste0("mlr_hs_", lv),
          paste0('cfa(HS3, data = hs, estimator = "MLR", group = "school"', eq_str(levels_eq[[lv]]), ')'), "hs")

# ---------------------------------------------------------------------------------------------
# 3. FIML (missing = "ml"), ML and MLR, single group and the four invariance levels
# ---------------------------------------------------------------------------------------------
fiml_sets <- list(hs_mcar = list(model = "HS3", group = "school"),
                  hs_mar = list(model = "HS3", group = "school"),
                  bfi = list(model = "BFI5", group = "gender"))
for (ds in names(fiml_sets)) {
  s <- fiml_sets[[ds]]
  for (est in c("ML", "MLR")) {
    base <- paste0("fiml_", ds, "_", tolower(est))
    run_fit(paste0(base, "_single"),
            sprintf('cfa(%s, data = %s, missing = "ml", estimator = "%s")', s$model, ds, est), ds,
            casewise = ds != "bfi", extra_fun = em_tight)
    for (lv in names(levels_eq))
      run_fit(paste0(base, "_", lv),
              sprintf('cfa(%s, data = %s, missing = "ml", estimator = "%s", group = "%s"%s)',
                      s$model, ds, est, s$group, eq_str(levels_eq[[lv]])), ds)
  }
}

# ---------------------------------------------------------------------------------------------
# 4. Nested-model (difference) tests between successive invariance levels
# ---------------------------------------------------------------------------------------------
lrt_table <- function(...) {
  t <- as.data.frame(lavTestLRT(...))
  list(model = rownames(t), Df = t$Df, AIC = t$AIC, BIC = t$BIC, Chisq = t$Chisq,
       Chisq_diff = t[["Chisq diff"]], Df_diff = t[["Df diff"]], Pr = t[["Pr(>Chisq)"]],
       method = attr(t, "heading") %||% NA)
}
lrt_pair <- function(f0, f1, method) {
  # f0 less restricted, f1 more restricted; lavaan reorders by df anyway
  a <- if (is.null(method)) lavTestLRT(f0, f1) else lavTestLRT(f0, f1, method = method)
  list(chisq = a$Chisq, df = a$Df, chisq_diff = a[["Chisq diff"]][2], df_diff = a[["Df diff"]][2],
       pvalue = a[["Pr(>Chisq)"]][2], heading = paste(attr(a, "heading"), collapse = " "))
}
lrt <- list(); lvn <- names(levels_eq)
ladders <- list(mlr_hs = "MLR", fiml_hs_mcar_ml = "ML", fiml_hs_mcar_mlr = "MLR", fiml_hs_mar_ml = "ML",
                fiml_hs_mar_mlr = "MLR", fiml_bfi_ml = "ML", fiml_bfi_mlr = "MLR")
for (ld in names(ladders)) {
  fl <- fits[paste0(ld, "_", lvn)]
  for (k in 2:4) {
    key <- paste0(ld, "_", lvn[k], "_vs_", lvn[k - 1])
    if (ladders[[ld]] == "ML") {
      lrt[[key]] <- list(standard = lrt_pair(fl[[k - 1]], fl[[k]], NULL))
    } else {
      r <- list()
      for (m in c("satorra.bentler.2001", "satorra.bentler.2010")) {
        r[[m]] <- tryCatch(lrt_pair(fl[[k - 1]], fl[[k]], m), error = function(e) list(error = conditionMessage(e)))
      }
      # the ingredients of the 2001 statistic: T0, T1 (ML), c0, c1 (scaling factors), df
      r$ingredients <- list(
        chisq = sapply(fl[c(k - 1, k)], fitMeasures, "chisq"), df = sapply(fl[c(k - 1, k)], fitMeasures, "df"),
        scaling_factor = sapply(fl[c(k - 1, k)], fitMeasures, "chisq.scaling.factor"))
      lrt[[key]] <- r
    }
  }
}
calls$lrt <- c('ML ladders: lavTestLRT(less_restricted, more_restricted)  # standard chi-square difference',
               'MLR ladders: lavTestLRT(less, more, method = "satorra.bentler.2001") and method = "satorra.bentler.2010"',
               'successive pairs configural/metric, metric/scalar, scalar/strict')

# ---------------------------------------------------------------------------------------------
# 5. Pairwise WLSMV with missing ordinal items
# ---------------------------------------------------------------------------------------------
dump_ord <- function(fit, name, call, data_name, full_gamma) {
  ng <- lavInspect(fit, "ngroups")
  ss <- per_group(lavInspect(fit, "sampstat", add.labels = TRUE), ng)
  wlsv <- lavTech(fit, "wls.v"); gam <- lavTech(fit, "gamma"); wlsobs <- lavTech(fit, "wls.obs")
  groups <- lapply(seq_len(ng), function(g) {
    G <- as.matrix(gam[[g]])
    list(label = lavInspect(fit, "group.label")[g] %||% NA,
         nobs = lavInspect(fit, "nobs")[g], norig = lavInspect(fit, "norig")[g],
         th = unname(ss[[g]]$th), th_names = names(ss[[g]]$th),
         cor = unname(unclass(ss[[g]]$cov)), names = colnames(ss[[g]]$cov),
         wls_obs = unname(wlsobs[[g]]),
         wls_v_diag = unname(diag(as.matrix(wlsv[[g]]))),
         gamma = if (full_gamma) unname(G) else NULL,
         gamma_diag = unname(diag(G)),
         coverage = mat(per_group(lavInspect(fit, "coverage"), ng)[[g]]),
         patterns = pattern_table(fit, g))
  })
  catml <- tryCatch(lavaan:::lav_fit_catml_dwls(fit), error = function(e) list(error = conditionMessage(e)))
  tests <- lapply(lavInspect(fit, "test"), function(t) lapply(unclass(t), function(v) if (is.numeric(v)) unname(v) else v))
  pe <- as.data.frame(parameterEstimates(fit, standardized = TRUE))
  res <- list(name = name, call = call, data = data_name,
              options = lapply(lavInspect(fit, "options")[opt_keys], function(v) v),
              converged = lavInspect(fit, "converged"), iterations = lavInspect(fit, "iterations"),
              ntotal = lavInspect(fit, "ntotal"), ngroups = ng, group_labels = lavInspect(fit, "group.label"),
              npar = lavInspect(fit, "npar"),
              estimates = pe[, intersect(est_cols, names(pe))],
              thresholds = pe[pe$op == "|", intersect(est_cols, names(pe))],
              fit = as.list(fitMeasures(fit)), test = tests, catml = catml, groups = groups)
  if (ng == 1) res$vcov <- mat(lavInspect(fit, "vcov"))
  wjson(res, paste0(name, ".json"))
}
run_ord <- function(name, call, data_name, full_gamma = TRUE) {
  calls[[name]] <<- call
  tt <- system.time(fit <- suppressWarnings(eval(parse(text = call))))
  timings_fit[[name]] <<- unname(tt["elapsed"])
  dump_ord(fit, name, call, data_name, full_gamma)
  fits[[name]] <<- fit
  cat(sprintf("%-32s %7.1f s  chisq %.6f  df %d\n", name, tt["elapsed"],
              fitMeasures(fit, "chisq"), as.integer(fitMeasures(fit, "df"))))
  invisible(fit)
}
run_ord("pairwise_hs_ord_single", 'cfa(HS3, data = hs_ord_mcar, ordered = TRUE, missing = "pairwise")',
        "hs_ord_mcar")
run_ord("pairwise_bfi_single", 'cfa(BFI5, data = bfi[, items_bfi], ordered = TRUE, missing = "pairwise")',
        "bfi", full_gamma = FALSE)
# categorical invariance, Wu & Estabrook (2016) identification as in tests/reference/wlsmv
inv_syntax <- list()
ord_steps <- list(hs = c("configural", "thresholds", "loadings"), bfi = c("configural", "thresholds"))
ord_ge <- list(configural = "", thresholds = "thresholds", loadings = c("thresholds", "loadings"))
for (ds in names(ord_steps)) for (step in ord_steps[[ds]]) {
  if (ds == "hs") {
    syn <- as.character(measEq.syntax(HS3, data = hs_ord_mcar, ordered = items_hs, parameterization = "delta",
                                      ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = "school",
                                      group.equal = ord_ge[[step]], missing = "pairwise"))
    call <- 'cfa(syn, data = hs_ord_mcar, ordered = items_hs, group = "school", estimator = "WLSMV", missing = "pairwise", parameterization = "delta")'
  } else {
    bfi_g <- bfi[, c(items_bfi, "gender")]
    syn <- as.character(measEq.syntax(BFI5, data = bfi_g, ordered = items_bfi, parameterization = "delta",
                                      ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = "gender",
                                      group.equal = ord_ge[[step]], missing = "pairwise"))
    call <- 'cfa(syn, data = bfi_g, ordered = items_bfi, group = "gender", estimator = "WLSMV", missing = "pairwise", parameterization = "delta")'
  }
  name <- paste0("pairwise_", ds, "_", step)
  inv_syntax[[name]] <- syn
  run_ord(name, call, if (ds == "hs") "hs_ord_mcar" else "bfi", full_gamma = ds == "hs")
  calls[[name]] <- paste0("syn <- measEq.syntax(model, ..., ordered = items, ID.fac = 'std.lv', ID.cat = 'Wu.Estabrook.2016', parameterization = 'delta', missing = 'pairwise', group.equal = ",
                          deparse(ord_ge[[step]]), "); ", call)
}
wjson(inv_syntax, "pairwise_inv_syntax.json")
for (pr in list(c("pairwise_hs_configural", "pairwise_hs_thresholds"), c("pairwise_hs_thresholds", "pairwise_hs_loadings"),
                c("pairwise_bfi_configural", "pairwise_bfi_thresholds"))) {
  key <- paste0(pr[2], "_vs_", sub("pairwise_[a-z]+_", "", pr[1]))
  lrt[[key]] <- tryCatch(list(satorra.2000 = lrt_pair(fits[[pr[1]]], fits[[pr[2]]], NULL)),
                         error = function(e) list(error = conditionMessage(e)))
}
calls$lrt_pairwise <- "lavTestLRT(less, more)  # WLSMV default: method = 'satorra.2000', scaled.shifted = TRUE"
wjson(lrt, "lrt.json")

# ---------------------------------------------------------------------------------------------
# 6. Little's (1988) MCAR test from the published formula
# ---------------------------------------------------------------------------------------------
# d2 = sum_j n_j (ybar_j - mu_j)' Sigma_j^{-1} (ybar_j - mu_j), df = sum_j p_j - p, over the
# missing-data patterns j (empty rows dropped), mu / Sigma the ML (divisor N) EM estimates.
little <- function(Y, mu, Sigma) {
  Y <- as.matrix(Y); Y <- Y[rowSums(!is.na(Y)) > 0, , drop = FALSE]
  R <- !is.na(Y); key <- apply(1L * R, 1, paste, collapse = "")
  pats <- names(sort(table(key), decreasing = TRUE))
  rows <- lapply(pats, function(k) {
    idx <- which(key == k); o <- R[idx[1], ]
    d <- colMeans(Y[idx, o, drop = FALSE]) - mu[o]
    c(n = length(idx), p = sum(o), d2 = length(idx) * drop(t(d) %*% solve(Sigma[o, o, drop = FALSE], d)))
  })
  tab <- as.data.frame(do.call(rbind, rows)); tab$pattern <- pats
  d2 <- sum(tab$d2); df <- sum(tab$p) - ncol(Y)
  list(chisq = d2, df = df, pvalue = pchisq(d2, df, lower.tail = FALSE), n = nrow(Y),
       npatterns = length(pats), patterns = tab[, c("pattern", "n", "p", "d2")])
}
# independent EM (not lavaan's code): E-step conditional means / covariances per pattern
em_norm <- function(Y, tol = 1e-12, maxit = 100000L) {
  Y <- as.matrix(Y); Y <- Y[rowSums(!is.na(Y)) > 0, , drop = FALSE]
  n <- nrow(Y); p <- ncol(Y); R <- !is.na(Y); key <- apply(1L * R, 1, paste, collapse = "")
  groups <- split(seq_len(n), key)
  mu <- colMeans(Y, na.rm = TRUE); S <- diag(apply(Y, 2, var, na.rm = TRUE), p)
  for (it in seq_len(maxit)) {
    T1 <- numeric(p); T2 <- matrix(0, p, p)
    for (idx in groups) {
      o <- R[idx[1], ]; m <- !o; Yo <- Y[idx, o, drop = FALSE]
      Yf <- matrix(0, length(idx), p); Yf[, o] <- Yo
      if (any(m)) {
        B <- S[m, o, drop = FALSE] %*% solve(S[o, o, drop = FALSE])
        Yf[, m] <- sweep(sweep(Yo, 2, mu[o]) %*% t(B), 2, mu[m], "+")
        T2[m, m] <- T2[m, m] + length(idx) * (S[m, m, drop = FALSE] - B %*% S[o, m, drop = FALSE])
      }
      T1 <- T1 + colSums(Yf); T2 <- T2 + crossprod(Yf)
    }
    mu1 <- T1 / n; S1 <- T2 / n - tcrossprod(mu1)
    delta <- max(abs(c(mu1 - mu, S1 - S))); mu <- mu1; S <- S1
    if (delta < tol) break
  }
  dimnames(S) <- list(colnames(Y), colnames(Y)); names(mu) <- colnames(Y)
  list(mu = mu, Sigma = S, iterations = it, delta = delta)
}
little_sets <- list(hs_mcar = hs_mcar[, items_hs], hs_mar = hs_mar[, items_hs], bfi = bfi[, items_bfi],
                    hs_ord_mcar = hs_ord_mcar[, items_hs])
little_out <- list(
  formula = "d2 = sum_j n_j (ybar_j - mu_j)' Sigma_j^{-1} (ybar_j - mu_j); df = sum_j p_j - p; p = P(chi2_df > d2); mu, Sigma: ML (divisor N) EM estimates; rows with every item missing dropped",
  second_implementation = "No Debian package ships Little's test (apt-cache: no r-cran-naniar, r-cran-misty, r-cran-missmech, r-cran-baylor*; r-cran-mice and r-cran-norm have no MCAR test). Cross-check instead: the same formula on an independent EM written in this script (em_norm, tol 1e-12) versus lavaan's EM.")
for (ds in names(little_sets)) {
  Y <- little_sets[[ds]]
  # (a) lavaan's EM saturated estimates, lavaan defaults (as in lavInspect(fit, "sampstat.h1"))
  h1 <- lavInspect(suppressWarnings(cfa(paste(sprintf("%s ~~ %s", names(Y), names(Y)), collapse = "\n"),
                                        data = Y, missing = "ml")), "sampstat.h1")
  a <- little(Y, h1$mean, h1$cov)
  # (b) lavaan's EM run to full convergence
  Yne <- as.matrix(Y[rowSums(!is.na(Y)) > 0, ])
  em2 <- lavaan:::lav_mvnorm_missing_h1_estimate_moments(Y = Yne, max.iter = 100000L, tol = 1e-12)
  b <- little(Y, em2$Mu, em2$Sigma)
  # (c) independent EM in this script
  em3 <- em_norm(Y)
  c3 <- little(Y, em3$mu, em3$Sigma)
  little_out[[ds]] <- list(
    lavaan_em_default = a[c("chisq", "df", "pvalue", "n", "npatterns")],
    lavaan_em_tight = b[c("chisq", "df", "pvalue", "n", "npatterns")],
    own_em = c(c3[c("chisq", "df", "pvalue", "n", "npatterns")], list(em_iterations = em3$iterations)),
    max_abs_diff_sigma_own_vs_lavaan_tight = max(abs(em3$Sigma - em2$Sigma)),
    em_mean = unname(em3$mu), em_cov = mat(em3$Sigma),
    patterns = c3$patterns)
  cat(sprintf("Little %-12s chisq %.6f (lavaan EM default %.6f, tight %.6f) df %d p %.6g\n", ds, c3$chisq,
              a$chisq, b$chisq, c3$df, c3$pvalue))
}
calls$little_mcar <- c(
  'lavInspect(cfa("x1 ~~ x1 ...", data = Y, missing = "ml"), "sampstat.h1")  # lavaan EM, default tol 1e-5',
  'lavaan:::lav_mvnorm_missing_h1_estimate_moments(Y = Y[nonempty, ], max.iter = 1e5, tol = 1e-12)',
  'em_norm(Y, tol = 1e-12)  # this script', 'little(Y, mu, Sigma)  # this script')
wjson(little_out, "little_mcar.json")

# ---------------------------------------------------------------------------------------------
# 7. Timing (median of 3, system.time) for the benchmark
# ---------------------------------------------------------------------------------------------
timing <- NULL
if (Sys.getenv("MISSING_REF_TIMING", "1") != "0") {
  time3 <- function(expr_text) {
    t <- sapply(1:3, function(i) {
      gc(); tt <- system.time(suppressWarnings(eval(parse(text = expr_text)))); c(tt["elapsed"], tt["user.self"] + tt["sys.self"])
    })
    list(call = expr_text, elapsed = unname(t[1, ]), cpu = unname(t[2, ]),
         median_elapsed = median(t[1, ]), median_cpu = median(t[2, ]))
  }
  load_before <- readLines("/proc/loadavg")
  timing <- list(
    bfi_fiml_ml = time3('cfa(BFI5, data = bfi, missing = "ml", estimator = "ML")'),
    bfi_fiml_mlr = time3('cfa(BFI5, data = bfi, missing = "ml", estimator = "MLR")'),
    bfi_fiml_ml_scalar_gender = time3('cfa(BFI5, data = bfi, missing = "ml", estimator = "ML", group = "gender", group.equal = c("loadings", "intercepts"))'),
    loadavg_before = load_before, loadavg_after = readLines("/proc/loadavg"),
    machine = list(nproc = parallel::detectCores(), sysname = Sys.info()[["sysname"]], release = Sys.info()[["release"]],
                   blas = tryCatch(sessionInfo()$BLAS, error = function(e) NA)),
    note = "seconds; elapsed is wall clock (the machine may be shared: cpu = user + system is the steadier number); median of 3 runs")
}

# ---------------------------------------------------------------------------------------------
# provenance
# ---------------------------------------------------------------------------------------------
prov <- list(
  R = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")),
                  semTools = as.character(packageVersion("semTools")),
                  jsonlite = as.character(packageVersion("jsonlite")),
                  digest = as.character(packageVersion("digest"))),
  script = "tests/reference/missing/missing_reference.R",
  models = list(HS3 = HS3, BFI5 = BFI5),
  data = data_info,
  calls = calls,
  per_fit = c("parameterEstimates(fit, standardized = TRUE)[, lhs op rhs block group label est se z pvalue ci.lower ci.upper std.lv std.all]",
              "fitMeasures(fit) (all)", "lavInspect(fit, 'test')", "lavInspect(fit, 'options')[information, h1.information, observed.information, se, test, em.h1.tol, ...]",
              "per group: lavInspect(fit, 'implied'), lavInspect(fit, 'sampstat.h1') (EM saturated moments), fit@loglik$loglik.group, fit@h1$logl$loglik.group, lavInspect(fit, 'coverage'), fit@Data@Mp (patterns, freq), lavInspect(fit, 'empty.idx'), nobs, norig",
              "single-group HS FIML and MLR fits ('casewise'): lavInspect(fit, 'case.idx'), lavInspect(fit, 'loglik.casewise'), lavScores(fit), lavInspect(fit, 'vcov'), lavInspect(fit, 'information.observed'), lavInspect(fit, 'information.first.order')",
              "single-group FIML fits: fit_em_tight = fitMeasures(update(fit, em.h1.tol = 1e-12, em.h1.iter.max = 1e5))",
              "pairwise WLSMV: lavInspect(fit, 'sampstat') (thresholds, polychorics), lavTech(fit, 'wls.obs' / 'wls.v' / 'gamma'), lavaan:::lav_fit_catml_dwls(fit)"),
  sha256 = list(
    holzinger_swineford.csv = sha256("psychometrics/datasets/holzinger_swineford.csv"),
    bfi.csv = sha256("psychometrics/datasets/bfi.csv"),
    `tests/reference/wlsmv/hs_ord.csv` = sha256("tests/reference/wlsmv/hs_ord.csv"),
    hs_mcar.csv = sha256(file.path(out, "hs_mcar.csv")),
    hs_mar.csv = sha256(file.path(out, "hs_mar.csv")),
    hs_ord_mcar.csv = sha256(file.path(out, "hs_ord_mcar.csv"))),
  seconds_per_fixture_fit = timings_fit,
  timing = timing)
writeLines(toJSON(prov, auto_unbox = TRUE, pretty = TRUE, digits = NA, null = "null"), file.path(out, "provenance.json"))
cat("done\n")
