-- Network and RDP logons (types 3, 10) from another machine, grouped by source address
SELECT ip_address, host_short AS host, domain_name || '\' || user_name AS account, logon_type,
       count(*) AS logons, min(time_utc) AS first_utc, max(time_utc) AS last_utc
FROM logons
WHERE logon_type IN (3, 10) AND ip_address NOT IN ('-', '', '127.0.0.1', '::1')
GROUP BY ip_address, host_short, account, logon_type
ORDER BY logons DESC, ip_address;
