# Exports the public datasets shipped in psychometrics/datasets/ at full precision.
#   Rscript tests/reference/datasets/export_datasets.R
library(lavaan); library(psychTools); library(jsonlite)
out <- "psychometrics/datasets"
hs <- lavaan::HolzingerSwineford1939
write.csv(hs, file.path(out, "holzinger_swineford.csv"), row.names = FALSE)
# psychTools::bfi: 2800 SAPA participants, 25 Big Five items (1-6) with missing values.
b <- psychTools::bfi
b <- cbind(id = rownames(b), b)
write.csv(b, file.path(out, "bfi.csv"), row.names = FALSE, na = "")
prov <- list(
  R = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")),
                  psychTools = as.character(packageVersion("psychTools"))),
  calls = c("write.csv(lavaan::HolzingerSwineford1939, ...)", "write.csv(psychTools::bfi, ...)")
)
write_json(prov, "tests/reference/datasets/provenance.json", auto_unbox = TRUE, pretty = TRUE)
