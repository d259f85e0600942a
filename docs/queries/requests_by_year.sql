-- Applications received, answered and carried forward, per report year (canonical reports only).
SELECT year,
       count(*)                        AS reports,
       sum(new__total)                 AS received,
       sum(total__total)               AS answered,
       sum(carried_forward__total)     AS carried_forward,
       round(100.0 * sum(granted__total + partial__total) / nullif(sum(total__total), 0), 1)
                                       AS granted_or_partly_pct
FROM requests_wide
GROUP BY year
ORDER BY year;
