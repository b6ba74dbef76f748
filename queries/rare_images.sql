-- Executables started only once or twice across the case: the long tail where intruders hide
SELECT lower(image) AS image, count(*) AS starts, group_concat(DISTINCT host_short) AS hosts,
       min(time_utc) AS first_utc
FROM process_creations
GROUP BY lower(image)
HAVING count(*) <= 2
ORDER BY starts, image;
