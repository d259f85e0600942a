-- Agencies with the highest share of applications answered "不掌握相关政府信息" (no such
-- information held), where at least 20 applications were answered.
SELECT agency, year, total__total AS answered, unable_no_info__total AS not_held,
       round(100.0 * unable_no_info__total / total__total, 1) AS not_held_pct
FROM requests_wide
WHERE total__total >= 20
ORDER BY not_held_pct DESC, answered DESC
LIMIT 10;
