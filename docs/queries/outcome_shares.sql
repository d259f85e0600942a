-- How applications were answered, per report year (canonical reports only): applications per
-- outcome group and its share of all answered. Groups of the national template: granted (予以公开),
-- partial (部分公开), denied by reason (不予公开: state secret, law, security, third party,
-- internal, process, case file, query), unable (无法提供), not processed (不予处理) and other
-- (其他处理). Blank cells are null and add nothing.
WITH grouped AS (
    SELECT c.year,
           CASE WHEN c."row" LIKE 'denied\_%' ESCAPE '\' THEN 'denied: ' || substr(c."row", 8)
                WHEN c."row" LIKE 'unable\_%' ESCAPE '\' THEN 'unable'
                WHEN c."row" LIKE 'rejected\_%' ESCAPE '\' THEN 'not processed'
                ELSE c."row" END AS outcome,
           sum(c.value) AS applications
    FROM cells c JOIN reports r USING (report_id)
    WHERE r.canonical AND c."table" = 'requests' AND c.col = 'total'
      AND (c."row" IN ('granted', 'partial', 'other') OR c."row" LIKE 'denied\_%' ESCAPE '\'
           OR c."row" LIKE 'unable\_%' ESCAPE '\' OR c."row" LIKE 'rejected\_%' ESCAPE '\')
    GROUP BY ALL)
SELECT year, outcome, applications,
       round(100.0 * applications / nullif(sum(applications) OVER (PARTITION BY year), 0), 1)
           AS share_pct
FROM grouped
WHERE applications IS NOT NULL
ORDER BY year, outcome;
