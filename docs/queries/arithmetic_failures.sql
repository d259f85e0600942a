-- Reports whose own printed numbers break the arithmetic the national format prescribes
-- (R1 balance, R2 outcomes, R3 applicants, R4 appeals), with what they print.
SELECT r.agency, r.year, q.rule, q.subject, q.expected, q.observed, r.format
FROM quality q JOIN reports r USING (report_id)
WHERE q.rule IN ('R1', 'R2', 'R3', 'R4') AND q.status = 'FAIL' AND r.canonical
ORDER BY r.agency, r.year, q.rule, q.subject;
