-- The share of readable reports (every copy, in every format) whose own printed numbers break
-- the arithmetic the national format prescribes (a FAIL of R1 balance, R2 outcomes, R3
-- applicants or R4 appeals), by report year and by document format: `grouped_by` says which.
SELECT CASE WHEN grouping(r.format) = 1 THEN 'year' ELSE 'format' END AS grouped_by,
       r.year, r.format,
       count(*) AS reports,
       count(*) FILTER (WHERE f.report_id IS NOT NULL) AS failing,
       round(100.0 * count(*) FILTER (WHERE f.report_id IS NOT NULL) / count(*), 1) AS failing_pct
FROM reports r
LEFT JOIN (SELECT DISTINCT report_id FROM quality
           WHERE rule IN ('R1', 'R2', 'R3', 'R4') AND status = 'FAIL') f USING (report_id)
WHERE r.status IN ('ok', 'quality_failures')
GROUP BY GROUPING SETS ((r.year), (r.format))
ORDER BY grouped_by DESC, r.year, r.format;
