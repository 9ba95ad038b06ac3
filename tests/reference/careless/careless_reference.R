# Reference values for the careless-responding screens of psychometrics.data.
# Input: the shipped psychometrics/datasets/bfi.csv (psychTools::bfi), first 300 rows,
# the 25 personality items (1-6), reverse-keyed items A1 C4 C5 E1 E2 O2 O5 scored 7 - x.
#   - Mahalanobis D^2: psych::outlier() on the complete cases (what careless::mahad
#     does with na.rm = TRUE), p = pchisq(D2, 25, lower.tail = FALSE).
#   - Longstring: longest run of identical consecutive raw answers; a missing answer
#     ends a run (written out with rle() on the non-missing runs).
#   - Even-odd: per factor (A, C, E, N, O; 5 items each) the mean of items 1, 3, 5
#     and of items 2, 4 (na.rm), correlated across the factors with
#     use = "pairwise.complete.obs", Spearman-Brown 2r / (1 + r), bounded below by -1,
#     NA unless at least 3 factors have both halves (careless::evenodd's definition;
#     careless >= 1.2.0 reports the negation).
# Run from the repository root:  Rscript tests/reference/careless/careless_reference.R
library(jsonlite)
bfi <- read.csv("psychometrics/datasets/bfi.csv")
items <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
raw <- as.matrix(bfi[1:300, items])
rev_items <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
scored <- raw
scored[, rev_items] <- 7 - scored[, rev_items]

complete <- complete.cases(scored)
d2 <- rep(NA_real_, nrow(scored))
d2[complete] <- psych::outlier(scored[complete, ], plot = FALSE)
p <- pchisq(d2, df = ncol(scored), lower.tail = FALSE)

longest_run <- function(x) {
  r <- rle(ifelse(is.na(x), -Inf, x))
  lens <- r$lengths[is.finite(r$values)]
  if (length(lens) == 0) 0L else as.integer(max(lens))
}
ls <- apply(raw, 1, longest_run)

eo <- apply(scored, 1, function(x) {
  odd <- even <- numeric(5)
  for (j in 1:5) {
    s <- x[((j - 1) * 5 + 1):(j * 5)]
    odd[j] <- mean(s[c(1, 3, 5)], na.rm = TRUE)
    even[j] <- mean(s[c(2, 4)], na.rm = TRUE)
  }
  ok <- !is.na(odd) & !is.na(even)
  if (sum(ok) < 3 || sd(odd[ok]) == 0 || sd(even[ok]) == 0) return(NA_real_)
  r <- cor(odd[ok], even[ok])
  sb <- 2 * r / (1 + r)
  if (!is.finite(sb) || sb < -1) sb <- -1
  sb
})

out <- list(rows = 300, items = items, reverse = rev_items,
            mahalanobis_d2 = d2, mahalanobis_p = p, longstring = ls, evenodd = eo)
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE),
           "tests/reference/careless/careless_reference.json")
prov <- list(
  R = R.version.string,
  packages = list(psych = as.character(packageVersion("psych")), jsonlite = as.character(packageVersion("jsonlite"))),
  calls = c("psych::outlier(scored[complete.cases(scored), ], plot = FALSE)",
            "pchisq(d2, df = 25, lower.tail = FALSE)",
            "longest run of identical non-missing answers via rle()",
            "even-odd consistency as in careless::evenodd (sign as before careless 1.2.0), NA with < 3 pairs"),
  input = "psychometrics/datasets/bfi.csv rows 1-300 (psychTools::bfi)",
  sha256 = list(bfi.csv = strsplit(system("sha256sum psychometrics/datasets/bfi.csv", intern = TRUE), " ")[[1]][1])
)
writeLines(toJSON(prov, auto_unbox = TRUE, pretty = TRUE), "tests/reference/careless/provenance.json")
