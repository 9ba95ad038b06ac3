# Issue 13 (c)/(d): the FIML (missing = "ml") and MLR fixtures at lavaan's *exact* optimum, plus
# modification indices and score tests of FIML fits.
#   Rscript tests/reference/missing/tight/fiml_tight_reference.R      (from the repository root)
#
# Why: lavaan 0.6-14 stops nlminb ~1e-5 (HS multi-group) to ~1e-4 (bfi) short of the FIML optimum,
# so estimates could only be compared at 3e-5 / 2e-4. Tightening nlminb's control does not help:
# control = list(rel.tol = 1e-12) on bfi runs 545 iterations to a non-optimum (fmin 1.0167 vs 0.83469,
# "the optimizer warns that a solution has NOT been found"), rel.tol 1e-13 / 1e-15 fail in the same way
# (measured in this session). Restarting nlminb from its own solution (start = fit) makes 1 iteration and
# does not move. So each fit is finished by polish.R: Newton steps on lavaan's own objective
# (lav_model_objective) with lavaan's analytic gradient (lav_model_gradient; in multi-group FIML fits it
# is (N_g/N) x the derivative of the objective — measured, ratio exact — which is why nlminb stops early;
# polish.R rescales it) and a central-difference Hessian of that gradient, in the equality-constraint
# subspace (eq.constraints.K). lavaan then re-evaluates everything (SEs, tests, fit measures, MIs) at that
# point with optim.method = "none". Each JSON records the certificate: the largest central-difference
# derivative of lavaan's objective along the free directions at lavaan's default stop and at the polished
# point, and fmin at both.
# The data sets are the CSVs of the parent folder (made by ../missing_reference.R); EM for H1 at lavaan's
# default (em.h1.tol 1e-5), as in the parent fixtures.
suppressPackageStartupMessages({ library(lavaan); library(jsonlite); library(digest) })
out <- "tests/reference/missing/tight"
source(file.path(out, "polish.R"))
wjson <- function(x, name) writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, na = "null", null = "null",
                                              dataframe = "columns", matrix = "rowmajor"), file.path(out, name))
HS3 <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI5 <- paste("agree =~ A1 + A2 + A3 + A4 + A5", "consc =~ C1 + C2 + C3 + C4 + C5",
              "extra =~ E1 + E2 + E3 + E4 + E5", "neuro =~ N1 + N2 + N3 + N4 + N5",
              "open =~ O1 + O2 + O3 + O4 + O5", sep = "\n")
files <- c(hs = "psychometrics/datasets/holzinger_swineford.csv", bfi = "psychometrics/datasets/bfi.csv",
           hs_mcar = "tests/reference/missing/hs_mcar.csv", hs_mar = "tests/reference/missing/hs_mar.csv")
datasets <- lapply(files, read.csv)
list2env(datasets, environment())
levels_eq <- list(single = NA, configural = NULL, metric = "loadings", scalar = c("loadings", "intercepts"),
                  strict = c("loadings", "intercepts", "residuals"))
eq_str <- function(ge) if (is.null(ge)) "" else paste0(", group.equal = ", deparse(ge))
only <- Sys.getenv("TIGHT_ONLY", "")        # e.g. TIGHT_ONLY=fiml_hs_mar to redo a subset
calls <- list(); secs <- list()
`%||%` <- function(a, b) if (is.null(a)) b else a

score_tests <- function(f) {
  st <- tryCatch(lavTestScore(f)$uni, error = function(e) NULL)
  if (is.null(st)) return(NULL)
  pt <- parTable(f)
  row_of <- function(pl) pt[match(pl, pt$plabel), c("lhs", "op", "rhs", "group")]
  list(uni = as.data.frame(st), lhs_param = row_of(st$lhs), rhs_param = row_of(st$rhs))
}

