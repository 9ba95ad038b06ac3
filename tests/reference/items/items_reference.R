# Reference values for psychometrics.items.item_analysis (tests/test_items.py).
# Run from the repository root:
#   Rscript tests/reference/items/items_reference.R
suppressPackageStartupMessages({library(psych); library(jsonlite)})
out_dir <- "tests/reference/items"
hs <- read.csv("psychometrics/datasets/holzinger_swineford.csv")
bfi <- read.csv("psychometrics/datasets/bfi.csv")
items25 <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
rev_keyed <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
b <- bfi[, items25]
b[rev_keyed] <- 7 - b[rev_keyed]

one <- function(x, use, lo = NULL, hi = NULL) {
  d <- psych::describe(x)               # type = 3 skew and kurtosis, per item on its observed values
  xa <- if (use == "listwise") na.omit(x) else x
  a <- suppressWarnings(psych::alpha(xa, use = if (use == "listwise") "everything" else "pairwise",
                                     warnings = FALSE))
  if (is.null(lo)) { lo <- min(x, na.rm = TRUE); hi <- max(x, na.rm = TRUE) }
  list(items = colnames(x), n = d$n, missing = colSums(is.na(x)), mean = d$mean, sd = d$sd,
       skew = d$skew, kurtosis = d$kurtosis,
       floor = unname(sapply(x, function(v) 100 * mean(v == lo, na.rm = TRUE))),
       ceiling = unname(sapply(x, function(v) 100 * mean(v == hi, na.rm = TRUE))),
       freq = if (!is.null(a$response.freq) && ncol(a$response.freq) > 1)
                unname(unclass(psych::response.frequencies(x)[, -ncol(psych::response.frequencies(x))]))
              else NULL,
       freq_categories = if (!is.null(a$response.freq)) head(colnames(psych::response.frequencies(x)), -1) else NULL,
       r_drop = a$item.stats$r.drop, alpha_drop = a$alpha.drop$raw_alpha)
}
out <- list(
  hs9 = one(hs[, paste0("x", 1:9)], "listwise"),
  bfiA_listwise = one(b[, paste0("A", 1:5)], "listwise", 1, 6),
  bfiA_pairwise = one(b[, paste0("A", 1:5)], "pairwise", 1, 6),
  bfi_subscales = lapply(setNames(c("A", "C", "E", "N", "O"), c("A", "C", "E", "N", "O")),
                         function(s) one(b[, paste0(s, 1:5)], "listwise", 1, 6))
)
write_json(out, file.path(out_dir, "items_reference.json"), digits = NA, auto_unbox = TRUE)
sha256 <- function(f) strsplit(system2("sha256sum", f, stdout = TRUE), " ")[[1]][1]
prov <- list(
  R = R.version.string,
  packages = list(psych = as.character(packageVersion("psych")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  calls = c("psych::describe(x)", "psych::response.frequencies(x)",
            "psych::alpha(na.omit(x), use = 'everything') / psych::alpha(x, use = 'pairwise')",
            "100 * mean(x == min, na.rm = TRUE) for floor, likewise ceiling"),
  data = list(hs = "psychometrics/datasets/holzinger_swineford.csv x1-x9",
              bfi = "psychometrics/datasets/bfi.csv A1-O5; A1, C4, C5, E1, E2, O2, O5 reversed as 7 - x; subscales A, C, E, N, O (per-subscale item statistics, listwise within the subscale)"),
  sha256 = list(holzinger_swineford.csv = sha256("psychometrics/datasets/holzinger_swineford.csv"),
                bfi.csv = sha256("psychometrics/datasets/bfi.csv"))
)
write_json(prov, file.path(out_dir, "provenance.json"), auto_unbox = TRUE, pretty = TRUE)
