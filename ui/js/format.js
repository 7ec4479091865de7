// Formatting for people: byte counts, speeds, durations and the words for
// a transfer's state. Pure functions, no DOM.

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** bytes formats a byte count in binary units, as the CLI does: "1.5 MiB". */
export function bytes(n) {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${UNITS[i]}`;
}

/** rate formats bytes per second in decimal megabytes, as the CLI does. */
export function rate(bytesPerSecond) {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '–';
  const mb = bytesPerSecond / 1e6;
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB/s`;
}

/**
 * quality is a word for how fast a link is going, from its speed over the
 * last seconds: fast (10 MB/s and more, a good Wi-Fi or a cable), medium
 * (1 MB/s and more), slow, or '' while nothing is known.
 */
export function quality(bytesPerSecond) {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  if (bytesPerSecond >= 10e6) return 'fast';
  return bytesPerSecond >= 1e6 ? 'medium' : 'slow';
}

/** speedWords is a speed with its word: "23 MB/s, fast link". */
export function speedWords(bytesPerSecond) {
  const q = quality(bytesPerSecond);
  return q ? `${rate(bytesPerSecond)}, ${q} link` : rate(bytesPerSecond);
}

/** duration formats seconds as "45 s", "3 min 05 s", "2 h 07 min". */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}

/** eta is the time left at the current speed, or '–' when unknown. */
export function eta(remaining, bytesPerSecond) {
  if (remaining <= 0) return duration(0);
  if (!(bytesPerSecond > 0)) return '–';
  return duration(remaining / bytesPerSecond);
}

/** percent is how much of total is done, 0 to 100, whole numbers. */
export function percent(done, total) {
  if (!(total > 0)) return 100;
  return Math.max(0, Math.min(100, Math.floor((done * 100) / total)));
}

/** ago says how long before now a time was: "just now", "5 min ago". */
export function ago(when, now = Date.now()) {
  const t = typeof when === 'string' ? Date.parse(when) : when;
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * stateWords says where a transfer stands, in words for its owner: t is a
 * transfer as the API sends it.
 */
export function stateWords(t) {
  const peer = t.peerName || t.addr || 'the other device';
  const out = t.direction === 'out';
  switch (t.state) {
    case 'connecting':
      return `Connecting to ${peer}`;
    case 'pending':
      return out ? `Waiting for ${peer} to accept` : `${peer} wants to send you this`;
    case 'active':
      return out ? `Sending to ${peer}` : `Receiving from ${peer}`;
    case 'interrupted':
      return out ? 'Connection lost; resuming' : `Paused: waiting for ${peer} to come back`;
    case 'done':
      return out ? `Sent to ${peer}, every file verified` : `Received from ${peer}, every file verified`;
    case 'declined':
      return t.error || `${peer} declined`;
    case 'expired':
      return t.error || 'Nobody answered in time';
    case 'cancelled':
      return t.error || 'Cancelled';
    case 'failed':
      return `Failed: ${t.error || 'unknown error'}`;
  }
  return t.state || 'Unknown';
}
