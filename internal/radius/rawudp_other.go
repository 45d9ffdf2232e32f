//go:build !linux

package radius

import (
	"errors"
	"net"
	"net/netip"
)

// rawUDP is Linux-only; elsewhere listeners use net.UDPConn's methods.
type rawUDP struct{}

func newRawUDP(*net.UDPConn) *rawUDP { return nil }

var errNoRawUDP = errors.New("raw UDP is Linux-only")

func (r *rawUDP) read([]byte) (int, netip.AddrPort, error) { return 0, netip.AddrPort{}, errNoRawUDP }
func (r *rawUDP) write([]byte, netip.AddrPort) error       { return errNoRawUDP }
