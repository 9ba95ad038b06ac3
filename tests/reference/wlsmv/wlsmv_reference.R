# Reference values for categorical CFA (DWLS / WLSMV) and categorical invariance.
# Run from the repository root:  Rscript tests/reference/wlsmv/wlsmv_reference.R
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})
out_dir <- "tests/reference/wlsmv"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
bfi <- read.csv("psychometrics/datasets/bfi.csv")

# Holzinger-Swineford cut into 3 categories, as lavaan's documentation does
HS.ord <- as.data.frame(lapply(hs[, paste0("x", 1:9)], cut, 3, labels = FALSE))
HS.ord$school <- hs$school
write.csv(HS.ord, file.path(out_dir, "hs_ord.csv"), row.names = FALSE)

# bfi: 10 items of two factors (extraversion, neuroticism), 6 categories, complete cases
bitems <- c(paste0("E", 1:5), paste0("N", 1:5))
bfi10 <- bfi[complete.cases(bfi[, c(bitems, "gender")]), c(bitems, "gender")]
stopifnot(all(sapply(bitems, function(v) all(table(factor(bfi10[[v]], levels = 1:6)) > 0))))
for (gg in 1:2) stopifnot(all(sapply(bitems, function(v) all(table(factor(bfi10[bfi10$gender == gg, v], levels = 1:6)) > 0))))

hs3 <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
bfi2 <- "E =~ E1 + E2 + E3 + E4 + E5\nN =~ N1 + N2 + N3 + N4 + N5"
hs_resid <- paste0(hs3, "\nx7 ~~ x8")
hs_higher <- paste0(hs3, "\ng =~ visual + textual + speed")

as_list <- function(x) if (is.list(x)) x else list(x)

dump_fit <- function(fit, name, call, with_stats = TRUE) {
  pe <- parameterEstimates(fit, standardized = TRUE)
  fm <- fitMeasures(fit)
  ss <- lavInspect(fit, "sampstat", add.labels = TRUE)
  ng <- lavInspect(fit, "ngroups")
  if (ng == 1) ss <- list(ss)
  wlsv <- lavTech(fit, "wls.v"); gam <- lavTech(fit, "gamma"); wlsobs <- lavTech(fit, "wls.obs")
  groups <- lapply(seq_len(ng), function(g) list(
    th = unname(ss[[g]]$th), th_names = names(ss[[g]]$th),
    cor = unname(ss[[g]]$cov), names = colnames(ss[[g]]$cov),
    nobs = lavInspect(fit, "nobs")[g],
    wls_v = unname(diag(as.matrix(wlsv[[g]]))),
    gamma = unname(as.matrix(gam[[g]])),
    wls_obs = unname(wlsobs[[g]])))
  catml <- lavaan:::lav_fit_catml_dwls(fit)
  tests <- lavInspect(fit, "test")
  ss_test <- tests$scaled.shifted
  res <- list(
    name = name, call = call,
    group_labels = lavInspect(fit, "group.label"),
    estimates = pe,
    fit = as.list(fm),
    test_scaled_shifted = list(stat = ss_test$stat, df = ss_test$df,
      trace_UGamma = ss_test$trace.UGamma, trace_UGamma2 = ss_test$trace.UGamma2,
      scaling_factor = ss_test$scaling.factor, shift_parameter = ss_test$shift.parameter),
    catml = catml,
    vcov = if (ng == 1) unname(as.matrix(lavInspect(fit, "vcov"))) else NULL,
    vcov_names = if (ng == 1) colnames(lavInspect(fit, "vcov")) else NULL,
    groups = if (with_stats) groups else NULL)
  writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE),
             file.path(out_dir, paste0(name, ".json")))
  invisible(res)
}

calls <- list()
run <- function(name, call) {
  calls[[name]] <<- call
  fit <- eval(parse(text = call))
  dump_fit(fit, name, call)
}

run("hs_ord", 'cfa(hs3, data = HS.ord, ordered = TRUE, estimator = "WLSMV")')
run("hs_ord_stdlv", 'cfa(hs3, data = HS.ord, ordered = TRUE, estimator = "WLSMV", std.lv = TRUE)')
run("hs_ord_resid", 'cfa(hs_resid, data = HS.ord, ordered = TRUE, estimator = "WLSMV")')
run("bfi_ord", 'cfa(bfi2, data = bfi10, ordered = bitems, estimator = "WLSMV")')
run("hs_ord_groups", 'cfa(hs3, data = HS.ord, ordered = TRUE, estimator = "WLSMV", group = "school")')
run("hs_ord_orth", 'cfa(hs3, data = HS.ord[, 1:9], ordered = TRUE, estimator = "WLSMV", orthogonal = TRUE)')
run("hs_ord_higher", 'cfa(hs_higher, data = HS.ord[, 1:9], ordered = TRUE, estimator = "WLSMV")')

