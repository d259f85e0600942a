-- Coverage: per province and report year, the bodies with a canonical report ("found") against
-- the bodies expected to report ("expected": every body of that province in the `agencies`
-- table, i.e. the registry warehouse/agencies.yaml and every body any report was recognised as,
-- counted for every year for which the warehouse holds at least one canonical report).
-- Reports whose agency was not recognised (agency_id null) have no province and are not counted.
WITH years AS (SELECT DISTINCT year FROM reports WHERE canonical AND year IS NOT NULL),
expected AS (
    SELECT coalesce(a.province, '(no province)') AS province, y.year, count(*) AS expected
    FROM agencies a CROSS JOIN years y
    GROUP BY ALL),
found AS (
    SELECT coalesce(a.province, '(no province)') AS province, r.year,
           count(DISTINCT r.agency_id) AS found
    FROM reports r JOIN agencies a USING (agency_id)
    WHERE r.canonical
    GROUP BY ALL)
SELECT e.province, e.year, e.expected, coalesce(f.found, 0) AS found,
       round(100.0 * coalesce(f.found, 0) / e.expected, 1) AS coverage_pct
FROM expected e LEFT JOIN found f USING (province, year)
ORDER BY e.province, e.year;
