-- Coverage: per province and report year, the bodies expected to report and how many of them
-- have a report ("found"). Expected are
--   * every body of the province in the `agencies` table (the registry warehouse/agencies.yaml
--     and every body a report was recognised as), in every year for which the warehouse holds
--     any canonical report; found when it has a canonical report for that year;
--   * every body a portal config lists under `agencies` (rule W3's current findings), in each
--     year that portal published reports for, in the province of that portal's reports; found
--     when W3 found its report.
-- A body both ways counts once. Reports whose agency was not recognised are not counted.
WITH years AS (SELECT DISTINCT year FROM reports WHERE canonical AND year IS NOT NULL),
reported AS (SELECT DISTINCT agency_id, year FROM reports WHERE canonical AND agency_id IS NOT NULL),
registry AS (
    SELECT a.agency_id AS body, a.province, y.year, rp.agency_id IS NOT NULL AS found
    FROM agencies a CROSS JOIN years y
    LEFT JOIN reported rp ON rp.agency_id = a.agency_id AND rp.year = y.year),
portal_province AS (
    SELECT r.portal_id, any_value(a.province) AS province
    FROM reports r JOIN agencies a ON a.agency_id = r.agency_id
    WHERE r.portal_id IS NOT NULL GROUP BY r.portal_id),
configured AS (
    SELECT coalesce(a.agency_id, q.subject) AS body,
           coalesce(a.province, pp.province) AS province,
           TRY_CAST(split_part(q.scope, '/', 2) AS INTEGER) AS year,
           q.status = 'PASS' AS found
    FROM quality q
    LEFT JOIN agencies a ON a.name = q.subject
    LEFT JOIN portal_province pp ON pp.portal_id = split_part(q.scope, '/', 1)
    WHERE q.rule = 'W3'),
expected AS (
    SELECT body, year, any_value(coalesce(province, '(no province)')) AS province,
           bool_or(found) AS found
    FROM (SELECT * FROM registry UNION ALL BY NAME SELECT * FROM configured)
    GROUP BY body, year)
SELECT province, year, count(*) AS expected, count(*) FILTER (WHERE found) AS found,
       round(100.0 * count(*) FILTER (WHERE found) / count(*), 1) AS coverage_pct
FROM expected
GROUP BY province, year
ORDER BY province, year;
