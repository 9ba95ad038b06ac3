# Normal-ogive GRM by lavaan's marginal ML (estimator = "MML"), for issue 17.
#   Rscript tests/reference/irt/lavaan_mml.R       (run from the repository root; ~5-15 minutes)
# Needs bfi_agree.csv written by irt_reference.R.  Writes lavaan_mml_<name>.json and
# lavaan_provenance.json.
#
# lavaan's MML metric (std.lv = TRUE, parameterization "mml"): y* = lambda * theta + e, e ~ N(0, 1),
#   P(X >= k | theta) = pnorm(lambda * theta - tau_k),  theta ~ N(0, 1),
# integrated by Gauss-Hermite quadrature with integration.ngh = 21 points (lavaan's default).
# So lambda is the normal-ogive slope a and tau_k = a * b_k; the logistic slope is about 1.702 * a.
#
# What happened with lavaan 0.6.14 (see NOTES.md / ENGINE_EVALUATION.md):
#   * 6 categories, all 2709 rows, default starting values: 9 minutes, "not converged", thresholds
#     not even ordered (nonsense).  Not stored.
#   * the same with WLSMV starting values: see lavaan_mml_bfi_agree6.json (timed below).
#   * with the default gradient check, nlminb's solutions are flagged "not converged" (gradient not
#     near zero); check.gradient = FALSE keeps them, and mirt_reference.py checks them against the
#     exact maximiser of the same 21-point likelihood.
suppressPackageStartupMessages({library(lavaan); library(jsonlite); library(digest)})
out <- "tests/reference/irt"
d <- read.csv(file.path(out, "bfi_agree.csv"))
items <- paste0("A", 1:5)
model <- "F =~ A1 + A2 + A3 + A4 + A5"

cases <- list(
  binary = list(data = as.data.frame(lapply(d[, items], function(x) as.integer(x >= 4))),
                what = "bfi_agree.csv A1..A5 dichotomised: 1 if category >= 4 (i.e. raw 5-6), all 2709 rows",
                start = "default"),
  bfi_agree6_n500 = list(data = d[1:500, items],
                         what = "bfi_agree.csv A1..A5 (0..5), rows 1-500", start = "WLSMV"),
  bfi_agree6 = list(data = d[, items], what = "bfi_agree.csv A1..A5 (0..5), all 2709 rows", start = "WLSMV")
)

calls <- list()
for (name in names(cases)) {
  cs <- cases[[name]]
  x <- cs$data
  start <- if (cs$start == "WLSMV") cfa(model, data = x, ordered = names(x), std.lv = TRUE) else "default"
  t0 <- Sys.time()
  fit <- cfa(model, data = x, ordered = names(x), estimator = "MML", std.lv = TRUE,
             start = start, check.gradient = FALSE)
  secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  pe <- parameterEstimates(fit)
  pe <- pe[pe$op %in% c("=~", "|"), c("lhs", "op", "rhs", "est", "se")]
  opt <- lavInspect(fit, "optim")
  call <- sprintf('cfa("%s", data = <%s>, ordered = TRUE, estimator = "MML", std.lv = TRUE, start = %s, check.gradient = FALSE)',
                  model, name, if (cs$start == "WLSMV") "cfa(<same, WLSMV>)" else '"default"')
  calls[[name]] <- call
  write_json(list(call = call, data = cs$what, items = items, n_persons = nrow(x),
                  metric = "P(X >= k | theta) = pnorm(lambda * theta - tau_k), theta ~ N(0,1); lambda = normal-ogive slope",
                  integration_ngh = lavInspect(fit, "options")$integration.ngh,
                  converged = lavInspect(fit, "converged"), iterations = lavInspect(fit, "iterations"),
                  fx = opt$fx, seconds = secs,
                  estimates = pe),
             file.path(out, paste0("lavaan_mml_", name, ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE, na = "null", dataframe = "columns")
  cat(sprintf("%s: %.1f s, converged %s, iterations %d, fx %.6f\n", name, secs,
              lavInspect(fit, "converged"), lavInspect(fit, "iterations"), opt$fx))
}

write_json(list(R = R.version.string,
                packages = list(lavaan = as.character(packageVersion("lavaan")),
                                jsonlite = as.character(packageVersion("jsonlite"))),
                script = "tests/reference/irt/lavaan_mml.R", calls = calls,
                sha256 = list(bfi_agree.csv = digest(file = file.path(out, "bfi_agree.csv"), algo = "sha256"))),
           file.path(out, "lavaan_provenance.json"), auto_unbox = TRUE, pretty = TRUE)
