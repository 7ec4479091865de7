// Who the guest sees: the members of the nearby room or of the code room
// it is in, without itself, daemons first. Pure: no DOM.

/** visible returns the members a guest in room (or '' for nearby) sees. */
export function visible(members, self, room) {
  return members
    .filter((m) => m.id !== self && (!room || (m.rooms || []).includes(room)))
    .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'daemon' ? -1 : 1));
}

const ADJECTIVES = ['Amber', 'Blue', 'Brave', 'Calm', 'Clever', 'Coral', 'Cosy', 'Golden', 'Green', 'Happy', 'Jolly', 'Lucky', 'Mellow', 'Misty', 'Quick', 'Silver', 'Sunny', 'Swift', 'Teal', 'Witty'];
const ANIMALS = ['Badger', 'Dolphin', 'Falcon', 'Fox', 'Gecko', 'Heron', 'Koala', 'Lynx', 'Marmot', 'Otter', 'Owl', 'Panda', 'Puffin', 'Quokka', 'Raven', 'Seal', 'Tiger', 'Turtle', 'Walrus', 'Wolf'];

/** guestName makes a readable name from random bytes. */
export function guestName(bytes) {
  return `${ADJECTIVES[bytes[0] % ADJECTIVES.length]} ${ANIMALS[bytes[1] % ANIMALS.length]}`;
}

/** normalizeCode turns what a person typed into a room code, or '' if it is not one. */
export function normalizeCode(s) {
  const c = String(s).toUpperCase().replace(/[\s-]/g, '');
  return /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{8}$/.test(c) ? c : '';
}
