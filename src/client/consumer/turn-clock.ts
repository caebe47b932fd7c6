/**
 * Date.now(), read at most once per event-loop turn. The consumer notes when the application
 * starts holding a message, for maxPollIntervalMs; reading the clock for every message cost
 * about 8% of the async iterator's CPU (a clock read is a system call on some VMs), while the
 * interval is minutes. The start of the current turn is close enough: a turn that runs long
 * also holds back the heartbeat timer that checks the interval.
 */
let cached = 0;
let stale = true;
const expire = () => {
  stale = true;
};

export function turnClock(): number {
  if (stale) {
    cached = Date.now();
    stale = false;
    setImmediate(expire);
  }
  return cached;
}
