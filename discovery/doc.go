// Package discovery finds other ferry daemons on the local network and
// knows which of this machine's interfaces and addresses lead to them.
//
// # What it owns
//
// Announcing and browsing. Run announces this daemon with mDNS/DNS-SD
// (RFC 6762, RFC 6763) as a service of type ServiceType and browses for
// the others, on the interfaces Interfaces picks. The mDNS code itself is
// behind Backend; Zeroconf is the one on github.com/grandcat/zeroconf, and
// tests hand Run a fake. Each browse lasts Config.Cycle, then starts afresh
// so every daemon is asked again; a failing socket is retried with backoff,
// and a change of interfaces or addresses announces again.
//
// The record. A daemon's instance name is its device name with dots and
// control characters replaced, cut to fit a 63-byte DNS label together
// with the short device ID: "Ana's laptop [ABCD-EFGH]". Its SRV record
// names a host of its own, "ferry-" and the first eight characters of the
// device ID in lower case (ferry-abcdefgh.local.), never the OS host name:
// machines often share one, and resolvers that cache addresses by host
// name (avahi) then send every such daemon's peers to one address. The
// host's address records are the announcing interfaces' addresses a peer
// can dial: no loopback (unless the interface was named), no link-local
// IPv4 or IPv6, which clients would otherwise try first and which need a
// zone to mean anything. The instance name is only for humans and other
// mDNS tools; what counts is the TXT record, four key=value strings, each
// under the 255 bytes a TXT string holds (RFC 6763 section 6):
//
//	id=<device ID: 52 characters of A-Z and 2-7, base32 of 32 bytes>
//	v=1
//	port=<TCP port of the daemon's hub>
//	name=<device name, UTF-8, at most 200 bytes>
//
// Keys are case-insensitive and bare keys are ignored, as RFC 6763 says;
// unlike it, a key that appears twice makes the record invalid. ParseTXT
// refuses a record with a missing, repeated or malformed field, or another
// version, and says which; Run drops such answers, answers whose SRV port
// disagrees with port=, and link-local, unspecified or multicast addresses.
//
// The peer table. Table holds the daemons seen, keyed by device ID, and for
// each the hubs (address and port) it was announced or found at; its own
// device ID is ignored. Anyone can announce any ID, so a record never
// replaces a device's hubs: its addresses join them, and the hubs are
// tried in order of what they showed (Proven by the certificate, Answered
// when asked, Unchecked, Silent), then IPv4 first, then the longest known
// first. The daemon asks every new hub which device it is (ToCheck,
// Checked). A hub that answers as another device, or presents another
// certificate (Flag), is dropped for that ID, and records naming it are
// ignored for FlagFor; the ID and its other hubs are untouched, so a
// forged record cannot lock the real device out. A hub not announced
// again within the TTL is dropped, and so is a peer, unless it was added
// by address (AddManual). Every change is an Event. Find resolves what a
// user typed: a device name in any case, or a prefix of the device ID of
// at least 4 characters, dashes and case ignored.
//
// Which addresses lead to other devices. UsableInterface is the one rule
// for interface names: either exactly those the user listed, or anything
// but container bridges, VM networks and VPN tunnels. Interfaces applies it
// for mDNS, LANAddresses for the addresses a join link or the status page
// shows, and the daemon's WebRTC setup hands it to Pion's interface filter,
// so all three agree.
//
// # What it does not own
//
// Device IDs travel here as text; making them (the SHA-256 of the
// device's certificate) and proving them belong to the daemon's identity
// package, and discovery imports nothing from the daemon. An mDNS answer is
// a claim, not a proof: the daemon asks each hub who it is, checks the
// certificate when it connects, and tells the table (Checked, Proved,
// Flag). Connecting to peers, signaling, transfers and which devices are
// trusted belong to other packages.
package discovery