# modification indices (all, for the comparison)
mi <- list()
fit <- cfa(hs3, data = HS.ord, ordered = TRUE, estimator = "WLSMV")
mi$hs_ord <- modindices(fit, minimum.value = -Inf)
fit <- cfa(hs3, data = HS.ord, ordered = TRUE, estimator = "WLSMV", group = "school")
mi$hs_ord_groups <- modindices(fit, minimum.value = -Inf)
writeLines(toJSON(mi, digits = NA, na = "null"), file.path(out_dir, "modindices.json"))
calls[["modindices"]] <- "modindices(fit, minimum.value = -Inf) for hs_ord and hs_ord_groups"

# categorical invariance: Wu & Estabrook (2016) identification via semTools::measEq.syntax
inv_steps <- list(configural = "", thresholds = "thresholds",
                  loadings = c("thresholds", "loadings"),
                  intercepts = c("thresholds", "loadings", "intercepts"))
inv_syntax <- list()
inv_fits <- list()
for (ds in c("hs", "bfi")) {
  for (step in names(inv_steps)) {
    ge <- inv_steps[[step]]
    if (ds == "hs") {
      s <- measEq.syntax(hs3, data = HS.ord, ordered = paste0("x", 1:9), parameterization = "delta",
                         ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = "school", group.equal = ge)
      syn <- as.character(s)
      name <- paste0("inv_hs_", step)
      call <- 'cfa(syn, data = HS.ord, ordered = paste0("x", 1:9), group = "school", estimator = "WLSMV", parameterization = "delta")'
    } else {
      s <- measEq.syntax(bfi2, data = bfi10, ordered = bitems, parameterization = "delta",
                         ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = "gender", group.equal = ge)
      syn <- as.character(s)
      name <- paste0("inv_bfi_", step)
      call <- 'cfa(syn, data = bfi10, ordered = bitems, group = "gender", estimator = "WLSMV", parameterization = "delta")'
    }
    inv_syntax[[name]] <- syn
    calls[[name]] <- paste0("measEq.syntax(..., ID.fac = 'std.lv', ID.cat = 'Wu.Estabrook.2016', parameterization = 'delta', group.equal = ",
                            deparse(ge), "); ", call)
    fit <- eval(parse(text = call))
    inv_fits[[name]] <- fit
    # the sample statistics do not depend on the model: stored once per data set (configural file)
    dump_fit(fit, name, calls[[name]], with_stats = step == "configural")
  }
}
# partial invariance (group.partial): semTools' Wu & Estabrook rules for released thresholds/intercepts
partial_cases <- list(
  partial_bfi_intercepts = list(ds = "bfi", ge = c("thresholds", "loadings", "intercepts"), gp = c("N1|t1", "E3~1")),
  partial_bfi_loadings = list(ds = "bfi", ge = c("thresholds", "loadings"), gp = c("E=~E2", "N1|t1", "N1|t2", "N1|t3", "N1|t4")),
  partial_bfi_thresholds = list(ds = "bfi", ge = c("thresholds"), gp = c("N2|t1", "N2|t2", "N2|t3", "N2|t4", "N2|t5", "E1|t3")),
  partial_hs_thresholds = list(ds = "hs", ge = c("thresholds", "loadings"), gp = c("x1|t1", "x5|t2")),
  # the partial model categorical_invariance(rule = "chisq") accepts on HS by school
  partial_hs_intercepts = list(ds = "hs", ge = c("thresholds", "loadings", "intercepts"), gp = c("x3~1", "x7~1")))
