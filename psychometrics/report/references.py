"""The reference list of the validation report: short citation → APA reference.

Verdict rules (``psychometrics.pipeline.verdicts``) and report sections cite by the short
form (``"Hu & Bentler (1999)"``); the report lists the full reference of every short form
it cited, plus the *Standards* (:data:`psychometrics.report.build.STANDARDS_REFERENCE`).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["REFERENCES", "ALWAYS_CITED", "cited_in", "reference_list"]

#: Short citation → APA reference.
REFERENCES = {
    "Terwee et al. (2007)": "Terwee, C. B., Bot, S. D. M., de Boer, M. R., van der Windt, D. A. W. M., Knol, D. L., "
                            "Dekker, J., Bouter, L. M., & de Vet, H. C. W. (2007). Quality criteria were proposed for "
                            "measurement properties of health status questionnaires. Journal of Clinical "
                            "Epidemiology, 60(1), 34–42.",
    "Linacre (2002)": "Linacre, J. M. (2002). Optimizing rating scale category effectiveness. Journal of Applied "
                      "Measurement, 3(1), 85–106.",
    "Samejima (1969)": "Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores. "
                       "Psychometrika Monograph Supplement, 34(4, Pt. 2), No. 17.",
    "Bock & Aitkin (1981)": "Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item "
                            "parameters: Application of an EM algorithm. Psychometrika, 46(4), 443–459.",
    "Orlando & Thissen (2000)": "Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for "
                                "dichotomous item response theory models. Applied Psychological Measurement, 24(1), "
                                "50–64.",
    "Thissen et al. (1995)": "Thissen, D., Pommerich, M., Billeaud, K., & Williams, V. S. L. (1995). Item response "
                             "theory for scores on tests including polytomous items with ordered responses. Applied "
                             "Psychological Measurement, 19(1), 39–49.",
    "Crane et al. (2006)": "Crane, P. K., Gibbons, L. E., Jolley, L., & van Belle, G. (2006). Differential item "
                           "functioning analysis with ordinal logistic regression techniques. Medical Care, 44(11 "
                           "Suppl 3), S115–S123.",
    "Jodoin & Gierl (2001)": "Jodoin, M. G., & Gierl, M. J. (2001). Evaluating type I error and power rates using an "
                             "effect size measure with the logistic regression procedure for DIF detection. Applied "
                             "Measurement in Education, 14(4), 329–349.",
    "Maydeu-Olivares & Joe (2005)": "Maydeu-Olivares, A., & Joe, H. (2005). Limited- and full-information "
                                    "estimation and goodness-of-fit testing in 2^n contingency tables: A unified "
                                    "framework. Journal of the American Statistical Association, 100(471), 1009–1020.",
    "Maydeu-Olivares & Joe (2014)": "Maydeu-Olivares, A., & Joe, H. (2014). Assessing approximate fit in categorical "
                                    "data analysis. Multivariate Behavioral Research, 49(4), 305–328.",
    "Cai & Monroe (2014)": "Cai, L., & Monroe, S. (2014). A new statistic for evaluating item response theory models "
                           "for ordinal data (CRESST Report 839). University of California, Los Angeles.",
    "Chen & Thissen (1997)": "Chen, W.-H., & Thissen, D. (1997). Local dependence indexes for item pairs using item "
                             "response theory. Journal of Educational and Behavioral Statistics, 22(3), 265–289.",
    "Yen (1984)": "Yen, W. M. (1984). Effects of local item dependence on the fit and equating performance of the "
                  "three-parameter logistic model. Applied Psychological Measurement, 8(2), 125–145.",
    "Christensen et al. (2017)": "Christensen, K. B., Makransky, G., & Horton, M. (2017). Critical values for Yen's "
                                 "Q3: Identification of local dependence in the Rasch model using residual "
                                 "correlations. Applied Psychological Measurement, 41(3), 178–194.",
    "Levy (1967)": "Levy, P. (1967). The correction for spurious correlation in the evaluation of short-form tests. "
                   "Journal of Clinical Psychology, 23(1), 84–86.",
    "Thissen et al. (1988)": "Thissen, D., Steinberg, L., & Wainer, H. (1988). Use of item response theory in the "
                             "study of group differences in trace lines. In H. Wainer & H. I. Braun (Eds.), Test "
                             "validity (pp. 147–169). Lawrence Erlbaum.",
    "Woods (2009)": "Woods, C. M. (2009). Empirical selection of anchors for tests of differential item functioning. "
                    "Applied Psychological Measurement, 33(1), 42–57.",
    "Benjamini & Hochberg (1995)": "Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: A "
                                   "practical and powerful approach to multiple testing. Journal of the Royal "
                                   "Statistical Society: Series B, 57(1), 289–300.",
    "Chalmers et al. (2016)": "Chalmers, R. P., Counsell, A., & Flora, D. B. (2016). It might not make a big DIF: "
                              "Improved differential test functioning statistics that account for sampling "
                              "variability. Educational and Psychological Measurement, 76(1), 114–140.",
    "Gibbons & Hedeker (1992)": "Gibbons, R. D., & Hedeker, D. R. (1992). Full-information item bi-factor analysis. "
                                "Psychometrika, 57(3), 423–436.",
    "Louis (1982)": "Louis, T. A. (1982). Finding the observed information matrix when using the EM algorithm. "
                    "Journal of the Royal Statistical Society: Series B, 44(2), 226–233.",
    "Reise (2012)": "Reise, S. P. (2012). The rediscovery of bifactor measurement models. Multivariate Behavioral "
                    "Research, 47(5), 667–696.",
    "Rhemtulla et al. (2012)": "Rhemtulla, M., Brosseau-Liard, P. É., & Savalei, V. (2012). When can categorical "
                               "variables be treated as continuous? A comparison of robust continuous and categorical "
                               "SEM estimation methods under suboptimal conditions. Psychological Methods, 17(3), "
                               "354–373.",
    "Zumbo et al. (2007)": "Zumbo, B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of coefficients "
                           "alpha and theta for Likert rating scales. Journal of Modern Applied Statistical Methods, "
                           "6(1), 21–29.",
    "Green & Yang (2009)": "Green, S. B., & Yang, Y. (2009). Reliability of summed item scores using structural "
                           "equation modeling: An alternative to coefficient alpha. Psychometrika, 74(1), 155–167.",
    "Muthén et al. (1997)": "Muthén, B. O., du Toit, S. H. C., & Spisic, D. (1997). Robust inference using weighted "
                            "least squares and quadratic estimating equations in latent variable modeling with "
                            "categorical and continuous outcomes. Unpublished manuscript.",
    "Savalei (2021)": "Savalei, V. (2021). Improving fit indices in structural equation modeling with categorical "
                      "data. Multivariate Behavioral Research, 56(3), 390–407.",
    "Wu & Estabrook (2016)": "Wu, H., & Estabrook, R. (2016). Identification of confirmatory factor analysis models "
                             "of different levels of invariance for ordered categorical outcomes. Psychometrika, "
                             "81(4), 1014–1045.",
    "Nunnally (1978)": "Nunnally, J. C. (1978). Psychometric theory (2nd ed.). McGraw-Hill.",
    "Nunnally & Bernstein (1994)": "Nunnally, J. C., & Bernstein, I. H. (1994). Psychometric theory (3rd ed.). "
                                   "McGraw-Hill.",
    "Kaiser (1974)": "Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39(1), 31–36.",
    "Bartlett (1950)": "Bartlett, M. S. (1950). Tests of significance in factor analysis. British Journal of "
                       "Statistical Psychology, 3(2), 77–85.",
    "Horn (1965)": "Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis. "
                   "Psychometrika, 30(2), 179–185.",
    "Velicer (1976)": "Velicer, W. F. (1976). Determining the number of components from the matrix of partial "
                      "correlations. Psychometrika, 41(3), 321–327.",
    "Howard (2016)": "Howard, M. C. (2016). A review of exploratory factor analysis decisions and overview of "
                     "current practices: What we are doing and how can we improve? International Journal of "
                     "Human-Computer Interaction, 32(1), 51–62.",
    "Hu & Bentler (1999)": "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance "
                           "structure analysis: Conventional criteria versus new alternatives. Structural Equation "
                           "Modeling, 6(1), 1–55.",
    "Chen (2007)": "Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. "
                   "Structural Equation Modeling, 14(3), 464–504.",
    "Fornell & Larcker (1981)": "Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with "
                                "unobservable variables and measurement error. Journal of Marketing Research, 18(1), "
                                "39–50.",
    "Henseler et al. (2015)": "Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing "
                              "discriminant validity in variance-based structural equation modeling. Journal of the "
                              "Academy of Marketing Science, 43(1), 115–135.",
    "Cheung & Rensvold (2002)": "Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for "
                                "testing measurement invariance. Structural Equation Modeling, 9(2), 233–255.",
    "Rutkowski & Svetina (2014)": "Rutkowski, L., & Svetina, D. (2014). Assessing the hypothesis of measurement "
                                  "invariance in the context of large-scale international surveys. Educational and "
                                  "Psychological Measurement, 74(1), 31–57.",
    "Nye & Drasgow (2011)": "Nye, C. D., & Drasgow, F. (2011). Effect size indices for analyses of measurement "
                            "equivalence: Understanding the practical importance of differences between groups. "
                            "Journal of Applied Psychology, 96(5), 966–980.",
    "Sörbom (1989)": "Sörbom, D. (1989). Model modification. Psychometrika, 54(3), 371–384.",
    "Campbell & Fiske (1959)": "Campbell, D. T., & Fiske, D. W. (1959). Convergent and discriminant validation by "
                               "the multitrait-multimethod matrix. Psychological Bulletin, 56(2), 81–105.",
    "McDonald (1999)": "McDonald, R. P. (1999). Test theory: A unified treatment. Lawrence Erlbaum.",
    "Cronbach (1951)": "Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. "
                       "Psychometrika, 16(3), 297–334.",
    "Meade & Craig (2012)": "Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data. "
                            "Psychological Methods, 17(3), 437–455.",
    "Anderson & Gerbing (1988)": "Anderson, J. C., & Gerbing, D. W. (1988). Structural equation modeling in "
                                 "practice: A review and recommended two-step approach. Psychological Bulletin, "
                                 "103(3), 411–423.",
}

#: Cited by the report's fixed text whatever the run found.
ALWAYS_CITED = frozenset({"Cronbach (1951)", "McDonald (1999)", "Meade & Craig (2012)", "Anderson & Gerbing (1988)",
                          "Bartlett (1950)"})


def cited_in(references: Iterable[str]) -> set[str]:
    """The known short citations in ``references`` (each may list several, separated by ";")."""
    out = set()
    for reference in references:
        for part in str(reference).split(";"):
            if part.strip() in REFERENCES:
                out.add(part.strip())
    return out


def reference_list(cited: Iterable[str]) -> list[str]:
    """The APA references of the known short citations in ``cited``, sorted."""
    return sorted(REFERENCES[r] for r in set(cited) if r in REFERENCES)
