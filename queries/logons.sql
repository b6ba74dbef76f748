-- Logon sessions (Security 4624): who, how, and from where
SELECT time_utc, host_short AS host, logon_id_hex AS logon_id, logon_type, logon_type_name,
       domain_name || '\' || user_name AS account, ip_address, workstation_name,
       authentication_package_name AS auth_package, elevated_token
FROM logons
ORDER BY time_ft, host, logon_id;
