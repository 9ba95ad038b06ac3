# Reference values for psychometrics.cfa (tests/test_cfa*.py), from lavaan's cfa().
#   Rscript tests/reference/cfa/cfa_reference.R      (run from the repository root)
# Data: the shipped CSVs psychometrics/datasets/holzinger_swineford.csv and bfi.csv
# (exported by tests/reference/datasets/export_datasets.R); their SHA-256 go to provenance.json.
suppressPackageStartupMessages({library(lavaan); library(jsonlite); library(digest)})
out <- "tests/reference/cfa"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
bfi <- read.csv("psychometrics/datasets/bfi.csv")
bfi_edu <- bfi[!is.na(bfi$education), ]  # five education groups (rows without education removed)

hs3 <- "visual =~ x1 + x2 + x3
        textual =~ x4 + x5 + x6
        speed =~ x7 + x8 + x9"
hs3_resid <- paste(hs3, "\n x7 ~~ x8")
hs_labels <- "visual =~ x1 + a*x2 + a*x3
              textual =~ x4 + x5 + x6
              speed =~ x7 + x8 + x9
              x7 ~~ x8"
hs_higher <- paste(hs3, "\n g =~ visual + textual + speed")
# bifactor exactly as psychometrics.cfa.models.bifactor() writes it (a Heywood case: x1's residual variance < 0)
hs_bifactor <- "general =~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
general ~~ 0*visual
general ~~ 0*textual
general ~~ 0*speed
visual ~~ 0*textual
visual ~~ 0*speed
textual ~~ 0*speed"
bfi5 <- "agree =~ A1 + A2 + A3 + A4 + A5
         consc =~ C1 + C2 + C3 + C4 + C5
         extra =~ E1 + E2 + E3 + E4 + E5
         neuro =~ N1 + N2 + N3 + N4 + N5
         open =~ O1 + O2 + O3 + O4 + O5"

fits <- list(
  hs3 = list(model = hs3, data = "hs", call = 'cfa(hs3, data = hs)',
             fit = cfa(hs3, data = hs)),
  hs3_stdlv = list(model = hs3, data = "hs", call = 'cfa(hs3, data = hs, std.lv = TRUE)',
                   fit = cfa(hs3, data = hs, std.lv = TRUE)),
  hs3_meanstructure = list(model = hs3, data = "hs", call = 'cfa(hs3, data = hs, meanstructure = TRUE)',
                   fit = cfa(hs3, data = hs, meanstructure = TRUE)),
  hs3_resid = list(model = hs3_resid, data = "hs", call = 'cfa(hs3_resid, data = hs)',
                   fit = cfa(hs3_resid, data = hs)),
  hs_labels = list(model = hs_labels, data = "hs", call = 'cfa(hs_labels, data = hs)',
                   fit = cfa(hs_labels, data = hs)),
  hs_higher = list(model = hs_higher, data = "hs", call = 'cfa(hs_higher, data = hs)',
                   fit = cfa(hs_higher, data = hs)),
  hs_bifactor = list(model = hs_bifactor, data = "hs", call = 'cfa(hs_bifactor, data = hs, std.lv = TRUE)',
                     fit = cfa(hs_bifactor, data = hs, std.lv = TRUE)),
  bfi5 = list(model = bfi5, data = "bfi", call = 'cfa(bfi5, data = bfi)  # listwise: complete cases on the 25 items',
              fit = cfa(bfi5, data = bfi)),
  hs_configural = list(model = hs3, data = "hs", group = "school",
                       call = 'cfa(hs3, data = hs, group = "school")',
                       fit = cfa(hs3, data = hs, group = "school")),
  hs_metric = list(model = hs3, data = "hs", group = "school", group_equal = c("loadings"),
                   call = 'cfa(hs3, data = hs, group = "school", group.equal = "loadings")',
                   fit = cfa(hs3, data = hs, group = "school", group.equal = "loadings")),
  hs_scalar = list(model = hs3, data = "hs", group = "school", group_equal = c("loadings", "intercepts"),
                   call = 'cfa(hs3, data = hs, group = "school", group.equal = c("loadings", "intercepts"))',
                   fit = cfa(hs3, data = hs, group = "school", group.equal = c("loadings", "intercepts"))),
  hs_strict = list(model = hs3, data = "hs", group = "school",
                   group_equal = c("loadings", "intercepts", "residuals"),
                   call = 'cfa(hs3, data = hs, group = "school", group.equal = c("loadings", "intercepts", "residuals"))',
                   fit = cfa(hs3, data = hs, group = "school", group.equal = c("loadings", "intercepts", "residuals"))),
  hs_all_equal = list(model = hs3, data = "hs", group = "school",
                      group_equal = c("loadings", "intercepts", "means", "residuals", "lv.variances", "lv.covariances"),
                      call = 'cfa(hs3, data = hs, group = "school", group.equal = c("loadings", "intercepts", "means", "residuals", "lv.variances", "lv.covariances"))',
                      fit = cfa(hs3, data = hs, group = "school", group.equal = c("loadings", "intercepts", "means", "residuals", "lv.variances", "lv.covariances"))),
  bfi_education = list(model = "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5",
                       data = "bfi_edu", group = "education", group_equal = c("loadings"),
                       call = 'cfa(model, data = bfi[!is.na(bfi$education), ], group = "education", group.equal = "loadings")',
                       fit = cfa("agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5",
                                 data = bfi_edu, group = "education", group.equal = "loadings"))
)

