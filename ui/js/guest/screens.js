// What the top of the guest page says, from the page's state: a browser
// that cannot do WebRTC, the first connection to the computer, a lost one,
// the welcome of a page with nobody else yet, or nothing when all is well.
// Pure: no DOM, so the words are tested in node.

/** Seconds without the hub after which a lost connection gets advice. */
export const LOST_ADVICE = 15;

/**
 * screenFor returns {kind, title, text} for the top of the page, or null.
 * s: {webrtc, daemon, everConnected, connected, downFor (seconds), others
 * (the people the page lists but its own computer), room, transfers}.
 */
export function screenFor(s) {
  if (!s.webrtc) {
    return {
      kind: 'error',
      title: 'This browser is too old for ferry',
      text: 'It cannot make direct connections (WebRTC), so it can neither send nor receive. Open this page in a current Firefox, Chrome, Edge or Safari.',
    };
  }
  if (!s.everConnected) {
    return s.downFor < LOST_ADVICE
      ? { kind: 'connecting', title: `Connecting to ${s.daemon}…`, text: 'One moment: this page is reaching the computer it came from.' }
      : {
          kind: 'error',
          title: `Cannot reach ${s.daemon}`,
          text: `Still trying. Check that this device is on the same Wi-Fi as ${s.daemon} and that ferry is running there. You can still pair with someone by code below.`,
        };
  }
  if (!s.connected) {
    return {
      kind: s.downFor < LOST_ADVICE ? 'connecting' : 'error',
      title: `Lost the connection to ${s.daemon}; reconnecting…`,
      text: s.downFor < LOST_ADVICE
        ? 'Transfers under way continue on their own connections.'
        : `Still trying. Is this device still on the Wi-Fi, and is ${s.daemon} awake? Transfers pause and continue where they were once it is back.`,
    };
  }
  if (s.others === 0 && !s.room && s.transfers === 0) {
    return {
      kind: 'landing',
      title: 'Send files to anyone nearby',
      text: 'Open this page on another phone or computer on this Wi-Fi (scan the QR code), and it appears here. Or make a room and share its code, or pair by code with someone this computer cannot see.',
    };
  }
  return null;
}

/** roomProblem says in words why a room could not be joined or made. */
export function roomProblem(code, room) {
  return {
    'no-room': `No room ${room || ''} here: the code may be mistyped, or the room has ended (a room ends ten minutes after its last member leaves, an hour if a computer's owner made it).`,
    'room-full': 'That room is full: 50 people are in it.',
    'too-many': 'Too many tries from this device: wait a minute, then try the code again.',
  }[code] || '';
}

/** peerLeft says that the other side of a transfer or a message is gone. */
export function peerLeft(name) {
  return `${name || 'That person'} has left: their page was closed or lost the network.`;
}
