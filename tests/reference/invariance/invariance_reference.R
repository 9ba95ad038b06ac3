# Reference values for psychometrics.invariance (tests/test_invariance.py), from lavaan.
#   Rscript tests/reference/invariance/invariance_reference.R     (run from the repository root)
# Data: the shipped CSVs psychometrics/datasets/holzinger_swineford.csv and bfi.csv; SHA-256 in provenance.json.
# Cases
#   hs_school      3-factor HS model, 2 groups (school)                       -- the table of issue 6
#   hs_school_sex  same model, 4 groups (school x sex: "Pasteur_1", ...)      -- three or more groups
#   bfi_gender     25 items, 5 factors, 2 groups (gender), complete cases     -- a larger model
# For each: fitMeasures of configural/metric/scalar/strict, lavTestLRT over the four, and
# parameterEstimates of the scalar model (latent means and variances).
# Partial invariance: starting from the scalar model, release the intercept with the largest
# lavTestScore(fit)$uni statistic (max over its constraints), refit with group.partial, repeat.
suppressPackageStartupMessages({library(lavaan); library(jsonlite); library(digest)})
out <- "tests/reference/invariance"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
hs$school_sex <- paste(hs$school, hs$sex, sep = "_")
bfi <- read.csv("psychometrics/datasets/bfi.csv")
items <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
bfi <- bfi[complete.cases(bfi[, c(items, "gender")]), ]

hs3 <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
bfi5 <- "agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
extra =~ E1 + E2 + E3 + E4 + E5
neuro =~ N1 + N2 + N3 + N4 + N5
open =~ O1 + O2 + O3 + O4 + O5"

levels <- list(configural = "", metric = "loadings",
               scalar = c("loadings", "intercepts"), strict = c("loadings", "intercepts", "residuals"))
keep <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
          "srmr", "aic", "bic", "logl", "ntotal")

pname <- function(pt, plabel) {
  r <- pt[match(plabel, pt$plabel), ]
  ifelse(r$op == "~1", paste0(r$lhs, "~1"), paste0(r$lhs, r$op, r$rhs))
}

run_case <- function(model, data, group, partial_steps = 0) {
  fits <- lapply(levels, function(eq) cfa(model, data = data, group = group, group.equal = eq))
  lrt <- as.data.frame(lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict))
  lrt$model <- rownames(lrt)
  pe <- parameterEstimates(fits$scalar)
  pe <- pe[pe$op %in% c("~1", "~~") & pe$lhs %in% lavNames(fits$scalar, "lv") & (pe$op == "~1" | pe$lhs == pe$rhs), ]
  res <- list(
    group_labels = lavInspect(fits$configural, "group.label"),
    nobs = lavInspect(fits$configural, "nobs"),
    fit = lapply(fits, function(f) as.list(fitMeasures(f)[keep])),
    lrt = lrt,
    scalar_latent = pe,
    timing_note = "see benchmarks/bench_invariance.py"
  )
  if (partial_steps > 0) {
    released <- character(0); steps <- list()
    f <- fits$scalar
    for (k in seq_len(partial_steps)) {
      st <- as.data.frame(lavTestScore(f)$uni)
      st$param <- pname(parTable(f), st$lhs)
      st$rhs_group <- parTable(f)$group[match(st$rhs, parTable(f)$plabel)]
      cand <- st[grepl("~1$", st$param) & !(st$param %in% released), ]
      agg <- tapply(cand$X2, cand$param, max)
      best <- names(agg)[which.max(agg)]
      released <- c(released, best)
      f <- cfa(model, data = data, group = group, group.equal = c("loadings", "intercepts"),
               group.partial = released)
      steps[[k]] <- list(released = best, x2 = unname(max(agg)), score = st,
                         group_partial = released, fit = as.list(fitMeasures(f)[keep]),
                         call = sprintf('cfa(model, data, group = "%s", group.equal = c("loadings", "intercepts"), group.partial = c(%s))',
                                        group, paste0('"', released, '"', collapse = ", ")))
    }
    res$partial_scalar <- steps
    pe <- parameterEstimates(f)
    res$partial_scalar_estimates <- pe[, c("lhs", "op", "rhs", "group", "est", "se")]
  }
  res
}

cases <- list(
  hs_school = run_case(hs3, hs, "school", partial_steps = 3),
  hs_school_sex = run_case(hs3, hs, "school_sex", partial_steps = 2),
  bfi_gender = run_case(bfi5, bfi, "gender", partial_steps = 2)
)
for (nm in names(cases)) {
  write_json(cases[[nm]], file.path(out, paste0(nm, ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE, na = "null", dataframe = "columns")
}

prov <- list(
  R = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  script = "tests/reference/invariance/invariance_reference.R",
  calls = list(
    levels = 'cfa(model, data, group = g, group.equal = c()) / "loadings" / c("loadings", "intercepts") / c("loadings", "intercepts", "residuals")',
    lrt = "lavTestLRT(configural, metric, scalar, strict)",
    fit = paste(keep, collapse = ", "),
    scalar_latent = "parameterEstimates(scalar) rows for factor means (~1) and variances",
    partial = "repeat: lavTestScore(fit)$uni; release the intercept (x~1) whose largest X2 is largest; refit with group.partial",
    hs_school = 'model hs3, data hs, group = "school"',
    hs_school_sex = 'model hs3, data hs with hs$school_sex <- paste(hs$school, hs$sex, sep = "_"), group = "school_sex"',
    bfi_gender = 'model bfi5, data bfi[complete.cases(bfi[, c(items, "gender")]), ], group = "gender"'),
  sha256 = list(
    holzinger_swineford.csv = digest(file = "psychometrics/datasets/holzinger_swineford.csv", algo = "sha256"),
    bfi.csv = digest(file = "psychometrics/datasets/bfi.csv", algo = "sha256"))
)
write_json(prov, file.path(out, "provenance.json"), auto_unbox = TRUE, pretty = TRUE)