polished_info <- list()
polished <- list()   # ML fits' polished parameter tables: the MLR fit of the same model has the same estimates
run <- function(name, call, with_mi, same_as = NULL) {
  calls[[name]] <<- call
  if (nzchar(only) && !startsWith(name, only)) return(invisible(NULL))
  if (Sys.getenv("TIGHT_SKIP_DONE") == "1" && file.exists(file.path(out, paste0(name, ".json")))) return(invisible(NULL))
  t0 <- proc.time()[["user.self"]]
  if (!is.null(same_as) && !is.null(polished[[same_as]])) {
    # MLR = ML estimates: evaluate the MLR fit (SEs, tests) at the polished ML point
    f <- suppressWarnings(eval(parse(text = sub(")$", ", start = polished[[same_as]], optim.method = \"none\")", call))))
    attr(f, "polish") <- c(list(note = paste("estimates of", same_as, "(polished ML fit of the same model); lavaan evaluates the MLR fit there")),
                           polished_info[[same_as]])
  } else {
    f0 <- suppressWarnings(eval(parse(text = call)))
    f <- suppressWarnings(polish(f0, verbose = FALSE))
  }
  if (with_mi) {
    pt <- parTable(f); pt$start <- pt$est
    polished[[name]] <<- pt
    polished_info[[name]] <<- attr(f, "polish")[c("fmin_lavaan_default", "fmin_polished", "max_abs_numgrad_default", "max_abs_numgrad_polished")]
  }
  pe <- parameterEstimates(f)
  pe <- as.data.frame(pe)[, intersect(c("lhs", "op", "rhs", "group", "label", "est", "se"), names(pe))]
  res <- list(name = name, call = call, polish = attr(f, "polish"), ntotal = lavInspect(f, "ntotal"),
              npar = lavInspect(f, "npar"), group_labels = lavInspect(f, "group.label"),
              estimates = pe, fit = as.list(fitMeasures(f)))
  if (with_mi) {
    res$modindices <- as.data.frame(modindices(f))      # default: information = "expected"
    if (lavInspect(f, "ngroups") > 1) res$score_tests <- score_tests(f)
  }
  wjson(res, paste0(name, ".json"))
  secs[[name]] <<- proc.time()[["user.self"]] - t0
  p <- res$polish
  cat(sprintf("%-28s %6.1f s cpu  numgrad %.1e -> %.1e  chisq %.8f\n", name, secs[[name]],
              p$max_abs_numgrad_default %||% NA, p$max_abs_numgrad_polished %||% NA, fitMeasures(f, "chisq")))
}

for (ds in c("hs_mcar", "hs_mar", "bfi")) {
  model <- if (ds == "bfi") "BFI5" else "HS3"; grp <- if (ds == "bfi") "gender" else "school"
  for (est in c("ML", "MLR")) for (lv in names(levels_eq)) {
    g <- if (lv == "single") "" else sprintf(', group = "%s"%s', grp, eq_str(levels_eq[[lv]]))
    run(sprintf("fiml_%s_%s_%s", ds, tolower(est), lv),
        sprintf('cfa(%s, data = %s, missing = "ml", estimator = "%s"%s)', model, ds, est, g),
        with_mi = est == "ML", same_as = if (est == "MLR") sprintf("fiml_%s_ml_%s", ds, lv))
  }
}
for (lv in names(levels_eq)) {
  g <- if (lv == "single") "" else sprintf(', group = "school"%s', eq_str(levels_eq[[lv]]))
  run(paste0("mlr_hs_", lv), sprintf('cfa(HS3, data = hs, estimator = "MLR"%s)', g), with_mi = FALSE)
}

if (!nzchar(only)) {
  prov <- list(R = R.version.string,
               packages = list(lavaan = as.character(packageVersion("lavaan")),
                               jsonlite = as.character(packageVersion("jsonlite"))),
               script = "tests/reference/missing/tight/fiml_tight_reference.R", helper = "tests/reference/missing/tight/polish.R",
               models = list(HS3 = HS3, BFI5 = BFI5),
               data_sha256 = lapply(files, function(p) digest(file = p, algo = "sha256")),
               calls = calls,
               per_fit_outputs = "parameterEstimates(f)[lhs, op, rhs, group, label, est, se]; fitMeasures(f); ML fits: modindices(f) (expected information, lavaan's default) and lavTestScore(f)$uni (multi-group)",
               certificate = lapply(setNames(nm = names(calls)), function(nm) {
                 j <- fromJSON(file.path(out, paste0(nm, ".json")))$polish
                 j[intersect(names(j), c("note", "fmin_lavaan_default", "fmin_polished", "max_abs_numgrad_default", "max_abs_numgrad_polished"))] }),
               cpu_seconds_last_run = secs,
               machine_note = "timings on a shared, loaded 2-core machine; not benchmarks")
  wjson(prov, "provenance.json")
}
