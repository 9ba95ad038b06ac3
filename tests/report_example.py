"""A realistic report context built from small fake tables (used by the report tests).

The numbers are made up but shaped like the output of a real validation of a
12-item, three-facet mentoring scale, so that every section, table and figure
of the report is exercised. Item texts and labels include markup and special
characters to test escaping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psychometrics.report import figures
from psychometrics.report.context import Diagnostics, Figure, Paragraph, Table, Verdict, Verdicts

EVIL = '<script>alert("pwned")</script>'

FACETS = {"Career": "Career support", "Psychosocial": "Psychosocial support", "Role": "Role modelling"}

ITEM_TEXTS = [
    ("MS1", "Career", "My mentor helps me set goals for my career.", "+"),
    ("MS2", "Career", "My mentor gives me challenging assignments that build my skills.", "+"),
    ("MS3", "Career", f"My mentor ignores my career plans. {EVIL}", "R"),
    ("MS4", "Career", "My mentor introduces me to people who matter for my work & field.", "+"),
    ("MS5", "Psychosocial", "I can talk to my mentor about personal worries.", "+"),
    ("MS6", "Psychosocial", "My mentor makes me feel accepted (even when I fail).", "+"),
    ("MS7", "Psychosocial", "My mentor is hard to approach.", "R"),
    ("MS8", "Psychosocial", "My mentor encourages me when I doubt myself.", "+"),
    ("MS9", "Role", "I try to model my behaviour on my mentor's.", "+"),
    ("MS10", "Role", "I admire how my mentor handles difficult situations.", "+"),
    ("MS11", "Role", "My mentor is someone I want to be like in 10 years' time.", "+"),
    ("MS12", "Role", "My mentor sets an example of integrity for me.", "+"),
]


def build_example_context() -> dict:
    rng = np.random.default_rng(20261126)
    ids = [i for i, *_ in ITEM_TEXTS]
    facet_of = {i: f for i, f, *_ in ITEM_TEXTS}
    factors = list(FACETS)

    items = pd.DataFrame(
        {"Facet": [FACETS[f] for _, f, _, _ in ITEM_TEXTS], "Text": [t for *_, t, _ in ITEM_TEXTS],
         "Keyed": [k for *_, k in ITEM_TEXTS]},
        index=pd.Index(ids, name="Item"),
    )
    facets = pd.DataFrame(
        {"Definition": ["Behaviours that advance the protégé's career.",
                        "Behaviours that build competence, identity and confidence.",
                        "The mentor as an example to follow."],
         "Items": [4, 4, 4]},
        index=pd.Index(list(FACETS.values()), name="Facet"),
    )

    flow = pd.DataFrame({"n": [1243, 1238, 1203, 1187]},
                        index=pd.Index(["Records read", "Consent given", "Not flagged as careless",
                                        "Complete enough (≥ 80% of items)"], name="Stage"))
    exclusions = pd.DataFrame(
        {
            "Respondent": ["R0007", "R0113", f"R{EVIL}", "R0245", "R0391", "R0502", "R0733", "R0811", "R0977"],
            "Rule": ["no consent", "long-string ≥ 10", "long-string ≥ 10", "Mahalanobis p < .001",
                     "response time < 2 s/item", "long-string ≥ 10", "< 80% items answered",
                     "out-of-range value", "< 80% items answered"],
            "Detail": ["consent = no", "12 identical answers", "11 identical answers", "D² = 41.2",
                       "1.3 s per item", "12 identical answers", "7 of 12 answered", "MS4 = 7 (allowed 1–5) set missing",
                       "9 of 12 answered"],
        },
        index=pd.Index([7, 113, 180, 245, 391, 502, 733, 811, 977], name="Row"),
    )

    # ------------------------------------------------------------- items
    counts = pd.DataFrame(rng.multinomial(1187, [0.06, 0.12, 0.22, 0.35, 0.25], size=len(ids)),
                          index=ids, columns=["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"])
    item_stats = pd.DataFrame(
        {"M": rng.uniform(3.1, 3.9, len(ids)), "SD": rng.uniform(0.9, 1.2, len(ids)),
         "Skew": rng.uniform(-0.8, -0.1, len(ids)), "Kurtosis": rng.uniform(-0.6, 0.4, len(ids)),
         "r_it": rng.uniform(0.45, 0.72, len(ids)), "α if deleted": rng.uniform(0.86, 0.89, len(ids)),
         "Missing": rng.integers(0, 9, len(ids))},
        index=pd.Index(ids, name="Item"),
    )
    item_stats.loc["MS7", "r_it"] = np.nan

    # ------------------------------------------------------- reliability
    rel = pd.DataFrame(
        {"α": [0.842, 0.815, 0.861, 0.902], "95% CI": [(0.826, 0.857), (0.797, 0.832), (0.848, 0.874), (0.894, 0.910)],
         "ω total": [0.848, 0.820, 0.866, 0.915], "SEM": [0.412, 0.447, 0.398, 0.301]},
        index=pd.Index([*FACETS.values(), "Total score"], name="Score"),
    )

    # --------------------------------------------------------------- EFA
    observed = pd.DataFrame(
        {"FA": [4.61, 1.52, 1.05, 0.21, 0.12, 0.06, 0.02, -0.03, -0.06, -0.09, -0.12, -0.15],
         "PCA": [5.12, 1.98, 1.51, 0.62, 0.55, 0.49, 0.44, 0.40, 0.36, 0.33, 0.11, 0.09]},
        index=range(1, 13))
    simulated = pd.DataFrame({"FA": np.linspace(0.21, -0.22, 12), "PCA": np.linspace(1.21, 0.80, 12)},
                             index=range(1, 13))
    pattern = pd.DataFrame(rng.normal(0, 0.06, (len(ids), 3)), index=pd.Index(ids, name="Item"), columns=factors)
    for k, i in enumerate(ids):
        pattern.loc[i, facet_of[i]] = [0.74, 0.81, -0.58, 0.66, 0.71, 0.77, -0.49, 0.69, 0.72, 0.80, 0.75, 0.63][k]
    pattern.loc["MS4", "Psychosocial"] = 0.34
    h2 = (pattern**2).sum(axis=1)
    efa_table = pattern.copy()
    efa_table["h²"] = h2
    phi = pd.DataFrame([[1, 0.52, 0.44], [0.52, 1, 0.61], [0.44, 0.61, 1]], index=factors, columns=factors)
    adequacy = pd.DataFrame({"KMO": [0.912], "Bartlett χ²": [5123.4], "df": [66], "p": [1e-16]},
                            index=pd.Index(["Calibration half"], name="Sample"))

    # --------------------------------------------------------------- CFA
    std = pd.DataFrame(np.nan, index=ids, columns=factors)
    for k, i in enumerate(ids):
        std.loc[i, facet_of[i]] = [0.76, 0.80, 0.61, 0.69, 0.72, 0.79, 0.55, 0.70, 0.73, 0.82, 0.77, 0.65][k]
    residual = 1 - std.max(axis=1) ** 2
    fit = pd.DataFrame(
        {"χ²": [412.8, 198.3, 152.1], "df": [54, 51, 50], "p": [1e-40, 2e-19, 1e-12],
         "CFI": [0.902, 0.961, 0.973], "TLI": [0.880, 0.950, 0.964],
         "RMSEA": [0.105, 0.069, 0.058], "90% CI": [(0.096, 0.115), (0.059, 0.079), (0.048, 0.069)],
         "SRMR": [0.071, 0.043, 0.036]},
        index=pd.Index(["One factor", "Three factors (declared)", "Three factors + MS4 cross-loading"],
                       name="Model"),
    )
    fit["df"] = fit["df"].astype("int64")

    # --------------------------------------------------------- invariance
    inv_fit = pd.DataFrame(
        {"χ²": [231.4, 247.9, 290.2, 301.5], "df": [102, 111, 120, 132], "CFI": [0.962, 0.959, 0.947, 0.945],
         "RMSEA": [0.065, 0.064, 0.069, 0.066], "SRMR": [0.045, 0.051, 0.056, 0.057],
         "ΔCFI": [np.nan, -0.003, -0.012, -0.002], "ΔRMSEA": [np.nan, -0.001, 0.005, -0.003],
         "ΔSRMR": [np.nan, 0.006, 0.005, 0.001], "Decision": ["—", "hold", "reject", "hold (partial)"]},
        index=pd.Index(["configural", "metric", "scalar", "strict"], name="Model"),
    )
    inv_fit["df"] = inv_fit["df"].astype("int64")
    deltas = inv_fit.loc[["metric", "scalar", "strict"], ["ΔCFI", "ΔRMSEA", "ΔSRMR"]]
    cutoffs = {"ΔCFI": -0.010, "ΔRMSEA": 0.015, "ΔSRMR": {"metric": 0.030, "scalar": 0.010, "strict": 0.010}}

    # ------------------------------------------------------------ validity
    ave = pd.DataFrame({"CR": [0.82, 0.79, 0.85], "AVE": [0.53, 0.49, 0.56], "√AVE": [0.73, 0.70, 0.75],
                        "Max r with other factor": [0.52, 0.61, 0.61], "HTMT max": [0.58, 0.69, 0.69]},
                       index=pd.Index(list(FACETS.values()), name="Factor"))
    hypotheses = [
        Verdict("H1: Career support ↔ job satisfaction, r ≥ .30", "met", 0.41, "r ≥ .30, 95% CI above .20",
                "Campbell & Fiske (1959)"),
        Verdict("H2: Psychosocial support ↔ burnout, r ≤ −.20", "met", -0.33, "r ≤ −.20",
                "Campbell & Fiske (1959)"),
        Verdict(f"H3: Role modelling ↔ social desirability {EVIL}", "borderline", 0.18, "|r| < .20",
                "Campbell & Fiske (1959)"),
        Verdict("H4: Total score ↔ intention to stay", "not met", 0.12, "r ≥ .20",
                "Preregistered hypothesis"),
    ]
    correlations = pd.DataFrame(
        {"r": [0.41, -0.33, 0.18, 0.12], "95% CI": [(0.36, 0.46), (-0.38, -0.28), (0.12, 0.23), (0.06, 0.18)],
         "n": [1187, 1187, 1152, 1187], "p": [1e-40, 2e-30, 1e-9, 3e-5]},
        index=pd.Index(["Job satisfaction", "Burnout (MBI-EE)", "Social desirability", "Intention to stay"],
                       name="Criterion measure"),
    )
    correlations["n"] = correlations["n"].astype("int64")

    # ------------------------------------------------------------- scoring
    key = pd.DataFrame({"Items": ["MS1, MS2, MS3(R), MS4", "MS5, MS6, MS7(R), MS8", "MS9–MS12", "all 12"],
                        "Method": ["mean", "mean", "mean", "mean"], "Min. answered": [3, 3, 3, 10]},
                       index=pd.Index([*FACETS.values(), "Total score"], name="Score"))
    norms = pd.DataFrame(
        {"Raw score": [2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0], "Percentile": [2, 7, 19, 41, 68, 89, 99],
         "T score": [29.4, 35.0, 41.2, 47.7, 54.6, 62.1, 72.0]},
    ).set_index("Raw score")

    summary_verdicts = [
        Verdict("Sampling adequacy (KMO)", "met", 0.912, "KMO ≥ .80", "Kaiser (1974)", section="internal-structure-exploratory-factor-analysis", digits=3),
        Verdict("Number of factors", "met", "3 (parallel analysis), 3 (MAP)", "matches the 3 declared facets",
                "Horn (1965); Velicer (1976)", section="internal-structure-exploratory-factor-analysis"),
        Verdict("Internal consistency, total score", "met", 0.915, "ω total ≥ .80", "McDonald (1999)",
                section="internal-structure-reliability", digits=3),
        Verdict("CFA fit of the declared model", "borderline", "CFI = .961, RMSEA = .069, SRMR = .043",
                "CFI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08", "Hu & Bentler (1999)",
                section="internal-structure-confirmatory-factor-analysis"),
        Verdict("Scalar invariance across gender", "not met", -0.012, "ΔCFI ≥ −.010", "Chen (2007)",
                section="internal-structure-measurement-invariance", digits=3),
        Verdict("Discriminant validity", "met", 0.69, "HTMT < .85", "Henseler et al. (2015)", section="relations"),
        Verdict("Convergent hypotheses", "borderline", "2 of 4 supported", "all preregistered hypotheses hold",
                "Campbell & Fiske (1959)", section="relations"),
        Verdict("Response processes", "not assessed", None, "cognitive interviews", "AERA et al. (2014)"),
    ]

    return {
        "title": "Validation of the Mentoring Support Scale",
        "subtitle": "Calibration (n = 594) and validation (n = 593) halves of a simulated mentorship study",
        "scale": {"name": "Mentoring Support Scale (MSS)", "version": "1.2", "construct": "Perceived mentoring support",
                  "response_format": "5-point Likert (1 = strongly disagree, 5 = strongly agree)", "language": "English"},
        "summary": {
            "facts": {"Records read": 1243, "Respondents analysed": 1187, "Items": 12, "Factors retained": 3,
                      "ω total": "0.92", "Groups": "women / men"},
            "verdicts": summary_verdicts,
            "intro": "The declared three-facet structure is supported; scalar invariance across gender is not, so "
                     "observed-score mean comparisons between women and men are not warranted without a partial "
                     "invariance model.",
        },
        "content": {"items": items, "items_note": "R = reverse-keyed item, scored 6 − response.", "facets": facets},
        "data_quality": {
            "flow": flow, "exclusions": exclusions,
            "blocks": [Diagnostics(["MS4: 1 value outside the response scale (7) was set missing (row 811)."],
                                   title="Values set missing")],
        },
        "internal_structure": {
            "subsections": [
                {"title": "Item Analysis", "blocks": [
                    Table(item_stats, "Item Descriptive Statistics and Discrimination",
                          note="r_it = corrected item–total correlation within the facet; α if deleted for the facet. "
                               "MS7 has no r_it because its facet score could not be computed for 3 respondents.",
                          digits={"Missing": 0}, no_leading_zero=["r_it", "α if deleted"]),
                    Figure(figures.response_distribution(counts), "Distribution of Responses per Item",
                           note="Bars are centred on the neutral category; percentages of at least 5 are shown."),
                ]},
                {"title": "Reliability", "blocks": [
                    Table(rel, "Reliability of the Facet and Total Scores", digits=3,
                          no_leading_zero=["α", "95% CI", "ω total"],
                          note="95% CI: bootstrap percentile interval (2,000 resamples). SEM in raw-score units."),
                ]},
                {"title": "Exploratory Factor Analysis", "intro": [
                    "Calibration half (n = 594). Minimum-residual extraction, oblimin rotation."],
                 "blocks": [
                    Table(adequacy, "Sampling Adequacy", digits={"KMO": 3, "Bartlett χ²": 1}, p_values=["p"],
                          no_leading_zero=["KMO"]),
                    Figure(figures.scree_plot(observed, simulated, retained=3,
                                              simulated_label="95th percentile, random data"),
                           "Scree Plot with Parallel Analysis",
                           note="Factors are retained while the observed eigenvalue exceeds the 95th percentile of "
                                "eigenvalues from random data of the same size."),
                    Figure(figures.loading_heatmap(pattern, communalities=h2), "Pattern Matrix",
                           note="Bold: |loading| ≥ .30."),
                    Table(efa_table, "Pattern Loadings and Communalities", no_leading_zero=True),
                    Table(phi, "Factor Correlations", no_leading_zero=True),
                ]},
                {"title": "Confirmatory Factor Analysis", "intro": "Validation half (n = 593). Maximum likelihood.",
                 "blocks": [
                    Table(fit, "Fit of the Competing Models", p_values=["p"], digits={"χ²": 1},
                          no_leading_zero=["CFI", "TLI", "RMSEA", "90% CI", "SRMR"]),
                    Figure(figures.cfa_path_diagram(std, phi, residuals=residual),
                           "Standardized Solution of the Declared Three-Factor Model"),
                    Diagnostics([{"category": "HeywoodCaseWarning",
                                  "message": "none in the declared model; the one-factor model has a negative "
                                             "residual variance for MS10 (−0.012)"}], title="Estimation diagnostics"),
                ]},
                {"title": "Measurement Invariance", "intro": "Across gender (women n = 612, men n = 575).",
                 "blocks": [
                    Table(inv_fit, "Invariance Models Across Gender", digits={"χ²": 1, "ΔCFI": 3, "ΔRMSEA": 3, "ΔSRMR": 3},
                          no_leading_zero=["CFI", "RMSEA", "SRMR", "ΔCFI", "ΔRMSEA", "ΔSRMR"]),
                    Figure(figures.invariance_delta_chart(deltas, cutoffs), "Change in Fit Between Invariance Levels",
                           note="Dashed lines: cut-offs of Chen (2007). Red bars exceed the cut-off."),
                ]},
            ]
        },
        "relations": {
            "blocks": [
                Verdicts(hypotheses, "Validity Hypotheses and Their Outcome"),
                Table(correlations, "Correlations of the Scores with Other Measures", p_values=["p"],
                      no_leading_zero=["r", "95% CI"]),
                Table(ave, "Convergent and Discriminant Validity of the Factors", no_leading_zero=True,
                      note="CR = composite reliability; AVE = average variance extracted."),
            ]
        },
        "scoring": {
            "blocks": [
                Paragraph("Score each facet as the mean of its items after reversing reverse-keyed items."),
                Table(key, "Scoring Key"),
                Table(norms, "Norms for the Total Score", digits={"T score": 1, "Percentile": 0}),
            ]
        },
        "provenance": {
            "package": "scalevalid 0.1.0",
            "generated_at": "2026-11-26 02:15 UTC",
            "command": "psychometrics demo --out reports/demo --seed 20261126",
            "python": "3.11.2",
            "platform": "Linux-6.1-x86_64",
            "seed": 20261126,
            "data_file": "responses.csv",
            "data_sha256": "9f2c1e0b7a6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b",
            "scale_file": "mentorship.yaml",
            "scale_hash": "sha256:1b7e0c9d8a6f5e4d3c2b1a0918273645",
            "dependencies": {"numpy": "2.4.0", "scipy": "1.17.0", "pandas": "3.1.0", "matplotlib": "3.11.2",
                             "jinja2": "3.1.6", "semopy": "2.3.11", "factor-analyzer": "0.5.1"},
            "options": {"split": 0.5, "group": f"gender {EVIL}", "efa": {"rotation": "oblimin", "method": "minres",
                                                                        "parallel": {"n_iter": 500, "quantile": 0.95}},
                        "measures": ["satisfaction.csv", "burnout.csv"], "quiet": False},
        },
        "references": [
            "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis: "
            "Conventional criteria versus new alternatives. Structural Equation Modeling, 6(1), 1–55.",
            "Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. "
            "Structural Equation Modeling, 14(3), 464–504.",
            "Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis. "
            "Psychometrika, 30(2), 179–185.",
        ],
    }
