import { trafficCapStep, type TrafficCapConfig } from '../steps/traffic-cap.js';

/** SPEC §3 daily step 3. */
export const DAILY_TRAFFIC_CAP: TrafficCapConfig = {
  name: 'daily-traffic-cap',
  title: 'Daily traffic cap',
  period: 'daily',
  kind: 'traffic_lastday',
  windowSeconds: 86_400,
  ttlSeconds: 86_400,
  groups: (s) => s.dailyLimitGroups,
  capGiB: (s) => s.dailyTrafficLimitGb,
};

export const dailyTrafficCap = trafficCapStep(DAILY_TRAFFIC_CAP);
