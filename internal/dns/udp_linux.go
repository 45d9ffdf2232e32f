package dns

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpBatch moves packets with recvmmsg and sendmmsg through buffers set up
// once per worker: the mmsghdrs, iovecs and socket addresses are reused, the
// sender's address is read from its raw sockaddr, and a reply goes back to
// the very sockaddr its query came from, so a served packet allocates
// nothing. (x/net's ReadBatch and WriteBatch allocate a *net.UDPAddr per
// received message and marshal a sockaddr per sent one.) The system calls go
// through syscall.RawConn, whose Read and Write park the goroutine in Go's
// poller when the socket has nothing to give or no room, and are raw
// (RawSyscall): on a non-blocking socket they never block, but a sendmmsg
// of 32 replies over loopback takes a few hundred microseconds, past the
// 20 µs after which Go's monitor may hand the worker's processor to
// another thread; under dnsperf that hand-off cost 15 % of the throughput.
type udpBatch struct {
	rc syscall.RawConn

	in     []unix.Mmsghdr
	inIov  []unix.Iovec
	inName []sockaddr
	inBuf  [][]byte
	got    int // messages the last read filled

	out     []unix.Mmsghdr
	outIov  []unix.Iovec
	outName []sockaddr
	outBuf  [][]byte
	queued  int // replies set since the last write
	sent    int
	lastErr error

	// The callbacks given to RawConn, made once: a method value allocates.
	readFn, writeFn func(fd uintptr) bool
}

// sockaddr has room for a sockaddr_in or a sockaddr_in6.
type sockaddr [unix.SizeofSockaddrInet6]byte

func newUDPBatch(conn *net.UDPConn, n int) (*udpBatch, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("dns: raw udp socket: %w", err)
	}
	b := &udpBatch{
		rc: rc,
		in: make([]unix.Mmsghdr, n), inIov: make([]unix.Iovec, n), inName: make([]sockaddr, n), inBuf: make([][]byte, n),
		out: make([]unix.Mmsghdr, n), outIov: make([]unix.Iovec, n), outName: make([]sockaddr, n), outBuf: make([][]byte, n),
	}
	for i := range n {
		b.inBuf[i] = make([]byte, 4096)
		b.inIov[i].Base = &b.inBuf[i][0]
		b.inIov[i].SetLen(len(b.inBuf[i]))
		h := &b.in[i].Hdr
		h.Iov = &b.inIov[i]
		h.SetIovlen(1)
		h.Name = &b.inName[i][0]
		b.outBuf[i] = make([]byte, 0, 4096)
		h = &b.out[i].Hdr
		h.Iov = &b.outIov[i]
		h.SetIovlen(1)
		h.Name = &b.outName[i][0]
	}
	b.readFn = b.recv
	b.writeFn = b.send
	return b, nil
}

// read waits for packets and returns how many it got.
func (b *udpBatch) read() (int, error) {
	for i := range b.in {
		// The kernel writes the sender's length and the flags back.
		b.in[i].Hdr.Namelen = uint32(len(b.inName[i]))
		b.in[i].Hdr.Flags = 0
	}
	b.got, b.lastErr = 0, nil
	if err := b.rc.Read(b.readFn); err != nil {
		return 0, err
	}
	return b.got, b.lastErr
}

func (b *udpBatch) recv(fd uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.in[0])), uintptr(len(b.in)), 0, 0, 0)
	for errno == unix.EINTR {
		n, _, errno = unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.in[0])), uintptr(len(b.in)), 0, 0, 0)
	}
	switch {
	case errno == unix.EAGAIN:
		return false // nothing yet: park in the poller
	case errno != 0:
		b.lastErr = fmt.Errorf("dns: recvmmsg: %w", errno)
	default:
		b.got = int(n)
	}
	return true
}

// packet returns the i-th packet read, the sender's address (IPv4-mapped
// addresses unmapped), and whether it is whole and from an IP sender.
func (b *udpBatch) packet(i int) ([]byte, netip.Addr, bool) {
	h := &b.in[i]
	p := b.inBuf[i][:h.Len]
	a, ok := b.inName[i].addr(h.Hdr.Namelen)
	return p, a.Unmap(), ok && h.Hdr.Flags&unix.MSG_TRUNC == 0
}

// addrPort is the i-th sender's address and port, for the full path, with
// its IPv6 zone: a link-local client is answered on its link.
func (b *udpBatch) addrPort(i int) netip.AddrPort {
	sa := &b.inName[i]
	a, _ := sa.addr(b.in[i].Hdr.Namelen)
	if a.Is6() {
		if scope := binary.NativeEndian.Uint32(sa[24:]); scope != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
	}
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(sa[2:]))
}

func (sa *sockaddr) addr(namelen uint32) (netip.Addr, bool) {
	switch binary.NativeEndian.Uint16(sa[:]) {
	case unix.AF_INET:
		if namelen >= unix.SizeofSockaddrInet4 {
			return netip.AddrFrom4([4]byte(sa[4:8])), true
		}
	case unix.AF_INET6:
		if namelen >= unix.SizeofSockaddrInet6 {
			return netip.AddrFrom16([16]byte(sa[8:24])), true
		}
	}
	return netip.Addr{}, false
}

// replyBuf is the buffer for the k-th reply of the batch.
func (b *udpBatch) replyBuf(k int) []byte { return b.outBuf[k] }

// reply queues resp, written in the k-th reply buffer, to the sender of the
// i-th packet read.
func (b *udpBatch) reply(k, i int, resp []byte) {
	b.outBuf[k] = resp
	b.outName[k] = b.inName[i]
	h := &b.out[k]
	h.Hdr.Namelen = b.in[i].Hdr.Namelen
	b.outIov[k].Base = unsafe.SliceData(resp)
	b.outIov[k].SetLen(len(resp))
	b.queued = k + 1
}

// write sends the queued replies. A reply the kernel refuses is skipped.
func (b *udpBatch) write() error {
	defer func() { b.queued = 0 }()
	for b.sent = 0; b.sent < b.queued; {
		b.lastErr = nil
		if err := b.rc.Write(b.writeFn); err != nil {
			return err
		}
		if b.lastErr != nil {
			b.sent++ // skip the message the kernel refused
		}
	}
	return nil
}

func (b *udpBatch) send(fd uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.sent])), uintptr(b.queued-b.sent), 0, 0, 0)
	for errno == unix.EINTR {
		n, _, errno = unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.sent])), uintptr(b.queued-b.sent), 0, 0, 0)
	}
	switch {
	case errno == unix.EAGAIN:
		return false // no room: park in the poller
	case errno != 0:
		b.lastErr = errno
	default:
		b.sent += int(n)
	}
	return true
}
