import { trafficCapStep, type TrafficCapConfig } from '../steps/traffic-cap.js';

/** SPEC §3 hourly step 1. */
export const HOURLY_TRAFFIC_CAP: TrafficCapConfig = {
  name: 'hourly-traffic-cap',
  title: 'Hourly traffic cap',
  period: 'hourly',
  kind: 'traffic_lasthour',
  windowSeconds: 3600,
  ttlSeconds: 4600,
  groups: (s) => s.hourlyLimitGroups,
  capGiB: (s) => s.hourlyTrafficLimitGb,
};

export const hourlyTrafficCap = trafficCapStep(HOURLY_TRAFFIC_CAP);
