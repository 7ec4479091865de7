// Package daemon is ferry's composition root: New loads the identity and
// the data folder, binds the listener and builds the parts in order (nearby
// devices, the transfer manager, the mesh, the signaling hub, the web
// server), each taking what it needs at construction; Run runs them until
// its context ends and stops them in the reverse order. The adapters in
// owner.go give the web server the owner's view of transfers and rooms in
// the api package's types.
//
// It holds no logic of its own beyond that wiring: what each part does
// lives in that part's package.
package daemon
