/** SPEC §3 dbclean: each log table and the Unix-second column its age is read from. */
export const LOG_TABLES: readonly { table: string; column: string }[] = [
  { table: 'ss_node_info', column: 'log_time' },
  { table: 'ss_node_online_log', column: 'log_time' },
  { table: 'user_traffic_log', column: 'log_time' },
  { table: 'detect_log', column: 'datetime' },
  { table: 'speedtest', column: 'datetime' },
  { table: 'email_verify', column: 'expire_in' },
];
