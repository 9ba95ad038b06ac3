# Reference values for psychometrics/validity.py (run from the repository root):
#   Rscript tests/reference/validity/validity_reference.R
# Inputs: the shipped datasets psychometrics/datasets/holzinger_swineford.csv (lavaan's copy)
# and psychometrics/datasets/bfi.csv (psychTools::bfi); SHA-256 recorded in provenance.json.
suppressPackageStartupMessages({library(lavaan); library(semTools); library(psych); library(jsonlite)})
out <- "tests/reference/validity"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
bfi <- read.csv("psychometrics/datasets/bfi.csv")
calls <- character(0)
note <- function(x) calls <<- c(calls, x)
mat <- function(m) list(index = rownames(m), columns = colnames(m), data = unname(as.matrix(m)))

# ------------------------------------------------------------------ models
hs.model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
bfi.model <- "agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
extra =~ E1 + E2 + E3 + E4 + E5
neuro =~ N1 + N2 + N3 + N4 + N5
open =~ O1 + O2 + O3 + O4 + O5"
items <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
# Reverse-keyed Big Five items (psychTools::bfi.keys), keyed as 7 - x on the 1-6 scale.
reversed <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
bfi.keyed <- bfi
bfi.keyed[reversed] <- 7 - bfi.keyed[reversed]

# ------------------------------------------------------------------- HTMT
htmt.cases <- list()
add.htmt <- function(name, call, value) {
  note(paste0(name, ": ", call))
  htmt.cases[[name]] <<- list(call = call, matrix = mat(unclass(value)))
}
add.htmt("hs_htmt2", "htmt(hs.model, data = hs)", htmt(hs.model, data = hs))
add.htmt("hs_htmt", "htmt(hs.model, data = hs, htmt2 = FALSE)", htmt(hs.model, data = hs, htmt2 = FALSE))
add.htmt("hs_htmt_signed", "htmt(hs.model, data = hs, htmt2 = FALSE, absolute = FALSE)",
         htmt(hs.model, data = hs, htmt2 = FALSE, absolute = FALSE))
add.htmt("bfi_htmt2", "htmt(bfi.model, data = bfi)  # missing = 'listwise' (default)", htmt(bfi.model, data = bfi))
add.htmt("bfi_htmt", "htmt(bfi.model, data = bfi, htmt2 = FALSE)", htmt(bfi.model, data = bfi, htmt2 = FALSE))
add.htmt("bfi_htmt_signed", "htmt(bfi.model, data = bfi, htmt2 = FALSE, absolute = FALSE)",
         htmt(bfi.model, data = bfi, htmt2 = FALSE, absolute = FALSE))
add.htmt("bfi_keyed_htmt2", "htmt(bfi.model, data = bfi.keyed)", htmt(bfi.model, data = bfi.keyed))
R.pair <- cor(bfi[items], use = "pairwise.complete.obs")
add.htmt("bfi_pairwise_htmt2", "htmt(bfi.model, sample.cov = cor(bfi[items], use = 'pairwise.complete.obs'))",
         htmt(bfi.model, sample.cov = R.pair))
add.htmt("bfi_pairwise_htmt", "htmt(bfi.model, sample.cov = cor(bfi[items], use = 'pairwise.complete.obs'), htmt2 = FALSE)",
         htmt(bfi.model, sample.cov = R.pair, htmt2 = FALSE))
write_json(htmt.cases, file.path(out, "htmt.json"), digits = NA, pretty = TRUE, auto_unbox = TRUE)

# -------------------------------------------------------- CFA: CR and AVE
cfa.case <- function(fit, call) {
  std <- lavInspect(fit, "std")
  est <- lavInspect(fit, "est")
  ss <- standardizedSolution(fit)
  lvcor <- ss[ss$op == "~~" & ss$lhs != ss$rhs & ss$lhs %in% lavNames(fit, "lv"), ]
  lam <- std$lambda
  theta <- diag(std$theta)
  cr.std <- sapply(colnames(lam), function(f) {
    i <- lam[, f] != 0
    sum(lam[i, f])^2 / (sum(lam[i, f])^2 + sum(theta[i]))
  })
  ave.std <- sapply(colnames(lam), function(f) {
    i <- lam[, f] != 0
    mean(lam[i, f]^2)
  })
  list(
    call = call, n = lavInspect(fit, "nobs"),
    std_loadings = mat(lam), std_residual_variances = as.list(theta), latent_cor = mat(std$psi),
    loadings = mat(est$lambda), latent_cov = mat(est$psi), residual_cov = mat(est$theta),
    sample_cov = mat(lavInspect(fit, "sampstat")$cov), implied_cov = mat(lavInspect(fit, "implied")$cov),
    compRelSEM_obs = as.list(unclass(compRelSEM(fit))),
    compRelSEM_implied = as.list(unclass(compRelSEM(fit, obs.var = FALSE))),
    AVE_obs = as.list(unclass(AVE(fit))), AVE_implied = as.list(unclass(AVE(fit, obs.var = FALSE))),
    cr_std = as.list(cr.std), ave_std = as.list(ave.std),
    latent_cor_table = lvcor[, c("lhs", "rhs", "est.std", "se", "z", "pvalue", "ci.lower", "ci.upper")],
    # sampling covariance of the latent (co)variances, for the delta-method SE of the correlations
    vcov_psi = {V <- lavInspect(fit, "vcov"); k <- grepl("~~", rownames(V)) &
                sub("~~.*", "", rownames(V)) %in% lavNames(fit, "lv"); mat(V[k, k])}
  )
}
hs.fit <- cfa(hs.model, data = hs)
bfi.fit <- cfa(bfi.model, data = bfi.keyed)
note("hs: cfa(hs.model, data = hs); compRelSEM(fit); compRelSEM(fit, obs.var = FALSE); AVE(fit); AVE(fit, obs.var = FALSE); standardizedSolution(fit)")
note("bfi: cfa(bfi.model, data = bfi.keyed)  # reversed items keyed 7 - x; listwise (lavaan default); same calls")
cfa.cases <- list(hs = cfa.case(hs.fit, "cfa(hs.model, data = hs)"),
                  bfi = cfa.case(bfi.fit, "cfa(bfi.model, data = bfi.keyed)"))
