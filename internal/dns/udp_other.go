//go:build !linux

package dns

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
)

// udpBatch, where recvmmsg and sendmmsg are missing, moves one packet at a
// time behind the same methods as on Linux.
type udpBatch struct {
	conn   *net.UDPConn
	buf    []byte
	n      int
	trunc  bool
	from   netip.AddrPort
	out    []byte
	queued bool
}

func newUDPBatch(conn *net.UDPConn, _ int) (*udpBatch, error) {
	return &udpBatch{conn: conn, buf: make([]byte, 4096), out: make([]byte, 0, 4096)}, nil
}

func (b *udpBatch) read() (int, error) {
	n, _, flags, from, err := b.conn.ReadMsgUDPAddrPort(b.buf, nil)
	if err != nil {
		return 0, err
	}
	b.n, b.trunc, b.from = n, flags&syscall.MSG_TRUNC != 0, from
	return 1, nil
}

func (b *udpBatch) packet(int) ([]byte, netip.Addr, bool) {
	return b.buf[:b.n], b.from.Addr().Unmap(), !b.trunc
}

func (b *udpBatch) addrPort(int) netip.AddrPort { return b.from }

func (b *udpBatch) replyBuf(int) []byte { return b.out }

func (b *udpBatch) reply(_, _ int, resp []byte) { b.out, b.queued = resp, true }

func (b *udpBatch) write() error {
	if !b.queued {
		return nil
	}
	b.queued = false
	if _, err := b.conn.WriteToUDPAddrPort(b.out, b.from); errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil // a reply the kernel refuses is skipped
}