for (name in names(partial_cases)) {
  pc <- partial_cases[[name]]
  if (pc$ds == "hs") {
    syn <- as.character(measEq.syntax(hs3, data = HS.ord, ordered = paste0("x", 1:9), parameterization = "delta",
                        ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = "school", group.equal = pc$ge,
                        group.partial = pc$gp))
    call <- 'cfa(syn, data = HS.ord, ordered = paste0("x", 1:9), group = "school", estimator = "WLSMV", parameterization = "delta")'
  } else {
    syn <- as.character(measEq.syntax(bfi2, data = bfi10, ordered = bitems, parameterization = "delta",
                        ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = "gender", group.equal = pc$ge,
                        group.partial = pc$gp))
    call <- 'cfa(syn, data = bfi10, ordered = bitems, group = "gender", estimator = "WLSMV", parameterization = "delta")'
  }
  inv_syntax[[name]] <- syn
  calls[[name]] <- paste0("measEq.syntax(..., ID.fac = 'std.lv', ID.cat = 'Wu.Estabrook.2016', parameterization = 'delta', group.equal = ",
                          deparse(pc$ge), ", group.partial = ", deparse(pc$gp), "); ", call)
  fit <- suppressWarnings(eval(parse(text = call)))
  res <- dump_fit(fit, name, calls[[name]], with_stats = FALSE)
}
writeLines(toJSON(lapply(partial_cases, function(pc) pc[c("ge", "gp")]), auto_unbox = FALSE, pretty = TRUE),
           file.path(out_dir, "partial_cases.json"))

writeLines(toJSON(inv_syntax, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "inv_syntax.json"))

# univariate score tests of the equality constraints (lavaan: ordinary score test for WLSMV)
st <- list()
for (name in c("inv_hs_loadings", "inv_bfi_intercepts")) {
  fit <- inv_fits[[name]]
  u <- suppressWarnings(lavTestScore(fit))$uni
  pt <- parTable(fit)
  where <- function(p) match(p, pt$plabel)
  i <- where(u$rhs)  # the constrained copy in the later group
  st[[name]] <- data.frame(lhs = pt$lhs[i], op = pt$op[i], rhs = pt$rhs[i], group = pt$group[i], x2 = u$X2)
  calls[[paste0("score_", name)]] <- "lavTestScore(fit)$uni  (constraint rhs mapped to lhs/op/rhs/group via parTable plabel)"
}
writeLines(toJSON(st, digits = NA), file.path(out_dir, "score_tests.json"))

# scaled (Satorra 2000, scaled-shifted) chi-square difference tests, lavaan's default for WLSMV
lrt <- list()
for (ds in c("hs", "bfi")) {
  f <- inv_fits[paste0("inv_", ds, "_", names(inv_steps))]
  # thresholds vs configural has df 0 with 3 categories (HS): compare each step with the previous one
  for (k in 2:4) {
    if (f[[k]]@test[[1]]$df == f[[k - 1]]@test[[1]]$df) next
    a <- lavTestLRT(f[[k - 1]], f[[k]])
    key <- paste0(ds, "_", names(inv_steps)[k], "_vs_", names(inv_steps)[k - 1])
    lrt[[key]] <- list(chisq_diff = a[["Chisq diff"]][2], df_diff = a[["Df diff"]][2],
                       pvalue = a[["Pr(>Chisq)"]][2], chisq = a[["Chisq"]])
    calls[[paste0("lrt_", key)]] <- "lavTestLRT(previous, this)  # method = 'satorra.2000', scaled.shifted = TRUE, A.method = 'delta'"
  }
}
writeLines(toJSON(lrt, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "inv_lrt.json"))

sha256 <- function(f) strsplit(system2("sha256sum", f, stdout = TRUE), " ")[[1]][1]
prov <- list(
  R = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")),
                  semTools = as.character(packageVersion("semTools")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  script = "tests/reference/wlsmv/wlsmv_reference.R",
  data = list(HS.ord = 'as.data.frame(lapply(hs[, paste0("x", 1:9)], cut, 3, labels = FALSE)) (saved as hs_ord.csv)',
              bfi10 = "bfi[complete.cases(bfi[, c(E1..E5, N1..N5, gender)]), ]  (6 categories, none empty overall or per gender)"),
  models = list(hs3 = hs3, bfi2 = bfi2, hs_resid = hs_resid, hs_higher = hs_higher),
  calls = calls,
  sha256 = list(holzinger_swineford.csv = sha256("psychometrics/datasets/holzinger_swineford.csv"),
                bfi.csv = sha256("psychometrics/datasets/bfi.csv"),
                hs_ord.csv = sha256(file.path(out_dir, "hs_ord.csv"))),
  per_fit = "parameterEstimates(fit, standardized = TRUE); parTable(fit); fitMeasures(fit); lavInspect(fit, 'sampstat'); lavTech(fit, 'wls.v' / 'gamma' / 'wls.obs') (configural / single-model files only); lavInspect(fit, 'test')$scaled.shifted; lavaan:::lav_fit_catml_dwls(fit); lavInspect(fit, 'vcov') (single group)")
writeLines(toJSON(prov, auto_unbox = TRUE, pretty = TRUE), file.path(out_dir, "provenance.json"))
