-- Administrative reconsideration and litigation over disclosure decisions, per report year and
-- outcome (canonical reports only): upheld (维持), corrected (纠正), other (其他结果) and
-- pending (尚未审结). Blank cells are null and add nothing.
SELECT c.year, c."row" AS appeal, c.col AS outcome, sum(c.value) AS cases
FROM cells c JOIN reports r USING (report_id)
WHERE r.canonical AND c."table" = 'appeals'
  AND c.col IN ('upheld', 'corrected', 'other', 'pending')
GROUP BY ALL
HAVING sum(c.value) IS NOT NULL
ORDER BY c.year, appeal, outcome;