# Multi-group (configural) CFA by school: compRelSEM / AVE return one row per group.
mg.fit <- cfa(hs.model, data = hs, group = "school")
note("hs_by_school: cfa(hs.model, data = hs, group = 'school'); compRelSEM(fit); AVE(fit); standardizedSolution(fit)")
mg.ss <- standardizedSolution(mg.fit)
mg.lv <- mg.ss[mg.ss$op == "~~" & mg.ss$lhs != mg.ss$rhs & mg.ss$lhs %in% lavNames(mg.fit, "lv"), ]
mg.lv$group <- lavInspect(mg.fit, "group.label")[mg.lv$group]
cfa.cases$hs_by_school <- list(
  call = "cfa(hs.model, data = hs, group = 'school')",
  compRelSEM_obs = as.data.frame(compRelSEM(mg.fit)), AVE_obs = as.data.frame(AVE(mg.fit)),
  latent_cor_table = mg.lv[, c("lhs", "rhs", "group", "est.std", "se", "ci.lower", "ci.upper")]
)
write_json(cfa.cases, file.path(out, "cfa_cr_ave.json"), digits = NA, pretty = TRUE, auto_unbox = TRUE)

# ----------------------------------------------------------- correlations
ct <- function(x, y, conf.level = 0.95) {
  r <- cor.test(x, y, conf.level = conf.level)
  list(r = unname(r$estimate), t = unname(r$statistic), df = unname(r$parameter), p = r$p.value,
       lower = r$conf.int[1], upper = r$conf.int[2], conf_level = conf.level)
}
hs.scores <- data.frame(visual = rowMeans(hs[c("x1", "x2", "x3")]), textual = rowMeans(hs[c("x4", "x5", "x6")]),
                        speed = rowMeans(hs[c("x7", "x8", "x9")]))
bfi.scores <- data.frame(agree = rowMeans(bfi.keyed[paste0("A", 1:5)]), consc = rowMeans(bfi.keyed[paste0("C", 1:5)]),
                         extra = rowMeans(bfi.keyed[paste0("E", 1:5)]), neuro = rowMeans(bfi.keyed[paste0("N", 1:5)]),
                         age = bfi$age)
write.csv(bfi.scores, file.path(out, "bfi_scores.csv"), row.names = FALSE, na = "")
cors <- list(
  hs_x1_x4 = ct(hs$x1, hs$x4), hs_x1_x4_90 = ct(hs$x1, hs$x4, 0.90),
  hs_visual_textual = ct(hs.scores$visual, hs.scores$textual),
  hs_visual_speed = ct(hs.scores$visual, hs.scores$speed),
  hs_textual_speed = ct(hs.scores$textual, hs.scores$speed),
  bfi_neuro_agree = ct(bfi.scores$neuro, bfi.scores$agree)
)
note("cor.test(x, y, conf.level) for HS x1-x4, HS mean scores (visual = rowMeans(x1:x3), ...), bfi keyed mean scores (rowMeans, NA if any item missing)")
ctest <- corr.test(bfi.scores)
note("corr.test(bfi.scores)  # bfi_scores.csv: pairwise n, holm-adjusted p above the diagonal")
corrtest <- list(r = mat(ctest$r), n = mat(ctest$n), p = mat(ctest$p),
                 ci = cbind(pair = rownames(ctest$ci), ctest$ci))
write_json(list(cor_test = cors, corr_test = corrtest), file.path(out, "correlations.json"), digits = NA, pretty = TRUE, auto_unbox = TRUE)

prov <- list(
  R = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")), semTools = as.character(packageVersion("semTools")),
                  psych = as.character(packageVersion("psych")), jsonlite = as.character(packageVersion("jsonlite"))),
  calls = calls,
  sha256 = list(
    holzinger_swineford.csv = system("sha256sum psychometrics/datasets/holzinger_swineford.csv | cut -d' ' -f1", intern = TRUE),
    bfi.csv = system("sha256sum psychometrics/datasets/bfi.csv | cut -d' ' -f1", intern = TRUE),
    bfi_scores.csv = system(paste0("sha256sum ", out, "/bfi_scores.csv | cut -d' ' -f1"), intern = TRUE))
)
write_json(prov, file.path(out, "provenance.json"), auto_unbox = TRUE, pretty = TRUE)
