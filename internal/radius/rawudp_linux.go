package radius

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawUDP reads and writes datagrams with raw system calls through
// syscall.RawConn: read waits in Go's poller until one comes, write sends
// one.
//
// Raw, not syscall.Syscall as net.UDPConn does: these calls never block
// (the socket is non-blocking), but a loopback send takes 6-8 µs and
// sometimes more than the 20 µs after which Go's monitor hands the
// goroutine's processor to another thread. On a daemon with one CPU the
// two threads then share it in kernel time slices, and requests waited
// 2-4 ms behind a send (seen in an execution trace): the p99.
// The callbacks are made once: a method value allocates.
type rawUDP struct {
	rc    syscall.RawConn
	buf   []byte
	n     int
	sa    [unix.SizeofSockaddrInet6]byte
	salen uint32
	ok    bool
	wait  bool // read: park on EAGAIN
	errno syscall.Errno
	fn    func(fd uintptr) bool
	// write
	out   []byte
	to    [unix.SizeofSockaddrInet6]byte
	tolen uint32
	wfn   func(fd uintptr) bool
	// lastErr is RawConn's own error (a closed socket, a deadline).
	lastErr error
}

func newRawUDP(c *net.UDPConn) *rawUDP {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawUDP{rc: rc}
	r.fn = r.recv
	r.wfn = r.send
	return r
}

func (r *rawUDP) recv(fd uintptr) bool {
	r.salen = uint32(len(r.sa))
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&r.sa[0])), uintptr(unsafe.Pointer(&r.salen)))
	for errno == unix.EINTR {
		n, _, errno = unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&r.sa[0])), uintptr(unsafe.Pointer(&r.salen)))
	}
	r.ok, r.n, r.errno = errno == 0, int(n), errno
	return !(r.wait && errno == unix.EAGAIN)
}

func (r *rawUDP) send(fd uintptr) bool {
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.out))), uintptr(len(r.out)),
		0, uintptr(unsafe.Pointer(&r.to[0])), uintptr(r.tolen))
	for errno == unix.EINTR {
		_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.out))), uintptr(len(r.out)),
			0, uintptr(unsafe.Pointer(&r.to[0])), uintptr(r.tolen))
	}
	r.errno = errno
	return errno != unix.EAGAIN // no room: wait in the poller
}

// read waits for a datagram; its errors are the system call's.
func (r *rawUDP) read(b []byte) (int, netip.AddrPort, error) {
	r.wait = true
	n, src, ok := r.try(b)
	r.wait = false
	if !ok {
		if r.lastErr != nil { // closed, or a deadline
			return 0, netip.AddrPort{}, r.lastErr
		}
		return 0, netip.AddrPort{}, r.errno
	}
	return n, src, nil
}

// write sends b to dst.
func (r *rawUDP) write(b []byte, dst netip.AddrPort) error {
	r.out = b
	a := dst.Addr()
	clear(r.to[:])
	switch {
	case a.Is4():
		binary.NativeEndian.PutUint16(r.to[:], unix.AF_INET)
		binary.BigEndian.PutUint16(r.to[2:], dst.Port())
		*(*[4]byte)(r.to[4:8]) = a.As4()
		r.tolen = unix.SizeofSockaddrInet4
	default:
		binary.NativeEndian.PutUint16(r.to[:], unix.AF_INET6)
		binary.BigEndian.PutUint16(r.to[2:], dst.Port())
		*(*[16]byte)(r.to[8:24]) = a.As16()
		if z := a.Zone(); z != "" {
			if idx, err := strconv.ParseUint(z, 10, 32); err == nil {
				binary.NativeEndian.PutUint32(r.to[24:], uint32(idx))
			} else if ifi, err := net.InterfaceByName(z); err == nil {
				binary.NativeEndian.PutUint32(r.to[24:], uint32(ifi.Index))
			}
		}
		r.tolen = unix.SizeofSockaddrInet6
	}
	err := r.rc.Write(r.wfn)
	r.out = nil
	if err != nil {
		return err
	}
	if r.errno != 0 {
		return r.errno
	}
	return nil
}

// try returns a waiting datagram and its sender, or ok=false; with r.wait
// set it waits for one. Senders are given as
// net.UDPConn.ReadFromUDPAddrPort gives them.
func (r *rawUDP) try(b []byte) (n int, src netip.AddrPort, ok bool) {
	r.buf = b
	r.ok, r.errno = false, 0 // stale state must not stand for this call's
	err := r.rc.Read(r.fn)
	r.buf = nil
	r.lastErr = err
	if err != nil || !r.ok {
		return 0, netip.AddrPort{}, false
	}
	sa := r.sa[:]
	switch binary.NativeEndian.Uint16(sa) {
	case unix.AF_INET:
		if r.salen < unix.SizeofSockaddrInet4 {
			return 0, netip.AddrPort{}, false
		}
		return r.n, netip.AddrPortFrom(netip.AddrFrom4([4]byte(sa[4:8])), binary.BigEndian.Uint16(sa[2:])), true
	case unix.AF_INET6:
		if r.salen < unix.SizeofSockaddrInet6 {
			return 0, netip.AddrPort{}, false
		}
		a := netip.AddrFrom16([16]byte(sa[8:24]))
		if scope := binary.NativeEndian.Uint32(sa[24:]); scope != 0 {
			// The interface's index, not its name as net gives it: a name
			// costs an interface lookup per packet. netip compares zones
			// as text, and the reply goes back to the index either way.
			a = a.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return r.n, netip.AddrPortFrom(a, binary.BigEndian.Uint16(sa[2:])), true
	}
	// Not an IP sender: consumed, reported as invalid (the caller ignores it).
	return r.n, netip.AddrPort{}, true
}
