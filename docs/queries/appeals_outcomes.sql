-- Administrative reconsideration and litigation over disclosure decisions, per report year and
-- outcome (canonical reports only): upheld (维持), corrected (纠正), other (其他结果) and
-- pending (尚未审结). Blank cells are null and add nothing.
SELECT year, appeal, outcome, sum(cases) AS cases
FROM (SELECT year, split_part(key, '__', 1) AS appeal, split_part(key, '__', 2) AS outcome, cases
      FROM appeals_wide
      UNPIVOT (cases FOR key IN (
          reconsideration__upheld, reconsideration__corrected, reconsideration__other,
          reconsideration__pending, litigation_direct__upheld, litigation_direct__corrected,
          litigation_direct__other, litigation_direct__pending,
          litigation_after_review__upheld, litigation_after_review__corrected,
          litigation_after_review__other, litigation_after_review__pending)))
GROUP BY ALL
ORDER BY year, appeal, outcome;
