-- How applications were answered, per report year (canonical reports only): applications per
-- outcome group and its share of all answered. Groups of the national template: granted (予以公开),
-- partial (部分公开), denied by reason (不予公开: state secret, law, security, third party,
-- internal, process, case file, query), unable (无法提供), not processed (不予处理) and other
-- (其他处理). Blank cells are null and add nothing.
WITH answered AS (
    SELECT year, outcome, applications
    FROM requests_wide
    UNPIVOT INCLUDE NULLS (applications FOR outcome IN (
        granted__total, partial__total, denied_secret__total, denied_law__total,
        denied_security__total, denied_third_party__total, denied_internal__total,
        denied_process__total, denied_case_file__total, denied_query__total,
        unable_no_info__total, unable_need_create__total, unable_unclear__total,
        rejected_complaint__total, rejected_duplicate__total, rejected_publication__total,
        rejected_excessive__total, rejected_confirm__total, other__total))),
grouped AS (
    SELECT year,
           CASE WHEN outcome LIKE 'denied_%' THEN 'denied: ' || replace(replace(outcome,
                     'denied_', ''), '__total', '')
                WHEN outcome LIKE 'unable_%' THEN 'unable'
                WHEN outcome LIKE 'rejected_%' THEN 'not processed'
                ELSE replace(outcome, '__total', '') END AS outcome,
           sum(applications) AS applications
    FROM answered GROUP BY ALL)
SELECT year, outcome, applications,
       round(100.0 * applications / nullif(sum(applications) OVER (PARTITION BY year), 0), 1)
           AS share_pct
FROM grouped
WHERE applications IS NOT NULL
ORDER BY year, outcome;
