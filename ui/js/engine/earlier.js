// Which earlier transfer a new offer continues (docs/protocol.md,
// "Continuing an earlier transfer"). A sending page that was reloaded has
// lost the files it was sending and the transfer's ID with them; when its
// person picks the same files again for this page, the new offer comes from
// the same guest with the same DTLS certificate (the page keeps both), and
// its manifest equals, entry for entry, that of the transfer this page was
// receiving, which waits, interrupted, for a sender that will not come back
// under the old ID. Once accepted, the new offer takes over what the
// earlier one holds (Incoming.continueFrom) instead of receiving it again.

/** receiving holds this page's incoming transfers that have not ended. */
const receiving = new Set();

/** track notes an incoming transfer; untrack forgets one that ended. */
export function track(inc) {
  receiving.add(inc);
}

export function untrack(inc) {
  receiving.delete(inc);
}

/** earlierFor returns the transfer inc continues, or null. */
export function earlierFor(inc) {
  for (const old of receiving) if (continues(inc, old)) return old;
  return null;
}

/**
 * continues reports whether inc, a new offer, continues old: the same
 * sender (guest or device ID, and the certificate it offered with, so that
 * knowing a guest's ID is not enough), the same files, and old accepted,
 * interrupted, taking files on the data channel into the same store, with
 * no file being closed in the store right now.
 */
export function continues(inc, old) {
  return old !== inc && old.peer === inc.peer && !!inc.cert && old.cert === inc.cert &&
    old.state === 'active' && old.interrupted && !old.viaLinks && !old.storing && old.store === inc.store &&
    sameFiles(old.entries, inc.entries);
}

/**
 * sameFiles reports whether two manifests are equal entry for entry: the
 * same path, size, modification time and kind, every file with a
 * modification time (without one, two different files look the same).
 */
export function sameFiles(a, b) {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length || a.length === 0) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (x.path !== y.path || !!x.dir !== !!y.dir) return false;
    if (x.dir) return true;
    return (x.size || 0) === (y.size || 0) && typeof x.mtime === 'number' && x.mtime > 0 && x.mtime === y.mtime;
  });
}

/**
 * sdpFingerprint returns the SHA-256 certificate fingerprint DTLS is held
 * to in an SDP, as uppercase hex pairs with colons, or '' when there is
 * none or it is another hash. As docs/protocol.md says: the first
 * a=fingerprint at session level, else the bundled media section's, else
 * the first media section's.
 */
export function sdpFingerprint(sdp) {
  if (typeof sdp !== 'string' || sdp === '') return '';
  const [session, ...media] = sdp.split(/\r?\n(?=m=)/);
  let found = fingerprintIn(session);
  if (!found && media.length) {
    const bundle = /^a=group:BUNDLE[ \t]+(\S+)/m.exec(session)?.[1];
    const bundled = bundle && media.find((s) => /^a=mid:(\S+)/m.exec(s)?.[1] === bundle);
    found = (bundled && fingerprintIn(bundled)) || fingerprintIn(media[0]);
  }
  return found && found.hash === 'sha-256' && /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(found.value) ? found.value : '';
}

function fingerprintIn(section) {
  const m = /^a=fingerprint:(\S+)[ \t]+(\S+)[ \t]*\r?$/m.exec(section);
  return m ? { hash: m[1].toLowerCase(), value: m[2].toUpperCase() } : null;
}
