// Package radius is maillon's RADIUS server: authentication (PAP, CHAP,
// MS-CHAP v1 and v2 with MPPE keys, switch MAC authentication, 802.1X with
// PEAP/MS-CHAPv2 and EAP-TLS (eap.go), device administration logins) and
// accounting.
//
// It answers from an immutable [Snapshot] that the application builds from
// the registry and swaps in with [Server.SetSnapshot] on every change, so an
// Access-Request costs map lookups and no database query. The package
// depends on nothing else in maillon: what it consumes is declared here
// ([SnapshotInput], [AccountingStore]).
//
// The wire codec is our own, not layeh.com/radius's Packet: parsing into
// offsets over the receive buffer keeps the hot path free of per-attribute
// allocations (see BenchmarkParse*), and layeh still serves the tests as an
// independent client implementation.
package radius
