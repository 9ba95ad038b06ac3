# Reference values for psychometrics.reliability.omega_bifactor:
# omega_total and omega_hierarchical from a bifactor CFA, as semTools::compRelSEM computes them.
#   Rscript tests/reference/omega_bifactor/omega_bifactor_reference.R   (from the repository root)
suppressPackageStartupMessages({library(lavaan); library(semTools); library(jsonlite)})
here <- "tests/reference/omega_bifactor"
hs <- lavaan::HolzingerSwineford1939
mss <- read.csv(file.path(here, "mentorship_items.csv"))
hs_model <- "
general =~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
items <- names(mss)
facet <- list(encouragement = items[1:6], feedback = items[7:12], safety = items[13:17],
              growth = items[18:23], non_supportive = items[24:28])
mss_model <- paste(c(paste("general =~", paste(items, collapse = " + ")),
                     sapply(names(facet), function(f) paste(f, "=~", paste(facet[[f]], collapse = " + ")))),
                   collapse = "\n")
one <- function(model, data) {
  fit <- cfa(model, data = data, std.lv = TRUE, orthogonal = TRUE)
  list(
    converged = lavInspect(fit, "converged"),
    observed = as.list(compRelSEM(fit, return.total = TRUE)),
    implied = as.list(compRelSEM(fit, return.total = TRUE, obs.var = FALSE)),
    std_loadings = {s <- standardizedSolution(fit); s <- s[s$op == "=~", ]; split(s$est.std, s$lhs)},
    call = "cfa(model, data, std.lv = TRUE, orthogonal = TRUE); compRelSEM(fit, return.total = TRUE[, obs.var = FALSE])"
  )
}
out <- list(hs = one(hs_model, hs), mentorship = one(mss_model, mss))
write_json(out, file.path(here, "omega_bifactor_reference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
prov <- list(R = R.version.string,
             packages = list(lavaan = as.character(packageVersion("lavaan")),
                             semTools = as.character(packageVersion("semTools"))),
             calls = c("cfa(hs_model, lavaan::HolzingerSwineford1939, std.lv = TRUE, orthogonal = TRUE)",
                       "cfa(mss_model, mentorship_items.csv, std.lv = TRUE, orthogonal = TRUE)",
                       "compRelSEM(fit, return.total = TRUE)", "compRelSEM(fit, return.total = TRUE, obs.var = FALSE)"),
             data = list("mentorship_items.csv" = "complete cases of psychometrics.simulate.simulate_study(n=800, seed=11), reverse-keyed by load_responses",
                         "HolzingerSwineford1939" = "lavaan's copy = psychometrics/datasets/holzinger_swineford.csv"))
write_json(prov, file.path(here, "provenance.json"), auto_unbox = TRUE, pretty = TRUE)