mat_list <- function(x) {
  # resid()/inspect() give a matrix (one group) or a list of them (several groups)
  if (is.matrix(x)) return(list(rownames = rownames(x), data = unclass(x)))
  lapply(x, function(m) if (is.matrix(m)) list(rownames = rownames(m), data = unclass(m)) else as.list(m))
}

for (name in names(fits)) {
  f <- fits[[name]]$fit
  pe <- parameterEstimates(f, standardized = TRUE)
  mi <- modindices(f)
  res <- resid(f, type = "cor")
  if (lavInspect(f, "ngroups") == 1) res <- list(res)
  res <- lapply(res, function(r) list(cov = list(rownames = rownames(r$cov), data = unclass(r$cov)),
                                      mean = if (!is.null(r$mean)) as.list(r$mean) else NULL))
  r2 <- lavInspect(f, "rsquare")
  if (!is.list(r2)) r2 <- list(r2)
  r2 <- lapply(r2, as.list)
  fits[[name]]$output <- list(
    model = fits[[name]]$model, data = fits[[name]]$data, call = fits[[name]]$call,
    group = fits[[name]]$group, group_equal = fits[[name]]$group_equal,
    converged = lavInspect(f, "converged"), iterations = lavInspect(f, "iterations"),
    ntotal = lavInspect(f, "ntotal"), nobs = as.list(lavInspect(f, "nobs")),
    group_labels = lavInspect(f, "group.label"),
    fit = as.list(fitMeasures(f)),
    estimates = as.data.frame(pe),
    modindices = as.data.frame(mi),
    resid_cor = res,
    rsquare = r2
  )
  write_json(fits[[name]]$output, file.path(out, paste0(name, ".json")),
             digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", dataframe = "columns")
}

# Nested-model comparisons (lavTestLRT, standard ML chi-square difference).
lrt <- function(...) { t <- as.data.frame(lavTestLRT(...)); t$model <- rownames(t); t }
comparisons <- list(
  hs3_vs_resid = lrt(fits$hs3_resid$fit, fits$hs3$fit),
  invariance = lrt(fits$hs_configural$fit, fits$hs_metric$fit, fits$hs_scalar$fit, fits$hs_strict$fit)
)
write_json(comparisons, file.path(out, "comparisons.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null", dataframe = "columns")

# Score tests for releasing each equality constraint (lavTestScore, univariate, expected information).
score <- function(f) {
  st <- lavTestScore(f)$uni
  pt <- parTable(f)
  row_of <- function(pl) pt[match(pl, pt$plabel), c("lhs", "op", "rhs", "group")]
  list(uni = as.data.frame(st), lhs_param = row_of(st$lhs), rhs_param = row_of(st$rhs))
}
write_json(list(hs_metric = score(fits$hs_metric$fit), hs_scalar = score(fits$hs_scalar$fit)),
           file.path(out, "score_tests.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           na = "null", dataframe = "columns")

prov <- list(
  R = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  script = "tests/reference/cfa/cfa_reference.R",
  calls = c(lapply(fits, function(f) f$call),
            list(comparisons = c("lavTestLRT(hs3_resid, hs3)",
                                 "lavTestLRT(hs_configural, hs_metric, hs_scalar, hs_strict)")),
            list(score_tests = c("lavTestScore(hs_metric)$uni", "lavTestScore(hs_scalar)$uni")),
            list(per_fit = "parameterEstimates(fit, standardized = TRUE); fitMeasures(fit); modindices(fit); resid(fit, type = 'cor'); lavInspect(fit, 'rsquare')")),
  sha256 = list(
    holzinger_swineford.csv = digest(file = "psychometrics/datasets/holzinger_swineford.csv", algo = "sha256"),
    bfi.csv = digest(file = "psychometrics/datasets/bfi.csv", algo = "sha256"))
)
write_json(prov, file.path(out, "provenance.json"), auto_unbox = TRUE, pretty = TRUE)
